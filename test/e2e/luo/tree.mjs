// The file tree the LUO test keeps alive across kexecs, as a pure function of the seed and
// the boot number: boot 1 writes the base tree (files of several sizes, nested directories,
// symlinks, hard links, modes and times); every later boot first verifies the state the
// previous boot left, then changes it (a new file, an append, a delete, a rename), so each
// kexec carries fresh changes. Runs in the guest against the pram mount with node:fs.
import * as fs from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';

/** Sizes around page and extent boundaries, plus a few MiB so the arena holds real data. */
export const SIZES = [0, 1, 100, 4095, 4096, 4097, 65543, 1048589, 3 * 1048576 + 5];
const FIXED_MTIME_S = 1_700_000_000;

/** Deterministic bytes for (seed, name): xorshift32 words, so every file differs. */
export function content(seed, name, size) {
  let x = (seed ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < name.length; i++) x = Math.imul(x ^ name.charCodeAt(i), 0x01000193) >>> 0;
  if (x === 0) x = 1;
  const buf = Buffer.alloc(size);
  let i = 0;
  for (; i + 4 <= size; i += 4) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    buf.writeUInt32LE(x, i);
  }
  for (; i < size; i++) buf[i] = (x >>> (8 * (i & 3))) & 0xff;
  return buf;
}

const sha = (b) => createHash('sha256').update(b).digest('hex');

/** What the tree must look like after boot `boot` made its changes. */
export function expected(seed, boot) {
  const files = new Map(); // path -> { data, mode?, mtimeS? }
  for (const size of SIZES) files.set(`sizes/f-${size}.bin`, { data: content(seed, `f-${size}`, size) });
  files.set('deep/a/b/c/d/leaf.txt', { data: Buffer.from('leaf of a deep tree\n') });
  files.set('modes/private.txt', { data: Buffer.from('mode 0600\n'), mode: 0o600, mtimeS: FIXED_MTIME_S });
  files.set('modes/shared.txt', { data: Buffer.from('mode 0644\n'), mode: 0o644, mtimeS: FIXED_MTIME_S + 1 });
  files.set('links/target.bin', { data: content(seed, 'target', 10_000) });
  if (boot < 2) files.set('delete-me.bin', { data: content(seed, 'delete-me', 5000) });
  let log = '';
  for (let b = 1; b <= boot; b++) log += `boot ${b}\n`;
  files.set('boots.log', { data: Buffer.from(log) });
  for (let b = 2; b <= boot; b++) files.set(`gen/boot-${b}.bin`, { data: content(seed, `boot-${b}`, 7777 * b) });
  // Renamed on every boot after the first: its name carries the boot that last moved it.
  files.set(`moving/name-${boot}.txt`, { data: Buffer.from('I move on every boot\n') });
  const hardlinks = [['links/target.bin', 'links/hard-1.bin'], ['links/target.bin', 'deep/a/hard-2.bin']];
  const symlinks = new Map([
    ['links/to-file', 'target.bin'],
    ['links/to-dir', '../deep/a/b'],
    ['links/dangling', 'does/not/exist'],
    ['links/absolute', '/pram/links/target.bin'],
  ]);
  return { files, hardlinks, symlinks };
}

/** Boot 1: writes the whole tree under root. */
export function writeBase(root, seed) {
  const want = expected(seed, 1);
  for (const [path, f] of want.files) {
    const full = join(root, path);
    fs.mkdirSync(join(full, '..'), { recursive: true });
    fs.writeFileSync(full, f.data);
    if (f.mode !== undefined) fs.chmodSync(full, f.mode);
    if (f.mtimeS !== undefined) fs.utimesSync(full, f.mtimeS, f.mtimeS);
  }
  for (const [from, to] of want.hardlinks) fs.linkSync(join(root, from), join(root, to));
  for (const [path, target] of want.symlinks) fs.symlinkSync(target, join(root, path));
}

/** Boot `boot` (>= 2), after verify(boot - 1): the changes that take the tree to expected(boot). */
export function change(root, seed, boot) {
  fs.appendFileSync(join(root, 'boots.log'), `boot ${boot}\n`);
  fs.mkdirSync(join(root, 'gen'), { recursive: true });
  fs.writeFileSync(join(root, `gen/boot-${boot}.bin`), content(seed, `boot-${boot}`, 7777 * boot));
  fs.rmSync(join(root, 'delete-me.bin'), { force: true });
  fs.renameSync(join(root, `moving/name-${boot - 1}.txt`), join(root, `moving/name-${boot}.txt`));
}

/** Compares the tree under root with expected(seed, boot); returns a list of differences (empty = all good). */
export function verify(root, seed, boot) {
  const want = expected(seed, boot);
  const bad = [];
  for (const [path, f] of want.files) {
    const full = join(root, path);
    let got;
    try { got = fs.readFileSync(full); } catch (e) { bad.push(`${path}: ${e.code ?? e.message}`); continue; }
    if (got.length !== f.data.length) bad.push(`${path}: size ${got.length}, expected ${f.data.length}`);
    else if (sha(got) !== sha(f.data)) bad.push(`${path}: content differs (sha256 ${sha(got).slice(0, 12)} vs ${sha(f.data).slice(0, 12)})`);
    const st = fs.lstatSync(full);
    if (f.mode !== undefined && (st.mode & 0o7777) !== f.mode) bad.push(`${path}: mode ${(st.mode & 0o7777).toString(8)}, expected ${f.mode.toString(8)}`);
    if (f.mtimeS !== undefined && Math.floor(st.mtimeMs / 1000) !== f.mtimeS) bad.push(`${path}: mtime ${st.mtimeMs / 1000}, expected ${f.mtimeS}`);
  }
  for (const [from, to] of want.hardlinks) {
    try {
      const a = fs.lstatSync(join(root, from));
      const b = fs.lstatSync(join(root, to));
      if (a.ino !== b.ino) bad.push(`${to}: inode ${b.ino}, expected the same as ${from} (${a.ino})`);
      if (a.nlink !== want.hardlinks.filter(([f]) => f === from).length + 1) bad.push(`${from}: nlink ${a.nlink}`);
    } catch (e) { bad.push(`${to}: ${e.code ?? e.message}`); }
  }
  for (const [path, target] of want.symlinks) {
    try {
      const got = fs.readlinkSync(join(root, path));
      if (got !== target) bad.push(`${path}: symlink to ${got}, expected ${target}`);
    } catch (e) { bad.push(`${path}: ${e.code ?? e.message}`); }
  }
  try {
    if (fs.readFileSync(join(root, 'links/to-file')).length !== 10_000) bad.push('links/to-file: does not resolve to target.bin');
    if (!fs.readdirSync(join(root, 'links/to-dir')).includes('c')) bad.push('links/to-dir: does not resolve to deep/a/b');
  } catch (e) { bad.push(`following symlinks: ${e.code ?? e.message}`); }
  if (boot >= 2 && fs.existsSync(join(root, 'delete-me.bin'))) bad.push('delete-me.bin: still exists after being deleted');
  if (boot >= 2 && fs.existsSync(join(root, `moving/name-${boot - 1}.txt`))) bad.push(`moving/name-${boot - 1}.txt: still exists after the rename`);
  // Nothing extra: the set of names matches exactly.
  const names = new Set([...want.files.keys(), ...want.hardlinks.map(([, to]) => to), ...want.symlinks.keys()]);
  const seen = [];
  const walk = (rel) => {
    for (const d of fs.readdirSync(join(root, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) walk(p); else seen.push(p);
    }
  };
  try { walk(''); } catch (e) { bad.push(`walking the tree: ${e.code ?? e.message}`); }
  for (const p of seen) if (!names.has(p)) bad.push(`${p}: unexpected entry`);
  for (const p of names) if (!seen.includes(p)) bad.push(`${p}: missing from its directory listing`);
  return bad;
}
