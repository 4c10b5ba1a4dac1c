/* The addon's parts: each source file adds its functions to the module's exports. */
#ifndef PRAM_NATIVE_H
#define PRAM_NATIVE_H
#include <node_api.h>

/* Shared mappings and huge-page tables (mapping.c): mmap, hugeTable, munmap, munmapLater, msync, madvise. */
void mapping_init(napi_env env, napi_value exports);

/* FUSE over io_uring (fuse_uring.c): adds uringOpen/uringRegister/uringCommit/uringStop. */
void fuse_uring_init(napi_env env, napi_value exports);

/* The /dev/fuse reader's uv_poll wake-up (fuse_poll.c): adds fusePollStart/fusePollStop/readOrErrno. */
void fuse_poll_init(napi_env env, napi_value exports);

/* crc32c over many buffers on several threads (crc32c.c): adds crc32cMany. */
void crc32c_init(napi_env env, napi_value exports);

#endif
