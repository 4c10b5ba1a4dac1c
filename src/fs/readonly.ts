// A volume mounted read-only (mount({ readOnly }), and the CLI's reading
// commands): every call that would change the tree answers EROFS, as a kernel
// mount with MS_RDONLY does, and nothing is ever written back. Without this a
// change would live in memory and vanish at unmount (which does not save), a
// silent loss. Access times still move in memory; like a `ro` mount's, they
// are never saved.
import { EROFS } from '../format/errno.js';
import { mountParts, type VolumeOptions } from './mount.js';
import { Volume, type Attr } from './volume.js';

export class ReadOnlyVolume extends Volume {
  static override mount(opts: VolumeOptions): ReadOnlyVolume {
    return new ReadOnlyVolume(mountParts({ ...opts, readOnly: true }));
  }

  override get readOnly(): boolean { return true; }

  override setattr(): Attr | number { return -EROFS; }
  override mknod(): Attr | number { return -EROFS; }
  override mkdir(): Attr | number { return -EROFS; }
  override symlink(): Attr | number { return -EROFS; }
  override link(): Attr | number { return -EROFS; }
  override unlink(): number { return -EROFS; }
  override rmdir(): number { return -EROFS; }
  override rename(): number { return -EROFS; }
  override write(): number { return -EROFS; }
  override fallocate(): number { return -EROFS; }
  override setxattr(): number { return -EROFS; }
  override removexattr(): number { return -EROFS; }
  override reserveWriteback(): number { return 0; }

  /** Nothing to write: the image in memory is the one loaded. */
  override sync(): number { return this.isMounted ? 0 : super.sync(); }
  override unsaved(): boolean { return false; }
  /** No settling, no compaction in slices: background work writes log pages into the arena. */
  override background(): boolean { return false; }
  override unmount(): number { return this.detach(); }
}
