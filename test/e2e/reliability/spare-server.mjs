// A `pram mount` server started ahead of time (child of fuse-sigkill.test.mjs):
// node and pram's modules load while the previous run is still going, and the
// first line on stdin starts the real CLI with the arguments given here — the
// same process `pram mount --foreground` is, without paying for its start
// after every kill (on a busy machine, node's start is most of a run).
await Promise.all([import('commander'), import('../../../dist/cli/commands/index.js'), import('../../../dist/fuse/server.js'), import('../../../dist/fuse/arena-volume.js')]);
process.stdin.once('data', () => {
  process.stdin.destroy();
  import('../../../dist/cli/main.js');
});
