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


/** Mode bits as octal text (set-id and sticky included). */
const modeOf = (p) => (fs.lstatSync(p).mode & 0o7777).toString(8);
const nlink = (p) => fs.lstatSync(p).nlink;
const sleepMs = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
/** Which of `paths`' mtime and ctime moved across fn (after a pause longer than any file system's time granule). */
function moved(paths, fn) {
  const times = () => paths.map((p) => { const st = fs.lstatSync(p, { bigint: true }); return [st.mtimeNs, st.ctimeNs]; });
  const before = times();
  sleepMs(15);
  fn();
  const after = times();
  return Object.fromEntries(paths.map((p, i) => [path.basename(p), `${after[i][0] > before[i][0] ? 'm' : '-'}${after[i][1] > before[i][1] ? 'c' : '-'}`]));
}
const OTHER = { uid: 1000, gid: 1000 };

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
  {
    name: 'permission checks: modes for owner, others and root; chmod, chown and utimes by whom',
    run(t) {
      fs.writeFileSync(t.p('root600'), 'secret'); fs.chmodSync(t.p('root600'), 0o600);
      fs.writeFileSync(t.p('root644'), 'public'); fs.chmodSync(t.p('root644'), 0o644);
      fs.writeFileSync(t.p('root666'), 'shared'); fs.chmodSync(t.p('root666'), 0o666);
      fs.mkdirSync(t.p('ro'), 0o555); fs.mkdirSync(t.p('noread'), 0o311); fs.writeFileSync(t.p('noread', 'known'), 'k');
      fs.mkdirSync(t.p('nosearch'), 0o644); fs.writeFileSync(t.p('nosearch', 'in'), 'i');
      fs.chownSync(t.p('root666'), OTHER.uid, OTHER.gid);
      return {
        read600: t.try(() => fs.readFileSync(t.p('root600'))),
        write644: t.try(() => fs.appendFileSync(t.p('root644'), 'x')),
        read644: t.try(() => fs.readFileSync(t.p('root644'))),
        write666: t.try(() => fs.appendFileSync(t.p('root666'), 'x')),
        createInRo: t.try(() => fs.writeFileSync(t.p('ro', 'new'), '')),
        mkdirInRo: t.try(() => fs.mkdirSync(t.p('ro', 'sub'))),
        listNoread: t.try(() => fs.readdirSync(t.p('noread'))),
        openKnownInNoread: t.try(() => fs.readFileSync(t.p('noread', 'known'))),
        statInNosearch: t.try(() => fs.statSync(t.p('nosearch', 'in'))),
        chmodOthers: t.try(() => fs.chmodSync(t.p('root644'), 0o600)),
        chownOthers: t.try(() => fs.chownSync(t.p('root666'), t.actor.uid, t.actor.gid)),
        utimesOthersExplicit: t.try(() => fs.utimesSync(t.p('root666'), 1000, 1000)),
        utimesOthersNowWritable: t.py('os.utime(sys.argv[1], None)', t.p('root666')),
        utimesOthersNowReadonly: t.py('os.utime(sys.argv[1], None)', t.p('root644')),
        accessW644: t.try(() => fs.accessSync(t.p('root644'), fs.constants.W_OK)),
        accessX644: t.try(() => fs.accessSync(t.p('root644'), fs.constants.X_OK)),
        chownOwnToOther: t.try(() => { fs.writeFileSync(t.p('mine'), ''); fs.chownSync(t.p('mine'), OTHER.uid, -1); }),
        modes: [modeOf(t.p('root600')), modeOf(t.p('root644'))],
      };
    },
  },
  {
    name: 'sticky directories: only the owner of the file, of the directory, or root removes or renames',
    run(t) {
      fs.mkdirSync(t.p('tmp'), 0o1777); fs.chmodSync(t.p('tmp'), 0o1777);
      for (const n of ['a', 'b', 'c']) { fs.writeFileSync(t.p('tmp', n), n); fs.chmodSync(t.p('tmp', n), 0o666); fs.chownSync(t.p('tmp', n), OTHER.uid, OTHER.gid); }
      const mine = t.try(() => fs.writeFileSync(t.p('tmp', 'mine'), 'm'));
      return {
        mode: modeOf(t.p('tmp')),
        mine,
        unlinkOthers: t.try(() => fs.unlinkSync(t.p('tmp', 'a'))),
        renameOthers: t.try(() => fs.renameSync(t.p('tmp', 'b'), t.p('tmp', 'b2'))),
        renameOverOthers: t.try(() => fs.renameSync(t.p('tmp', 'mine'), t.p('tmp', 'c'))),
        writeOthers: t.try(() => fs.appendFileSync(t.p('tmp', 'c'), 'x')),
        unlinkMine: t.try(() => fs.unlinkSync(t.p('tmp', fs.existsSync(t.p('tmp', 'mine')) ? 'mine' : 'c'))),
        left: fs.readdirSync(t.p('tmp')).sort(),
      };
    },
  },
  {
    name: 'set-id bits: cleared by a write without CAP_FSETID, by truncate, by chown; kept on directories and without group exec',
    run(t) {
      const mk = (n, mode) => { fs.writeFileSync(t.p(n), 'x'); fs.chownSync(t.p(n), t.actor.uid, t.actor.gid); fs.chmodSync(t.p(n), mode); };
      mk('w', 0o6755); mk('wnogx', 0o6744); mk('tr', 0o6755); mk('ch', 0o6755); mk('chnogx', 0o2745);
      fs.mkdirSync(t.p('d')); fs.chownSync(t.p('d'), t.actor.uid, t.actor.gid); fs.chmodSync(t.p('d'), 0o3775);
      const r = {
        write: t.try(() => fs.appendFileSync(t.p('w'), 'y')),
        writeNoGroupExec: t.try(() => fs.appendFileSync(t.p('wnogx'), 'y')),
        truncate: t.try(() => fs.truncateSync(t.p('tr'), 0)),
      };
      fs.chownSync(t.p('ch'), OTHER.uid, OTHER.gid);        // by root
      fs.chownSync(t.p('chnogx'), OTHER.uid, OTHER.gid);
      fs.chownSync(t.p('d'), OTHER.uid, OTHER.gid);
      r.chmodSgidNotInGroup = t.try(() => { fs.writeFileSync(t.p('g'), ''); fs.chmodSync(t.p('g'), 0o2755); });
      r.modes = Object.fromEntries(['w', 'wnogx', 'tr', 'ch', 'chnogx', 'd', 'g'].map((n) => [n, fs.existsSync(t.p(n)) ? modeOf(t.p(n)) : '-']));
      return r;
    },
  },
  {
    name: 'times: write moves mtime and ctime, chmod/chown/link/rename move ctime, a directory\'s entries move its mtime and ctime',
    run(t) {
      t.act(() => { fs.writeFileSync(t.p('f'), 'x'); fs.mkdirSync(t.p('d')); fs.mkdirSync(t.p('e')); });
      const m = (paths, fn) => t.act(() => moved(paths, fn));
      return {
        write: m([t.p('f'), t.dir], () => fs.appendFileSync(t.p('f'), 'y')),
        truncate: m([t.p('f')], () => fs.truncateSync(t.p('f'), 1)),
        chmod: m([t.p('f')], () => fs.chmodSync(t.p('f'), 0o640)),
        link: m([t.p('f'), t.p('d')], () => fs.linkSync(t.p('f'), t.p('d', 'f2'))),
        create: m([t.p('d')], () => { fs.writeFileSync(t.p('d', 'n'), ''); fs.linkSync(t.p('d', 'n'), t.p('n-too')); }),
        rename: m([t.p('d'), t.p('e'), t.p('n-too')], () => fs.renameSync(t.p('d', 'n'), t.p('e', 'n'))),
        unlink: m([t.p('d'), t.p('f')], () => fs.unlinkSync(t.p('d', 'f2'))),
        mkdir: m([t.p('e')], () => fs.mkdirSync(t.p('e', 'sub'))),
        setxattr: moved([t.p('f')], () => t.py('os.setxattr(sys.argv[1], "user.k", b"v")', t.p('f'))),
        utimesOfAChild: m([t.p('e')], () => fs.utimesSync(t.p('e', 'n'), 5, 5)),
        read: m([t.p('f')], () => fs.readFileSync(t.p('f'))),
      };
    },
  },
  {
    name: 'link counts: hard links, directories (2 + subdirectories), rmdir, moving a directory, an unlinked open file',
    run(t) {
      return t.act(() => {
        const r = {};
        fs.writeFileSync(t.p('f'), 'x');
        fs.linkSync(t.p('f'), t.p('g')); fs.linkSync(t.p('f'), t.p('h'));
        r.threeLinks = [nlink(t.p('f')), nlink(t.p('g'))];
        fs.mkdirSync(t.p('a')); fs.mkdirSync(t.p('a', 's1')); fs.mkdirSync(t.p('a', 's2')); fs.writeFileSync(t.p('a', 'file'), '');
        r.dir = nlink(t.p('a'));
        fs.mkdirSync(t.p('b'));
        fs.renameSync(t.p('a', 's1'), t.p('b', 's1'));
        r.afterMove = [nlink(t.p('a')), nlink(t.p('b'))];
        fs.rmdirSync(t.p('a', 's2'));
        r.afterRmdir = nlink(t.p('a'));
        const fd = fs.openSync(t.p('h'), 'r+');
        fs.unlinkSync(t.p('f')); fs.unlinkSync(t.p('g')); fs.unlinkSync(t.p('h'));
        r.openUnlinked = fs.fstatSync(fd).nlink;
        fs.writeSync(fd, 'still', 0);
        const back = Buffer.alloc(5);
        fs.readSync(fd, back, 0, 5, 0);
        r.readBack = back.toString();
        fs.closeSync(fd);
        r.linkDir = err(() => fs.linkSync(t.p('a'), t.p('a2')));
        r.rootNlinkAtLeast3 = nlink(t.dir) >= 3;
        return r;
      });
    },
  },
  {
    name: 'rename over every kind of target, RENAME_NOREPLACE and RENAME_EXCHANGE',
    run(t) {
      const r = t.act(() => {
        const w = (n, v = n) => fs.writeFileSync(t.p(n), v);
        const md = (...n) => fs.mkdirSync(t.p(...n), { recursive: true });
        w('f1'); w('f2'); md('d1'); md('d2'); md('full', 'x'); w('f3'); md('d3'); w('f4'); md('d4'); w('f5'); md('d5', 'in');
        return {
          fileOverFile: err(() => fs.renameSync(t.p('f1'), t.p('f2'))),
          dirOverEmptyDir: err(() => fs.renameSync(t.p('d1'), t.p('d2'))),
          dirOverNonEmpty: err(() => fs.renameSync(t.p('d2'), t.p('full'))),
          fileOverDir: err(() => fs.renameSync(t.p('f3'), t.p('d3'))),
          dirOverFile: err(() => fs.renameSync(t.p('d3'), t.p('f3'))),
          dirIntoItself: err(() => fs.renameSync(t.p('d5'), t.p('d5', 'in', 'deeper'))),
          ontoItself: err(() => fs.renameSync(t.p('f4'), t.p('f4'))),
          missing: err(() => fs.renameSync(t.p('nope'), t.p('f4'))),
        };
      });
      const r2 = (a, b, flags) => t.py(RENAMEAT2, t.p(a), t.p(b), String(flags));   // python sets the actor's ids itself
      Object.assign(r, {
        noreplaceExisting: r2('f4', 'f5', 1),
        noreplaceNew: r2('f4', 'f6', 1),
        exchangeFileDir: r2('f5', 'd4', 2),
        exchangeMissing: r2('f5', 'nothing', 2),
        bothFlags: r2('f5', 'd4', 3),
      });
      return t.act(() => {
        fs.writeFileSync(t.p('h1'), 'h'); fs.linkSync(t.p('h1'), t.p('h2'));
        r.hardLinksOfOne = err(() => fs.renameSync(t.p('h1'), t.p('h2')));
        r.hardLinksLeft = fs.readdirSync(t.dir).filter((n) => n.startsWith('h')).sort();
        r.after = fs.readdirSync(t.dir).sort().map((n) => `${n}:${fs.lstatSync(t.p(n)).isDirectory() ? 'd' : 'f'}`);
        r.f2 = fs.readFileSync(t.p('f2'), 'utf8');
        r.dirLinks = nlink(t.dir);
        return r;
      });
    },
  },
  {
    name: 'extended attributes and special files: names with "/", sizes, ERANGE, fifos, devices, O_TMPFILE',
    run(t) {
      t.act(() => fs.writeFileSync(t.p('f'), 'x'));
      const f = t.p('f');
      const py = (code) => t.py(code, f, t.dir);
      return {
        slashInName: py('os.setxattr(sys.argv[1], "user.a/b", b"v"); assert os.getxattr(sys.argv[1], "user.a/b") == b"v"'),
        emptyValue: py('os.setxattr(sys.argv[1], "user.e", b""); assert os.getxattr(sys.argv[1], "user.e") == b""'),
        bigValue: py('os.setxattr(sys.argv[1], "user.big", b"v" * 65536)'),
        tooBigValue: py('os.setxattr(sys.argv[1], "user.huge", b"v" * 65537)'),
        nameTooLong: py('os.setxattr(sys.argv[1], "user." + "n" * 251, b"v")'),
        missing: py('os.getxattr(sys.argv[1], "user.none")'),
        create: py('os.setxattr(sys.argv[1], "user.e", b"w", os.XATTR_CREATE)'),
        replaceMissing: py('os.setxattr(sys.argv[1], "user.none", b"w", os.XATTR_REPLACE)'),
        unknownNamespace: py('os.setxattr(sys.argv[1], "bogus.x", b"v")'),
        list: py('print(",".join(sorted(os.listxattr(sys.argv[1]))), end=" ")'),
        fifo: py('os.mkfifo(sys.argv[2] + "/fifo"); import stat; assert stat.S_ISFIFO(os.lstat(sys.argv[2] + "/fifo").st_mode)'),
        socketNode: py('import stat; os.mknod(sys.argv[2] + "/sock", 0o600 | stat.S_IFSOCK); assert stat.S_ISSOCK(os.lstat(sys.argv[2] + "/sock").st_mode)'),
        charDevice: py('import stat; os.mknod(sys.argv[2] + "/null", 0o666 | stat.S_IFCHR, os.makedev(1, 3)); assert os.lstat(sys.argv[2] + "/null").st_rdev == os.makedev(1, 3)'),
        tmpfile: py('os.close(os.open(sys.argv[2], os.O_TMPFILE | os.O_RDWR, 0o600))'),
      };
    },
    differs: {
      why: 'O_TMPFILE needs FUSE_TMPFILE, which pram does not serve (README, "Not supported"); the kernel answers EOPNOTSUPP',
      pram: (want) => ({ ...want, tmpfile: 'ENOTSUP' }),
    },
  },
];
