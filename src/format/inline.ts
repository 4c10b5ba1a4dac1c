// How many bytes of a file's content may be held inline, beside its inode,
// instead of in data pages: one home for fs/ (which keeps such files in the
// heap) and the engine (which writes them into a v1/v2 chain's data page, or
// into a v3 INODE record). 128 keeps a small file near 512 bytes of arena in a
// record log: an INODE record of ~100 bytes plus its data and a NAME record of
// ~40 bytes plus its name (100 bytes with a 255-byte name: about 500 bytes).
import { assert } from './assert.js';
import { PAGE_SIZE_MIN } from './v1.js';

export const INLINE_MAX = 128;

assert(INLINE_MAX < PAGE_SIZE_MIN, 'inline bytes fit one data page of the smallest page size');
