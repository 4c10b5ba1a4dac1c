// Request size limits shared by the session, its handlers and the read loop
// (a file of its own so that the handlers need not import the session).

/** Largest write the server accepts per request; the kernel sends at most this (max_pages = 256). */
export const WRITE_BYTES_MAX = 1 << 20;
/** A /dev/fuse read buffer must hold the largest write plus its headers. */
export const REQUEST_BYTES_MAX = WRITE_BYTES_MAX + 4096;
/**
 * READ replies from this size up are pinned views the transport may send from
 * a pool thread (the kernel's copy off the main thread); smaller ones are sent
 * at once, where a thread hop would cost more than the copy.
 */
export const HELD_REPLY_BYTES_MIN = 64 * 1024;
