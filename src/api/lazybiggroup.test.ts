// A group of more than 1 MiB on an arena file (pram/stream.ts reads it into
// fresh memory and moves its payloads together in place, its page headers and
// next pointers checked in one typed-array pass): a lazy mount lists and reads
// every file as written; a damaged header and a damaged next pointer in the
// middle of the group are one loss each, naming the page, and nothing else is
// lost (the records themselves check).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { mount } from './index.js';
import { logPayload } from '../format/v3.js';

const PS = 4096, MIB = 1 << 20, FILES = 9000;
const opts = { cmdline: '', checkpointIntervalMs: 0, systemd: false } as const;
const body = (i: number) => Buffer.from(`file ${i} `.repeat(1 + (i % 13)));

test('a root group of over 1 MiB: a lazy mount reads every file; a damaged header and next pointer in it are one loss each', async () => {
  const arena = `/dev/shm/lazybiggroup-test-${process.pid}.pram`;
  try {
    const w = await mount({ arena, create: { sizeBytes: 256 * MIB }, ...opts });
    for (let i = 0; i < FILES; i++) await w.writeFile(`/a-rather-long-file-name-to-fill-the-group-${i}`, body(i), { mode: 0o600 });
    await w.unmount();                                       // the first commit: a compaction, led by its index

    const look = await mount({ arena, verify: 'lazy', readOnly: true, ...opts });
    const lz = look.volume.pram!.lazyLog!;
    assert.ok(lz, 'booted lazily');
    const per = logPayload(PS), e = lz.index.dirs.get(1)!, pages = [...lz.cursor.pages];
    assert.ok(e.bytes >= MIB, `the root's group is ${e.bytes} bytes`);
    const first = Math.floor(e.pos / per), last = Math.floor((e.pos + e.bytes - 1) / per), s = (first + last) >> 1;
    await look.unmount({ save: false });

    const clean = await mount({ arena, verify: 'lazy', readOnly: true, ...opts });
    assert.equal((await clean.readdir('/')).length, FILES);
    assert.deepEqual(clean.volume.losses, []);
    await clean.unmount({ save: false });

    const fd = fs.openSync(arena, 'r+');
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, pages[s]! * PS + 17);              // a byte of the seq: the header's crc fails
    b[0]! ^= 0x02;
    fs.writeSync(fd, b, 0, 1, pages[s]! * PS + 17);
    fs.writeSync(fd, Buffer.alloc(8, 0x55), 0, 8, (pages[s + 3]! + 1) * PS - 8);   // the next pointer of a page further on
    fs.closeSync(fd);

    const pfs = await mount({ arena, verify: 'lazy', readOnly: true, ...opts });
    const names = await pfs.readdir('/');
    const losses = pfs.volume.losses.map((l) => l.what);
    const named = (seq: number, what: string) => losses.filter((l) => l.startsWith(`log page ${seq} pfn:${pages[seq]!.toString(16)} has ${what}`)).length;
    assert.equal(named(s, 'a damaged header'), 1, JSON.stringify(losses));
    assert.equal(named(s + 3, 'a damaged next pointer'), 1, JSON.stringify(losses));
    assert.equal(losses.length, 2, JSON.stringify(losses));
    assert.equal(names.length, FILES);
    for (let i = 0; i < FILES; i += 7) assert.ok((await pfs.readFile(`/a-rather-long-file-name-to-fill-the-group-${i}`)).equals(body(i)), `file ${i}`);
    await pfs.unmount({ save: false });
  } finally {
    fs.rmSync(arena, { force: true });
  }
});
