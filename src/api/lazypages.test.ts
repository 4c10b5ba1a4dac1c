// A lazy mount checks the headers and next pointers of a group's log pages when
// the group loads (pram/lazy.ts checkPages), reading consecutive pages in one
// pread on an arena file: a damaged header and a damaged next pointer in the
// middle of the root's group (a large file's SPAN crcs fill several pages) are
// each one loss naming its page, and every byte still reads as written (the
// records themselves check).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { mount } from './index.js';
import { Prng } from '../machine/prng.js';
import { randomBytes } from './testkit.js';
import { logPayload } from '../format/v3.js';

const PS = 4096, MIB = 1 << 20;
const opts = { cmdline: '', checkpointIntervalMs: 0, systemd: false } as const;

test('a damaged log page header and next pointer in a lazily loaded group: one loss each, naming the page; the data reads as written', async () => {
  const seed = Number(process.env['SEED'] ?? 0x1a2e);
  const arena = `/dev/shm/lazypages-test-${process.pid}.pram`;
  try {
    const big = randomBytes(48 * MIB, new Prng(seed));
    const w = await mount({ arena, create: { sizeBytes: 128 * MIB }, ...opts });
    await w.writeFile('/big', big);
    await w.unmount();                                       // the first commit: a compaction, led by its index

    // The root's group: its log pages (seq) before the index's page, which the lazy boot does not walk.
    const look = await mount({ arena, verify: 'lazy', readOnly: true, ...opts });
    const lz = look.volume.pram!.lazyLog!;
    assert.ok(lz, 'booted lazily');
    const per = logPayload(PS), e = lz.index.dirs.get(1)!, pages = lz.cursor.pages;
    const first = Math.floor(e.pos / per) + 1, last = Math.floor((e.pos + e.bytes - 1) / per);
    const indexSeq = Math.floor(lz.index.locate.indexPos / per);
    const s = first + 1;
    assert.ok(s + 2 <= last && s + 1 < indexSeq, `the group fills pages ${first - 1}..${last}, the index begins in ${indexSeq}`);
    assert.equal(pages[s + 1], pages[s]! + 1, 'consecutive pages: read in one call');
    await look.unmount({ save: false });

    const fd = fs.openSync(arena, 'r+');
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, pages[s]! * PS + 9);               // a byte of the log id: the header's crc fails
    b[0]! ^= 0x40;
    fs.writeSync(fd, b, 0, 1, pages[s]! * PS + 9);
    fs.writeSync(fd, Buffer.alloc(8, 0x77), 0, 8, (pages[s + 1]! + 1) * PS - 8);   // the next pointer of the page after it
    fs.closeSync(fd);

    const pfs = await mount({ arena, verify: 'lazy', readOnly: true, ...opts });
    await pfs.stat('/');          // the first request loads the root's group
    const losses = pfs.volume.losses.map((l) => l.what);
    const named = (seq: number, what: string) => losses.filter((l) => l.startsWith(`log page ${seq} pfn:${pages[seq]!.toString(16)} has ${what}`)).length;
    assert.equal(named(s, 'a damaged header'), 1, JSON.stringify(losses));
    assert.equal(named(s + 1, 'a damaged next pointer'), 1, JSON.stringify(losses));
    assert.equal(losses.length, 2, JSON.stringify(losses));
    assert.ok((await pfs.readFile('/big')).equals(big), 'every byte reads as written');
    await pfs.unmount({ save: false });
  } finally {
    fs.rmSync(arena, { force: true });
  }
});
