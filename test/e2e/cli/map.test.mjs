// pram map: the picture of an arena and of a simulated boot is a well-formed
// SVG (checked by python3's XML parser) whose cells account for every page
// exactly once, with data pages attributed to the right files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mount } from '../../../dist/api/index.js';
import { Machine } from '../../../dist/machine/machine.js';
import { mountOnMachine } from '../../../dist/cli/scenario.js';
import { bootMapInput } from '../../../dist/cli/map/source.js';
import { bootMapWriter } from '../../../dist/cli/map/boots.js';
import { drawMap, renderMap } from '../../../dist/cli/map/render.js';
import { SMALL_MACHINE, MiB } from '../sim/small.mjs';
import { readMap, accountedPages } from './svgcheck.mjs';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const PAGE = 4096;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pram-map-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

function pram(args, env = {}) {
  const r = spawnSync(process.execPath, [path.join(root, 'bin/pram.js'), ...args], {
    encoding: 'utf8', env: { ...process.env, PRAM_CMDLINE: '', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const FILES = { '/a.bin': 5 * PAGE + 1, '/dir/b.bin': 40 * PAGE, '/dir/sub/c.bin': 3 * PAGE, '/empty': 0 };

async function makeArena(name, sizeBytes, cmdline = '') {
  const arena = path.join(tmp, name);
  const pfs = await mount({ arena, create: { sizeBytes, overwrite: true }, cmdline, warn: () => {} });
  await pfs.mkdir('/dir/sub', { recursive: true });
  for (const [p, size] of Object.entries(FILES)) await pfs.writeFile(p, Buffer.alloc(size, 0x61));
  await pfs.symlink('/a.bin', '/link');
  await pfs.unmount();
  return arena;
}

const sha = (file) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

test('arena map: every page drawn exactly once, files attributed, banned region outlined, arena untouched', async () => {
  const arena = await makeArena('small.arena', 8 * MiB, 'pram_banned=1M-2M');
  const before = sha(arena);
  const out = path.join(tmp, 'small.svg');
  const r = pram(['map', '--arena', arena, '--out', out, '--json', '--cmdline', 'pram_banned=1M-2M']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '', 'nothing on stderr without a terminal');
  const json = JSON.parse(r.stdout);
  const map = readMap(fs.readFileSync(out, 'utf8'));
  assert.equal(map.summary.pageCount, 8 * MiB / PAGE);
  assert.deepEqual(accountedPages(map), { cellPages: 2048, classPages: 2048 });
  assert.deepEqual(json.classes, map.summary.classes, '--json says what the picture counts');
  assert.equal(map.titled, map.cells.length, 'every cell has hover text');
  const pages = Object.fromEntries(map.summary.classes.map((c) => [c.name, c.pages]));
  for (const [p, size] of Object.entries(FILES)) {
    if (size > 0) assert.equal(pages[p], Math.ceil(size / PAGE), `${p}: its data pages`);
    else assert.equal(pages[p], undefined, `${p} has no pages`);
  }
  assert.equal(pages['/link'], 1, 'a symlink target is a page too');
  assert.equal(pages['arena header'], 1);
  assert.ok(pages['link pages'] >= 1 && pages['meta pages'] >= 1, 'the saved chain is drawn');
  assert.ok(map.bannedRects >= 1 && map.summary.bannedPages >= 256, 'pram_banned=1M-2M outlined');
  assert.equal(sha(arena), before, 'drawing never writes the arena');
});

test('arena map as HTML: self-contained page, inline SVG with the same counts', async () => {
  const arena = await makeArena('html.arena', 4 * MiB);
  const out = path.join(tmp, 'map.html');
  const r = pram(['map', '--arena', arena, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /map\.html: 1024 pages \(4\.00 MiB\)/);
  const html = fs.readFileSync(out, 'utf8');
  assert.match(html, /^<!DOCTYPE html>/);
  assert.match(html, /<script>[\s\S]*mouseover[\s\S]*<\/script>/, 'hover details');
  assert.doesNotMatch(html, /(src|href)=["']?https?:/, 'no external resources');
  const map = readMap(html);
  assert.deepEqual(accountedPages(map), { cellPages: 1024, classPages: 1024 });
});

test('a 256 MiB arena is aggregated into cells of 16 pages that still account for every page', async () => {
  const arena = await makeArena('big.arena', 256 * MiB);
  const out = path.join(tmp, 'big.svg');
  const r = pram(['map', '--arena', arena, '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const map = readMap(fs.readFileSync(out, 'utf8'));
  assert.equal(map.summary.pageCount, 1 << 16);
  assert.equal(map.summary.pagesPerCell, 16);
  assert.equal(map.cells.length, 4096);
  assert.deepEqual(accountedPages(map), { cellPages: 1 << 16, classPages: 1 << 16 });
  fs.rmSync(arena);
});

test('4 GiB (1M pages, 300 files, mixed cells): at most 4096 cells, every page once, composition in the hover text', () => {
  const pageCount = 1 << 20;
  const owners = new Uint8Array(pageCount), fileOf = new Int32Array(pageCount).fill(-1);
  for (let pfn = 1000; pfn < 900_000; pfn += 1 + (pfn % 3)) { owners[pfn] = 6; fileOf[pfn] = (pfn >> 9) % 300; }
  owners[0] = 3;
  const paths = Array.from({ length: 300 }, (_, i) => `/f${i}`);
  const text = renderMap({ pageSize: PAGE, pageCount, owners, files: { paths, fileOf }, banned: [{ start: 5, end: 70_000 }] });
  const map = readMap(text);
  assert.equal(map.summary.pagesPerCell, 256);
  assert.equal(map.cells.length, 4096);
  assert.deepEqual(accountedPages(map), { cellPages: pageCount, classPages: pageCount });
  const classes = map.summary.classes;
  assert.ok(classes.some((c) => c.name === 'other files'), 'beyond 24 files, the rest share a colour');
  assert.ok(classes.filter((c) => c.kind === 'file').length <= 25);
  assert.match(text, /<title>pfn 0x400-0x4ff \(256 pages, 1\.00 MiB at 0x400000\)\n/, 'hover: pfn range');
  assert.match(text, /files: \/f\d+/, 'hover: file paths');
  assert.ok(text.length < 4 * MiB, 'the picture stays small');
});

test('simulated boots: one picture per boot accounts for every page, names the kernel, initrd and kexec range', () => {
  const m = new Machine({ ...SMALL_MACHINE, ramBytes: 64 * MiB, seed: 4242, cmdline: 'ro pram_banned=0-16M' });
  const kexecRange = { startBytes: 0, endBytes: 16 * MiB };
  for (let boot = 1; boot <= 2; boot++) {
    const vol = mountOnMachine(m);
    assert.equal(typeof vol, 'object', String(vol));
    if (boot === 1) {
      const attr = vol.mknod(1, 'pages.img', 0o100600, 0, 0, 0);
      assert.equal(vol.write(attr.ino, 0, Buffer.alloc(100 * PAGE, 1)), 100 * PAGE);
    }
    assert.equal(vol.unmount(), 0);
    const { text, summary } = drawMap(bootMapInput(m, vol, { kexecRange }));
    const map = readMap(text);
    assert.deepEqual(map.summary, JSON.parse(JSON.stringify(summary)));
    assert.deepEqual(accountedPages(map), { cellPages: 16384, classPages: 16384 }, `boot ${boot}`);
    const names = map.summary.classes.map((c) => c.name);
    for (const n of ['reserved: kernel image', 'reserved: initrd', 'reserved: low memory', 'hole (not RAM)', 'link pages', 'meta pages']) {
      assert.ok(names.includes(n), `boot ${boot}: ${n} drawn (have ${names.join(', ')})`);
    }
    assert.equal(map.summary.classes.find((c) => c.name === '/pages.img')?.pages, 100, `boot ${boot}: the file's pages`);
    assert.ok(map.marks.includes('kexec target range'));
    if (boot === 2) assert.ok(map.marks.includes('written by the last kexec'));
    if (boot === 1) assert.equal(m.kexecWithPram(0, 16 * MiB), 0);
  }
});

test('bootMapWriter (the hook behind pram sim --map DIR): one well-formed picture per boot', () => {
  const m = new Machine({ ...SMALL_MACHINE, ramBytes: 64 * MiB, seed: 99, cmdline: 'ro pram_banned=0-16M' });
  const dir = path.join(tmp, 'boots');
  const onUnmount = bootMapWriter({ dir, kexecRange: { startBytes: 0, endBytes: 16 * MiB } });
  for (let boot = 1; boot <= 3; boot++) {
    const vol = mountOnMachine(m);
    assert.equal(typeof vol, 'object', String(vol));
    const attr = vol.mknod(1, `dump-${boot}.img`, 0o100600, 0, 0, 0);
    assert.equal(vol.write(attr.ino, 0, Buffer.alloc(10 * PAGE, boot)), 10 * PAGE);
    assert.equal(vol.unmount(), 0);
    assert.equal(onUnmount(m, vol), path.join(dir, `boot-${boot}.svg`));
    if (boot < 3) assert.equal(m.kexecWithPram(0, 16 * MiB), 0);
  }
  assert.deepEqual(fs.readdirSync(dir).sort(), ['boot-1.svg', 'boot-2.svg', 'boot-3.svg']);
  for (const f of fs.readdirSync(dir)) {
    const map = readMap(fs.readFileSync(path.join(dir, f), 'utf8'));
    assert.deepEqual(accountedPages(map), { cellPages: 16384, classPages: 16384 }, f);
    assert.match(map.summary.classes.map((c) => c.name).join(','), /\/dump-\d\.img/, `${f}: the files of that boot`);
  }
});

test('renderMap draws a bare description (what pram sim --map passes) and escapes names', () => {
  const owners = new Uint8Array(10).fill(0);
  owners[3] = 6; owners[4] = 6;
  const fileOf = new Int32Array(10).fill(-1);
  fileOf[3] = 0; fileOf[4] = 0;
  const map = readMap(renderMap({ pageSize: 4096, pageCount: 10, owners, files: { paths: ['/a<&>"\'.txt'], fileOf } }));
  assert.deepEqual(accountedPages(map), { cellPages: 10, classPages: 10 });
  assert.deepEqual(map.summary.classes.map((c) => [c.name, c.pages]), [['free', 8], ['/a<&>"\'.txt', 2]]);
});

test('errors: a missing arena is one line naming it (exit 1); an unknown picture kind is a usage error (exit 2)', () => {
  const missing = path.join(tmp, 'nope.arena');
  const r = pram(['map', '--arena', missing, '--out', path.join(tmp, 'x.svg')]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.ok(r.stderr.includes(missing), r.stderr);
  const u = pram(['map', '--arena', missing, '--out', path.join(tmp, 'x.png')]);
  assert.equal(u.code, 2, u.stderr);
  assert.match(u.stderr, /x\.png/);
  assert.equal(pram(['map']).code, 2, '--out is required');
});
