// Zero-copy views of a file's bytes: Buffers over the arena's own pages, one
// per physically contiguous run. The engine pins the pages, so what a view
// shows never changes while it lives: a write to a viewed page goes to a copy,
// and a truncated or unlinked page is freed only at the last release.
import type { PageViews } from '../fs/volume.js';

/**
 * One piece of a view. Read-only by contract: the bytes are the arena's page
 * (Node cannot write-protect part of a mapping); writing through it would
 * change the file behind the engine's back and fail its checksum later.
 */
export type PageView = Readonly<Buffer>;

export interface ViewOptions { offset?: number; length?: number }

export class FileView implements Disposable {
  /** The bytes in file order; their lengths add up to `length`. */
  readonly buffers: readonly PageView[];
  /** Bytes shown: what was asked, clipped at the end of the file (a damaged page makes the view fail with EIO instead). */
  readonly length: number;
  private live = true;

  constructor(private readonly views: PageViews, readonly offset: number, private readonly onRelease?: (v: FileView) => void) {
    this.buffers = views.buffers;
    this.length = views.bytes;
  }

  get released(): boolean { return !this.live; }

  /** Unpins the pages (a page the file no longer uses goes back to the free pool). Idempotent. */
  release(): void {
    if (!this.live) return;
    this.live = false;
    this.views.release();
    this.onRelease?.(this);
  }

  [Symbol.dispose](): void { this.release(); }
}
