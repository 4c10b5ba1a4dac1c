// A mount in a fresh process brings on no full collection of V8's heap: the
// arena's first segment mapped (16 MiB, the header's) is taken off V8's
// external-memory count once its Buffer has counted it (native/mapping.c).
// Taken off before, the mapping's length came back as memory allocated since
// the last full collection, which V8 adds to the old generation's size against
// a limit that is small in a fresh process: a full collection followed within
// milliseconds (inside a 1 000 000-file lazy mount: 5-13 ms of its ~20).
// And a lazy mount maps no segment of its arena: the header, the log's head
// page, index and RUNS are read with pread (mem/physmem.ts readPage), or out of
// the one read-only mapping the addon reads the arena through (no Buffer), as the
// rest of what it reads is; young 16 MiB mappings with the page tables past 32 MB
// made V8 run a young collection at every typed array made.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mount } from './index.js';

const API_JS = fileURLToPath(new URL('./index.js', import.meta.url));

/** Full collections from the mount's start to 100 ms after it, in a fresh process (a lazy or a full mount of `arena`). */
function majorsAround(arena: string, verify: 'lazy' | 'full'): number {
  const code = `
    import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
    import { mount } from ${JSON.stringify(API_JS)};
    const majors = [];
    new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors.push(e.startTime); }).observe({ entryTypes: ['gc'] });
    const t0 = performance.now();
    const pfs = await mount({ arena: ${JSON.stringify(arena)}, verify: ${JSON.stringify(verify)}, cmdline: '', checkpointIntervalMs: 0, systemd: false });
    await new Promise((r) => setTimeout(r, 100));
    console.log(majors.filter((t) => t >= t0).length);
    await pfs.unmount({ save: false });`;
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' }).trim());
}

test('a mount in a fresh process runs no full collection of the heap, while it runs or in the 100 ms after (lazy and full)', async () => {
  const arena = `/dev/shm/mountgc-test-${process.pid}.pram`;
  try {
    const w = await mount({ arena, create: { sizeBytes: 64 << 20 }, cmdline: '', checkpointIntervalMs: 0, systemd: false });
    for (let i = 0; i < 100; i++) await w.writeFile(`/f${i}`, Buffer.alloc(100, i));
    await w.unmount();
    for (const verify of ['lazy', 'full'] as const) assert.equal(majorsAround(arena, verify), 0, `${verify}: full collections`);
  } finally {
    fs.rmSync(arena, { force: true });
  }
});

/**
 * Mappings of `path` in this process (/proc/self/maps): the arena's segments mapped (writable, Buffers V8
 * counts), or with `reads` the read-only one the addon reads through (native/mapread.c: no Buffer).
 */
function mappingsOf(path: string, reads = false): number {
  return fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.endsWith(` ${path}`) && l.split(' ')[1]!.startsWith(reads ? 'r--' : 'rw')).length;
}

test('a lazy mount maps no segment of its arena, the log\'s head far past the header (both read with pread)', async () => {
  const arena = `/dev/shm/mountgc-maps-${process.pid}.pram`;
  try {
    // Written by another process: this one's mappings of a mount it unmounted go only when V8 collects their Buffers.
    execFileSync(process.execPath, ['--input-type=module', '-e', `const { mount } = await import(${JSON.stringify(API_JS)});
      const w = await mount({ arena: ${JSON.stringify(arena)}, create: { sizeBytes: 96 << 20 }, cmdline: '', checkpointIntervalMs: 0, systemd: false });
      await w.writeFile('/big', Buffer.alloc(48 << 20, 7));     // the compaction's log lies past it: segment 3 on
      await w.unmount();`]);
    assert.equal(mappingsOf(arena), 0, 'no mapping before the mount');
    const pfs = await mount({ arena, verify: 'lazy', cmdline: '', checkpointIntervalMs: 0, systemd: false });
    try {
      const lz = pfs.volume.pram!.lazyLog!;
      assert.ok(lz, 'booted lazily');
      assert.ok(lz.cursor.pages[0]! * 4096 >= 32 << 20, `the log's head at pfn ${lz.cursor.pages[0]}, past the first two segments`);
      assert.equal(mappingsOf(arena), 0, 'no segment mapped');
      assert.equal(mappingsOf(arena, true), 1, 'the reads\' mapping, no Buffer of V8\'s');
      assert.equal((await pfs.readFile('/big')).length, 48 << 20);
    } finally {
      await pfs.unmount({ save: false });
    }
  } finally {
    fs.rmSync(arena, { force: true });
  }
});
