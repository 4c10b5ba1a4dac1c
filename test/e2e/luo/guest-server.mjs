// A pram FUSE server for the LUO test's "lib" mode: what `pram mount --arena memfd:NAME`
// and `--arena luo:NAME` do once the mount command calls src/cli/luo-kexec.ts, written
// here from the project's library pieces so the kexec path can be proven in the VM before
// (and independently of) the CLI wiring. Usage: node guest-server.mjs REPO DIR ARENA [SIZE]
// Prints "ready" (or "error: ...") on stdout, then serves until unmounted.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [repo, dir, arenaSpec, size] = process.argv.slice(2);
const dist = (p) => import(pathToFileURL(join(repo, 'dist', p)).href);
const log = (l) => process.stderr.write(`${l}\n`);
const clock = () => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;

try {
  const { Arena } = await dist('mem/arena.js');
  const { ArenaHeaderHandoff } = await dist('pram/handoff.js');
  const { Volume } = await dist('fs/volume.js');
  const { serve } = await dist('fuse/server.js');
  const { serveLuoControl, restoreLuoArena } = await dist('cli/luo-kexec.js');
  const [kind, name] = [arenaSpec.slice(0, arenaSpec.indexOf(':')), arenaSpec.slice(arenaSpec.indexOf(':') + 1)];
  let mem, handoff, restored = null;
  if (kind === 'memfd') {
    mem = Arena.memfd(name, Number(size), { pageSize: 4096 });
    handoff = ArenaHeaderHandoff.format(mem);
  } else if (kind === 'luo') {
    restored = restoreLuoArena(name);
    mem = restored.arena;
    handoff = ArenaHeaderHandoff.attach(mem);
    if (!(handoff instanceof ArenaHeaderHandoff)) throw new Error(`arena ${arenaSpec}: ${handoff.message}`);
  } else {
    throw new Error(`arena ${arenaSpec}: expected memfd:NAME or luo:NAME`);
  }
  const volume = Volume.mount({ mem, handoff, verify: 'full', clock, log, owner: { uid: 0, gid: 0 } });
  for (const loss of volume.losses) log(`lost: ${loss.path ?? '?'}: ${loss.what}`);
  if (volume.losses.length) throw new Error(`${volume.losses.length} losses while loading ${arenaSpec}`);
  // Everything is loaded (full verify): the kernel may let go of the preserved pages.
  restored?.finish();
  const server = await serve({ dir, volume, clock, log });
  const control = await serveLuoControl({ name, arena: mem, save: () => volume.sync(), log });
  process.stdout.write('ready\n');
  await server.ended;
  control.close();
  const r = volume.unmount();
  log(`unmounted, final save ${r}`);
  process.exit(r < 0 ? 1 : 0);
} catch (e) {
  process.stdout.write(`error: ${e.code ?? ''} ${String(e.stack ?? e).replace(/\n/g, ' | ')}\n`);
  process.exit(1);
}
