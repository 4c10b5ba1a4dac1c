// A separate process for the arena tests: each run mounts, acts, unmounts and
// prints one JSON line, so the tests compare what two processes saw.
//   node child.mjs write ARENA   build a tree of every file type and metadata field, print its dump
//   node child.mjs dump ARENA    mount and print the dump
//   node child.mjs hold ARENA    mount, print {"ready":true}, stay mounted until stdin closes
//   node child.mjs fill ARENA    write files until ENOSPC, print what was written before it
import { createHash } from 'node:crypto';
import { mount } from '../../../dist/api/index.js';

const [cmd, arena] = process.argv.slice(2);

export async function dump(pfs) {
  const out = {};
  const walk = async (dir) => {
    for (const name of (await pfs.readdir(dir)).sort()) {
      const p = dir === '/' ? `/${name}` : `${dir}/${name}`;
      const st = await pfs.lstat(p, { bigint: true });
      const rec = {};
      for (const k of ['ino', 'mode', 'nlink', 'uid', 'gid', 'rdev', 'size', 'blocks', 'atimeNs', 'mtimeNs', 'ctimeNs']) rec[k] = String(st[k]);
      rec.xattrs = {};
      if (!st.isSymbolicLink()) for (const x of (await pfs.listxattr(p)).sort()) rec.xattrs[x] = (await pfs.getxattr(p, x)).toString('hex');
      if (st.isFile()) rec.sha256 = createHash('sha256').update(await pfs.readFile(p)).digest('hex');
      if (st.isSymbolicLink()) rec.target = await pfs.readlink(p);
      out[p] = rec;
      if (st.isDirectory()) await walk(p);
    }
  };
  await walk('/');
  return out;
}

function seeded(n, seed) {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; b[i] = x & 0xff; }
  return b;
}

async function write(pfs) {
  await pfs.mkdir('/dir/sub/deeper', { recursive: true });
  await pfs.writeFile('/dir/sub/file.bin', seeded(3 * 4096 + 99, 1), { mode: 0o640 });
  await pfs.writeFile('/empty', '');
  await pfs.writeFile('/root-file', 'an RFC-style file in the root');
  const h = await pfs.open('/sparse', 'w');
  await h.write(Buffer.from('head'), 0, 4, 0);
  await h.write(Buffer.from('tail'), 0, 4, 64 << 20);
  await h.close();
  await pfs.link('/dir/sub/file.bin', '/hard');
  await pfs.symlink('dir/sub/file.bin', '/symlink');
  await pfs.symlink('/nowhere/dangling', '/dir/dangling');
  const v = pfs.volume;
  v.mknod(1, 'fifo', 0o010644, 0, 1, 2);
  v.mknod(1, 'chr', 0o020600, 0x0501, 3, 4);
  v.mknod(1, 'blk', 0o060660, 0x0803, 5, 6);
  v.mknod(1, 'sock', 0o140755, 0, 7, 8);
  await pfs.setxattr('/dir/sub/file.bin', 'user.mime', 'application/octet-stream');
  await pfs.setxattr('/dir', 'trusted.bin', Buffer.from([0, 1, 2, 255]));
  await pfs.chmod('/dir/sub', 0o2750);
  await pfs.chown('/dir/sub', 1234, 5678);
  await pfs.utimes('/root-file', new Date('2001-02-03T04:05:06.789Z'), 1234567890.123456);
  await dump(pfs); // settle atimes (relatime) so both processes see the same values
}

async function fill(pfs) {
  const written = {};
  const chunk = seeded(1 << 20, 9);
  for (let i = 0; ; i++) {
    const p = `/f${i}`;
    try {
      await pfs.writeFile(p, chunk);
      written[p] = createHash('sha256').update(chunk).digest('hex');
    } catch (e) {
      if (e.code !== 'ENOSPC') throw e;
      // The file that did not fit goes (its create may have fitted); the checkpoint's room was kept all along.
      await pfs.rm(p, { force: true });
      return { written, error: { code: e.code, errno: e.errno, syscall: e.syscall, path: e.path } };
    }
  }
}

const pfs = await mount({ arena, cmdline: '' });
let result;
if (cmd === 'write') { await write(pfs); result = await dump(pfs); }
else if (cmd === 'dump') result = await dump(pfs);
else if (cmd === 'fill') result = await fill(pfs);
else if (cmd === 'hold') {
  process.stdout.write(JSON.stringify({ ready: true }) + '\n');
  await new Promise((resolve) => { process.stdin.on('end', resolve); process.stdin.resume(); });
  result = { held: true };
}
await pfs.unmount();
process.stdout.write(JSON.stringify(result) + '\n');
