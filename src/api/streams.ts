// createReadStream / createWriteStream over a pram file, as node:fs streams:
// chunks of highWaterMark bytes, start/end (inclusive) like node's.
import { Readable, Writable } from 'node:stream';
import type { FileHandle } from './handle.js';

/** What the streams need of a file system: open (PramFs gives it; no import of pramfs.ts, which imports this file). */
export interface Opener { open(path: string, flags?: string, mode?: number): Promise<FileHandle> }

export interface ReadStreamOptions { start?: number; end?: number; highWaterMark?: number; encoding?: BufferEncoding }
export interface WriteStreamOptions { flags?: string; start?: number; mode?: number; highWaterMark?: number }

export function createReadStream(fs: Opener, path: string, opts: ReadStreamOptions = {}): Readable {
  const chunk = opts.highWaterMark ?? 64 * 1024;
  let pos = opts.start ?? 0;
  const end = opts.end ?? Infinity; // inclusive
  let h: FileHandle | null = null;
  return new Readable({
    highWaterMark: chunk,
    encoding: opts.encoding,
    construct(cb) { fs.open(path, 'r').then((fh) => { h = fh; cb(); }, cb); },
    read() {
      const want = Math.min(chunk, end - pos + 1);
      if (want <= 0) { this.push(null); return; }
      h!.read(Buffer.allocUnsafe(want), 0, want, pos).then(({ bytesRead, buffer }) => {
        pos += bytesRead;
        this.push(bytesRead > 0 ? buffer.subarray(0, bytesRead) : null);
      }, (e) => this.destroy(e));
    },
    destroy(err, cb) { (h ? h.close() : Promise.resolve()).then(() => cb(err), () => cb(err)); },
  });
}

export function createWriteStream(fs: Opener, path: string, opts: WriteStreamOptions = {}): Writable {
  let h: FileHandle | null = null;
  let pos = opts.start ?? null;
  return new Writable({
    highWaterMark: opts.highWaterMark,
    construct(cb) { fs.open(path, opts.flags ?? 'w', opts.mode).then((fh) => { h = fh; cb(); }, cb); },
    write(data: Buffer, _enc, cb) {
      h!.write(data, 0, data.length, pos).then(({ bytesWritten }) => { if (pos !== null) pos += bytesWritten; cb(); }, cb);
    },
    final(cb) { h!.close().then(() => { h = null; cb(); }, cb); },
    destroy(err, cb) { (h ? h.close() : Promise.resolve()).then(() => cb(err), () => cb(err)); },
  });
}
