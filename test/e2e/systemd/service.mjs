// The Node service of the systemd test (units/pramsd-{svc,volatile}.service): the library's
// mount({ arena: 'memfd:pramsd-NAME' }) under systemd — the arena comes from the FD store
// when systemd passes one back, else it is new and handed to the store. At start it checks
// every file of every generation it finds, byte for byte, and prints one line; then it
// takes commands on /run/pramsd/NAME.sock (one line each, one JSON answer):
//   state            what the start found: pid, from (store|new), gen, files, bad, notes
//   write G sync     write generation G (and /gen = G), then a checkpoint (pfs.sync())
//   write G nosync   the same without a checkpoint: only a SIGTERM's final one saves it
// SIGTERM is the library's: STOPPING=1, a final checkpoint, exit.
import * as fs from 'node:fs';
import * as net from 'node:net';
import { ARENA_BYTES, SIZES, content, fileOf } from './content.mjs';

const name = process.argv[2];
const app = '/run/pramsd/app';
const say = (s) => process.stdout.write(`PRAMSD svc=${name} ${s}\n`);
const { mount } = await import(`${app}/dist/api/index.js`);

const passed = process.env.LISTEN_FDNAMES ?? '';
const notes = [];
const t0 = performance.now();
const pfs = await mount({
  // Checkpoints only when asked (sync, SIGTERM's final one): the sigkill phase checks that exactly the
  // synced generation comes back, and an interval checkpoint (or an early one, past EARLY_CHANGES) could
  // save the unsynced one at any moment before the kill.
  arena: `memfd:pramsd-${name}`, create: { sizeBytes: ARENA_BYTES }, cmdline: '', checkpointIntervalMs: 0,
  warn: (l) => { notes.push(l); say(l); },
});
const mountMs = Math.round(performance.now() - t0);
const from = notes.some((n) => n.includes("passed back by systemd's FD store")) ? 'store' : 'new';

async function verify() {
  let gen = 0;
  try { gen = Number(await pfs.readFile('/gen', 'utf8')); } catch (e) { if (e.code !== 'ENOENT') throw e; }
  const bad = [];
  let files = 0;
  let bytes = 0;
  for (let g = 1; g <= gen; g++) {
    for (const size of SIZES) {
      let got;
      try { got = await pfs.readFile(fileOf(g, size)); } catch (e) { bad.push(`${fileOf(g, size)}: ${e.code}`); continue; }
      if (!got.equals(content(g, size))) bad.push(`${fileOf(g, size)}: ${got.length} bytes, content differs`);
      else { files++; bytes += size; }
    }
  }
  // Anything past the generation /gen names was never checkpointed with it.
  const later = (await pfs.readdir('/')).filter((d) => /^g\d+$/.test(d) && Number(d.slice(1)) > gen);
  return { gen, files, bytes, bad, later };
}

const t1 = performance.now();
const found = await verify();
const state = { pid: process.pid, from, passed, mountMs, verifyMs: Math.round(performance.now() - t1), ...found, notes };
say(`start pid=${process.pid} from=${from} gen=${found.gen} files=${found.files} bad=${found.bad.length} later=${found.later.join(',') || '-'} mount=${mountMs}ms`);

async function write(gen, sync) {
  await pfs.mkdir(`/g${gen}`, { recursive: true });
  for (const size of SIZES) await pfs.writeFile(fileOf(gen, size), content(gen, size));
  await pfs.writeFile('/gen', String(gen));
  if (sync) await pfs.sync();
  return { ok: true, gen, sync };
}

const sock = `/run/pramsd/${name}.sock`;
fs.rmSync(sock, { force: true });
net.createServer((c) => {
  let buf = '';
  c.on('data', async (d) => {
    buf += d;
    const i = buf.indexOf('\n');
    if (i < 0) return;
    const [cmd, g, mode] = buf.slice(0, i).split(' ');
    try {
      const answer = cmd === 'state' ? state : cmd === 'write' ? await write(Number(g), mode === 'sync') : { error: `unknown command ${cmd}` };
      c.end(JSON.stringify(answer) + '\n');
    } catch (e) { c.end(JSON.stringify({ error: `${e.code ?? ''} ${e.message}` }) + '\n'); }
  });
}).listen(sock);
