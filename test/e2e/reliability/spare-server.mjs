// A `pram mount` server started ahead of time (child of fuse-sigkill.test.mjs):
// node and the mount command's modules load while the previous run is still
// going, and the first line on stdin runs the real `pram mount` command (its
// own register() and action, the only command loaded) with the arguments given
// here. After every kill a new server must start; on a busy machine node's
// start is most of a run, and this takes it off the critical path.
// (node --test loads every file under test/: without arguments it does nothing.)
import { Command } from 'commander';
import { register } from '../../../dist/cli/commands/mount.js';

if (process.argv[2] === 'mount') {
  const program = new Command('pram').exitOverride();
  register(program);
  process.stdin.once('data', () => {
    process.stdin.destroy();
    program.parseAsync(['node', 'pram', ...process.argv.slice(2)]).catch((e) => { process.stderr.write(`${e.message}\n`); process.exit(1); });
  });
}
