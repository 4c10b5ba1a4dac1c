/* The addon's parts: each source file adds its functions to the module's exports. */
#ifndef PRAM_NATIVE_H
#define PRAM_NATIVE_H
#include <node_api.h>
#include <stdint.h>
#include <sys/types.h>

/* Shared mappings and huge-page tables (mapping.c): mmap, hugeTable, munmap, munmapLater, msync, madvise. */
void mapping_init(napi_env env, napi_value exports);

/* FUSE over io_uring (fuse_uring.c): adds uringOpen/uringRegister/uringCommit/uringStop. */
void fuse_uring_init(napi_env env, napi_value exports);

/* The /dev/fuse reader's uv_poll wake-up (fuse_poll.c): adds fusePollStart/fusePollStop/readOrErrno. */
void fuse_poll_init(napi_env env, napi_value exports);

/* crc32c over many buffers on several threads (crc32c.c): adds crc32cMany. */
void crc32c_init(napi_env env, napi_value exports);
/* pread of the whole range (EINTR retried); errno, EIO when the file ends first, or 0 (crc32c.c). */
int pram_read_all(int fd, uint8_t *buf, size_t len, off_t off);
/* v is a typed array of type want: its data and length (elements); 0 otherwise (crc32c.c). */
int pram_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len);
/* How many of the ranges b[o[i], + l[i]) (in order, none overlapping) match e[i] from the first; *bad = the
 * crc32c of the first that does not (crc32c.c). */
int32_t crc32c_check(const uint8_t *b, const uint32_t *o, const uint32_t *l, const uint32_t *e, int32_t n, uint32_t *bad);

/* Verification ahead of the readers after a lazy mount (ahead.c): adds aheadStart/aheadStop/aheadThreads. */
void ahead_init(napi_env env, napi_value exports);

#endif
