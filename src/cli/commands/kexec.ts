// pram kexec KERNEL — the RFC's step 3 for the operator: after `pram umount`
// has saved the arena, read where its chain starts (the arena header's current
// checkpoint), take this kernel's command line, drop any old pram=, append
// pram=<hex head pfn>, and load KERNEL with kexec-tools (`--exec` also jumps).
// Saving is umount's job and reserving the chain is the next boot's; this file
// only refuses when the arena is still mounted (its lock is held: nothing
// final is saved yet) and builds the kexec command. --luo hands over to
// src/open/luo-control.ts, where the mounted memfd arenas are preserved instead.
// --format v1 hands an RFC-style loader a chain it reads: a pure v1 chain of
// the saved image, written into free pages first (open/emit.ts); by default
// pram= names the arena's own checkpoint, which pram itself mounts.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { Option, type Command } from 'commander';
import { EXIT, fail, usageError } from '../util.js';
import { DEFAULT_ARENA, openArena } from '../../open/arena.js';
import type { ArenaHeaderHandoff } from '../../pram/handoff.js';
import { NO_KEXEC, findKexec, luoKexec } from '../../open/luo-control.js';
import { emitV1 } from '../../open/emit.js';

export { findKexec };

interface KexecOpts {
  initrd?: string; append?: string; memMin?: string; memMax?: string; arena: string;
  dryRun?: boolean; json?: boolean; exec?: boolean; luo?: boolean; format?: 'native' | 'v1';
}

/** What `pram kexec` will run, for --dry-run and for the real thing. */
export interface KexecPlan {
  arena: string;
  headPfn: number;
  generation: number;
  cmdline: string;
  /** What pram= names: the arena's own checkpoint, or a v1 chain written for an RFC-style loader. */
  format: 'native' | 'v1';
  kexec: string;
  load: string[];
  exec: boolean;
}

import { nextCmdline } from '../../boot/params.js';
export { cmdlineWords, nextCmdline } from '../../boot/params.js';

/** kexec-tools' arguments that load `kernel` with `cmdline` (mem-min/max need the kexec_load syscall: -c). */
export function kexecLoadArgs(kernel: string, cmdline: string, opts: { initrd?: string; memMin?: string; memMax?: string }): string[] {
  const args = ['-l', kernel];
  if (opts.initrd) args.push(`--initrd=${opts.initrd}`);
  args.push(`--append=${cmdline}`);
  if (opts.memMin !== undefined || opts.memMax !== undefined) args.unshift('-c');
  if (opts.memMin !== undefined) args.push(`--mem-min=${opts.memMin}`);
  if (opts.memMax !== undefined) args.push(`--mem-max=${opts.memMax}`);
  return args;
}

/**
 * The head pfn of the arena's last saved checkpoint. Opening the arena takes
 * its exclusive lock, so a mounted arena (whose server holds the lock) is
 * refused: its final checkpoint does not exist until `pram umount`. The arena
 * is synced once more on the way out: a block-device arena (/dev/pmem0) goes
 * through the page cache, which the next kernel does not inherit.
 */
export function savedHead(arena: string): { headPfn: number; generation: number } {
  let opened: { mem: { sync(): void; close(): void }; handoff: ArenaHeaderHandoff };
  try {
    opened = openArena(arena);
  } catch (e) {
    if ((e as { code?: string }).code === 'EBUSY') {
      throw Object.assign(new Error(`arena ${arena} is still mounted (its lock is held): run \`pram umount DIR\` first so its files are saved`), { code: 'EBUSY' });
    }
    throw e;
  }
  const { mem, handoff } = opened;
  try {
    const head = handoff.read();
    if (!head || head.headPfn === 0) {
      throw Object.assign(new Error(`arena ${arena} holds no saved checkpoint: mount it, write, and \`pram umount\` before kexec`), { code: 'ENODATA' });
    }
    mem.sync();
    return head;
  } finally {
    mem.close();
  }
}

/** The head of a v1 chain of the saved image, written now into free pages (refused as `pram save --format v1` refuses). */
export function v1Head(arena: string): { headPfn: number; generation: number } {
  savedHead(arena);   // mounted, or nothing saved: the same refusals as without --format
  const r = emitV1({ arena });
  if (r.headPfn === 0) throw Object.assign(new Error(`arena ${arena} holds no file: a v1 chain of nothing has no head to hand over`), { code: 'ENODATA' });
  return { headPfn: r.headPfn, generation: r.generation };
}

export function plan(kernel: string, opts: KexecOpts): KexecPlan {
  for (const [what, file] of [['kernel', kernel], ['initrd', opts.initrd]] as const) {
    // A missing file is an error of the system (exit 1, ENOENT), not of the command's usage.
    if (file && !fs.existsSync(file)) throw Object.assign(new Error(`${what} ${file} does not exist`), { code: 'ENOENT', path: file });
  }
  const kexec = findKexec();
  if (!kexec && !opts.dryRun) throw Object.assign(new Error(NO_KEXEC), { code: 'ENOENT' });
  const format = opts.format ?? 'native';
  const head = format === 'v1' ? v1Head(opts.arena) : savedHead(opts.arena);
  const cmdline = nextCmdline(fs.readFileSync('/proc/cmdline', 'utf8').trim(), head.headPfn, opts.append);
  return {
    arena: opts.arena, headPfn: head.headPfn, generation: head.generation, cmdline, format,
    kexec: kexec ?? 'kexec', load: kexecLoadArgs(kernel, cmdline, opts), exec: Boolean(opts.exec),
  };
}

const shellWord = (w: string) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);

function run(bin: string, args: string[]): void {
  const r = spawnSync(bin, args, { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
  if (r.status === 0) return;
  const why = (r.stderr || r.error?.message || `exit ${r.status ?? r.signal}`).trim().split('\n').pop();
  throw new Error(`${bin} ${args[0]} failed: ${why}`);
}

export function register(program: Command): void {
  program.command('kexec')
    .description("load KERNEL for kexec with pram=<head pfn> of the saved arena on its command line (the RFC's step 3)")
    .argument('<kernel>', 'kernel image to boot next, e.g. /boot/vmlinuz-$(uname -r)')
    .option('--initrd <file>', 'initial ramdisk for the next kernel')
    .option('--append <params>', "extra parameters for the next kernel; key=value replaces that key's current value")
    .option('--mem-min <addr>', 'lowest address kexec may load the kernel at (kexec-tools --mem-min)')
    .option('--mem-max <addr>', 'highest address kexec may load the kernel at (kexec-tools --mem-max)')
    .option('--arena <path>', 'the saved (unmounted) arena', DEFAULT_ARENA)
    .option('--dry-run', 'print the kexec command instead of running it')
    .option('--json', 'with --dry-run: print the plan as JSON')
    .option('--exec', 'after loading, jump into the new kernel (kexec -e)')
    .option('--luo', 'preserve the mounted memfd arenas with Live Update instead (kernels with /dev/liveupdate)')
    .addOption(new Option('--format <format>', "what pram= names: native (the arena's checkpoint) or v1 (a v1 chain written now, for an RFC-style loader)")
      .choices(['native', 'v1']).default('native'))
    .addHelpText('after', `
Examples:
  $ pram umount /mnt/pram && pram kexec /boot/vmlinuz-6.1.0-new --initrd /boot/initrd.img-6.1.0-new --arena /dev/pmem0 --exec
  $ pram kexec /boot/vmlinuz-$(uname -r) --arena /dev/pmem0 --mem-min 0x1000000 --mem-max 0x7fffffff --dry-run
  $ pram kexec --luo /boot/vmlinuz-7.2 --append "kho=on liveupdate=on" --exec   # memfd arenas of running mounts
  $ pram kexec /boot/vmlinuz-rfc --arena /dev/pmem0 --format v1 --dry-run   # pram= of a v1 chain (written even by --dry-run)
`)
    .action(async (kernel: string, opts: KexecOpts) => {
      try {
        if (opts.luo) {
          if (opts.dryRun) throw usageError('--luo preserves the mounted arenas; it has no --dry-run');
          if (opts.format === 'v1') throw usageError('--luo hands over the arenas themselves; --format v1 names a chain in one saved arena');
          const cmdline = nextCmdline(fs.readFileSync('/proc/cmdline', 'utf8').trim(), null, opts.append);
          await luoKexec({ kernel, initrd: opts.initrd, append: cmdline, loadOnly: !opts.exec });
          return;
        }
        const p = plan(kernel, opts);
        if (opts.dryRun) {
          const cmds = [[p.kexec, ...p.load], ...(p.exec ? [[p.kexec, '-e']] : [])];
          if (opts.json) process.stdout.write(JSON.stringify({ ...p, commands: cmds }) + '\n');
          else process.stdout.write(cmds.map((c) => c.map(shellWord).join(' ')).join('\n') + '\n');
          return;
        }
        process.stderr.write(`pram: ${[p.kexec, ...p.load].map(shellWord).join(' ')}\n`);
        run(p.kexec, p.load);
        process.stderr.write(`pram: loaded ${kernel} with pram=${p.headPfn.toString(16)} (${p.format === 'v1' ? 'a v1 chain of ' : ''}checkpoint ${p.generation} of ${p.arena})\n`);
        if (!p.exec) return;
        run(p.kexec, ['-e']);
        throw new Error('kexec -e returned without rebooting');
      } catch (e) {
        fail(e);
      }
    });
}
