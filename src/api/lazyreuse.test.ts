// A lazy mount reads each directory's group into one buffer it reuses from load to
// load (pram/lazy.ts LazyLog.spare); what a load hands fs/ points into it (a small
// file's inline bytes, a symlink's target) and is copied as each inode is made.
// Groups loaded one after another, a group with a large file's SPANs (which keeps
// its buffer) and one a later commit changed among them: every file and link reads
// as written, those of the first groups too after the later ones loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { mount } from './index.js';

const MIB = 1 << 20, DIRS = 6, FILES = 300;
const opts = { cmdline: '', checkpointIntervalMs: 0, systemd: false } as const;
const body = (d: number, i: number) => Buffer.from(`dir ${d} file ${i} `.repeat(1 + ((d * 7 + i) % 11)));
const big = Buffer.alloc(3 * MIB).fill(0x5a);

test('groups loaded one after another into one reused buffer: every small file and link of each reads as written', async () => {
  const arena = `/dev/shm/lazyreuse-test-${process.pid}.pram`;
  try {
    const w = await mount({ arena, create: { sizeBytes: 256 * MIB }, ...opts });
    for (let d = 0; d < DIRS; d++) {
      await w.mkdir(`/d${d}`);
      for (let i = 0; i < FILES; i++) await w.writeFile(`/d${d}/f${i}`, body(d, i));
      await w.symlink(`target of link in d${d}`, `/d${d}/link`);
    }
    await w.writeFile('/d2/big', big);                       // SPAN records: that group keeps its buffer
    await w.unmount();                                       // the first commit: a compaction, led by its index
    const later = await mount({ arena, ...opts });           // a later commit: records after the index (the tail)
    await later.writeFile('/d4/f0', body(4, 0));
    await later.writeFile('/d4/new', body(9, 9));
    await later.unmount();

    const pfs = await mount({ arena, verify: 'lazy', readOnly: true, ...opts });
    assert.ok(pfs.volume.pram!.lazyLog, 'booted lazily');
    const check = async (d: number) => {
      for (let i = 0; i < FILES; i++) assert.ok((await pfs.readFile(`/d${d}/f${i}`)).equals(body(d, i)), `/d${d}/f${i}`);
      assert.equal(await pfs.readlink(`/d${d}/link`), `target of link in d${d}`);
    };
    for (let d = 0; d < DIRS; d++) {
      assert.equal((await pfs.readdir(`/d${d}`)).length, FILES + 1 + (d === 2 || d === 4 ? 1 : 0), `/d${d} listed`);
      await check(d);
    }
    for (let d = 0; d < DIRS; d++) await check(d);          // read again once every group loaded after them
    assert.ok((await pfs.readFile('/d4/new')).equals(body(9, 9)));
    assert.ok((await pfs.readFile('/d2/big')).equals(big));
    assert.deepEqual(pfs.volume.losses, []);
    await pfs.unmount({ save: false });
  } finally {
    fs.rmSync(arena, { force: true });
  }
});
