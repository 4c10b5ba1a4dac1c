// The conformance suite's bodies: each case sets up what it needs as root,
// acts as the actor it is given (root or nobody), and returns a plain record
// of what it saw (errno codes, modes, link counts, whether a time moved) —
// never inode numbers or absolute times, so tmpfs's record and pram's can be
// compared whole. A case where pram must differ from tmpfs says why (`differs`).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { as } from './targets.mjs';

/** 'OK' or the error's code: what a case records for each call. */
export function err(fn) {
  try { fn(); return 'OK'; } catch (e) { if (!e.code) throw e; return e.code; }
}

/** A context for one case on one target as one actor. */
export function context(dir, actor) {
  return {
    dir, actor,
    p: (...names) => path.join(dir, ...names),
    act: (fn) => as(actor, fn),
    try: (fn) => as(actor, () => err(fn)),
    /** Python as the actor for what node:fs cannot say (mknod, renameat2); prints OK or an errno name. */
    py(code, ...args) {
      const r = spawnSync('python3', ['-c', `import os, sys, errno, ctypes\ntry:\n${code.replace(/^/gm, '  ')}\n  print('OK')\nexcept OSError as e:\n  print(errno.errorcode[e.errno])`, ...args],
        { encoding: 'utf8', timeout: 20_000, uid: actor.uid, gid: actor.gid });
      if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
      return r.stdout.trim();
    },
  };
}

const NAME_MAX = 255;
const long = 'n'.repeat(NAME_MAX + 1);
const longest = 'n'.repeat(NAME_MAX);
const RENAMEAT2 = 'libc = ctypes.CDLL(None, use_errno=True)\nif libc.renameat2(-100, sys.argv[1].encode(), -100, sys.argv[2].encode(), int(sys.argv[3])) != 0: raise OSError(ctypes.get_errno(), "renameat2")';

export const cases = [
  {
    name: 'long names: 256 bytes is ENAMETOOLONG for every call that takes a name, 255 bytes works',
    run(t) {
      t.act(() => { fs.writeFileSync(t.p('f'), 'x'); fs.mkdirSync(t.p('d')); });
      const L = t.p(long);
      return {
        mkdir: t.try(() => fs.mkdirSync(L)),
        create: t.try(() => fs.writeFileSync(L, '')),
        open: t.try(() => fs.openSync(L, 'r')),
        stat: t.try(() => fs.statSync(L)),
        mknod: t.py('os.mknod(sys.argv[1], 0o644)', L),
        mkfifo: t.py('os.mkfifo(sys.argv[1])', L),
        link: t.try(() => fs.linkSync(t.p('f'), L)),
        symlinkName: t.try(() => fs.symlinkSync('f', L)),
        symlinkTarget: t.try(() => fs.symlinkSync(long, t.p('s'))),
        renameFrom: t.try(() => fs.renameSync(L, t.p('g'))),
        renameTo: t.try(() => fs.renameSync(t.p('f'), L)),
        renameToDir: t.try(() => fs.renameSync(t.p('d'), L)),
        exchange: t.py(RENAMEAT2, t.p('f'), L, '2'),
        unlink: t.try(() => fs.unlinkSync(L)),
        rmdir: t.try(() => fs.rmdirSync(L)),
        truncate: t.try(() => fs.truncateSync(L, 0)),
        chmod: t.try(() => fs.chmodSync(L, 0o600)),
        inSubdir: t.try(() => fs.writeFileSync(t.p('d', long), '')),
        longest: t.try(() => { fs.writeFileSync(t.p(longest), 'y'); fs.renameSync(t.p(longest), t.p('d', longest)); fs.statSync(t.p('d', longest)); }),
        listed: t.act(() => fs.readdirSync(t.p('d'))).map((n) => n.length),
        followLong: t.try(() => fs.readFileSync(t.p('s'))),
      };
    },
  },
  {
    name: 'a 20 000-entry directory listed while entries are unlinked and made: none twice, none missed that lived throughout',
    actors: ['root'],   // the same for every actor, and 20 000 creates are the slow part
    run(t) {
      const r = spawnSync('python3', ['-c', `
import os, random, sys
d = sys.argv[1]; n = 20000; rng = random.Random(14)
for i in range(n): os.close(os.open(f'{d}/f{i}', os.O_CREAT | os.O_WRONLY, 0o644))
removed, seen, dups, after, made = set(), set(), 0, 0, 0
with os.scandir(d) as it:
  for k, e in enumerate(it):
    dups += e.name in seen; after += e.name in removed; seen.add(e.name)
    if k % 50 == 0:
      for j in rng.sample(range(n), 3):
        if f'f{j}' not in removed: os.unlink(f'{d}/f{j}'); removed.add(f'f{j}')
      if made < 200: os.close(os.open(f'{d}/new{made}', os.O_CREAT | os.O_WRONLY, 0o644)); made += 1
missed = sum(1 for i in range(n) if f'f{i}' not in removed and f'f{i}' not in seen)
print(dups, after, missed, len(os.listdir(d)) == n - len(removed) + made)
`, t.p()], { encoding: 'utf8', timeout: 300_000 });
      if (r.status !== 0) throw new Error(`python3: ${r.stderr}`);
      // Not compared: names listed after their unlink (libc reads entries ahead into its buffer; POSIX leaves it open).
      const [dups, , missed, countRight] = r.stdout.trim().split(' ');
      return { dups, missed, countRight };
    },
  },
];
