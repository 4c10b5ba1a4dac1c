import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHelperArgs, parseUmountHelperArgs } from './mount-helper.js';

test('mount(8)\'s helper call becomes pram mount arguments: pram options, kernel flags, userspace options dropped', () => {
  const c = parseHelperArgs(['/dev/shm/a.pram', '/mnt/p', '-o', 'rw,size=1G,allow_other,nosuid,noauto,nofail,x-systemd.requires=x,verify=lazy,_netdev', '-t', 'fuse.pram']);
  assert.deepEqual(c.args, ['/mnt/p', '--arena', '/dev/shm/a.pram', '--size', '1G', '--allow-other', '--verify', 'lazy', '--mount-options', 'rw,nosuid']);
  assert.equal(c.fake, false);
  assert.deepEqual(parseHelperArgs(['memfd:x', '/m', '-fv', '-osize=8M']), { args: ['/m', '--arena', 'memfd:x', '--size', '8M'], fake: true, verbose: true });
});

test('mount helper: an unknown option is refused by name unless -s (sloppy), as mount(8) asks', () => {
  assert.throws(() => parseHelperArgs(['a', '/m', '-o', 'size=1G,bogus']), /unknown option 'bogus'/);
  assert.throws(() => parseHelperArgs(['a', '/m', '-o', 'fd=3']), /unknown option 'fd=3'/, 'no way to reach the kernel\'s own fuse options');
  assert.deepEqual(parseHelperArgs(['a', '/m', '-s', '-o', 'bogus']).args, ['/m', '--arena', 'a']);
  assert.throws(() => parseHelperArgs(['a']), /usage/);
  assert.throws(() => parseHelperArgs(['a', '/m', '-o']), /-o needs a value/);
  assert.throws(() => parseHelperArgs(['a', '/m', '-x']), /unknown flag -x/);
  assert.throws(() => parseHelperArgs(['a', '/m', '-o', 'size=']), /unknown option 'size='/);
});

test('umount(8)\'s helper call becomes pram umount arguments; -l is --lazy', () => {
  assert.deepEqual(parseUmountHelperArgs(['/mnt/p', '-n', '-t', 'fuse.pram']), ['/mnt/p']);
  assert.deepEqual(parseUmountHelperArgs(['/mnt/p', '-l']), ['/mnt/p', '--lazy']);
  assert.throws(() => parseUmountHelperArgs([]), /usage/);
  assert.throws(() => parseUmountHelperArgs(['/m', '-Z']), /unknown flag/);
});
