// How many bytes of a file's content may be held inline, beside its inode,
// instead of in data pages: one home for fs/ (which keeps such files in the
// heap) and the engine (which writes them into a v1/v2 chain's data page, or
// into a v3 INODE record). 128 keeps an INODE record of a few dozen bytes plus
// a name of up to 255 bytes plus the data under 512 bytes of arena.
import { assert } from './assert.js';
import { PAGE_SIZE_MIN } from './v1.js';

export const INLINE_MAX = 128;

assert(INLINE_MAX < PAGE_SIZE_MIN, 'inline bytes fit one data page of the smallest page size');
