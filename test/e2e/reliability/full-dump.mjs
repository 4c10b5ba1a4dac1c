// Dump a tree in full-model.mjs's form, in a process of its own:
//   full-dump.mjs lib ARENA ROOT   (mounts the arena through the library)
//   full-dump.mjs mount DIR        (reads a mount; every top-level directory)
import * as fsp from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { mount } from '../../../dist/api/index.js';
import { dumpTree } from './full-model.mjs';

const [mode, where, root] = process.argv.slice(2);
let out = {};
if (mode === 'lib') {
  const pfs = await mount({ arena: where, cmdline: '' });
  out = await dumpTree(pfs, '', root, async (p) => Promise.all((await pfs.listxattr(p)).map(async (k) => [k, await pfs.getxattr(p, k)])));
  await pfs.unmount({ save: false });
} else {
  // All xattrs in one getfattr run (node has no getxattr).
  const xs = {};
  let file = null;
  const dump = execFileSync('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', where], { encoding: 'utf8', maxBuffer: 1 << 28 });
  for (const line of dump.split('\n')) {
    if (line.startsWith('# file: ')) { file = line.slice(8); xs[file] = []; continue; }
    const eq = line.indexOf('=0x');
    if (file && eq > 0) xs[file].push([line.slice(0, eq), line.slice(eq + 3)]);
  }
  for (const top of (await fsp.readdir(where)).sort()) {
    Object.assign(out, await dumpTree(fsp, where, `/${top}`, async (p) => (xs[p] ?? []).map(([k, v]) => [k, Buffer.from(v, 'hex')])));
  }
}
process.stdout.write(JSON.stringify(out) + '\n');
