/* The addon's parts: each source file adds its functions to the module's exports. */
#ifndef PRAM_NATIVE_H
#define PRAM_NATIVE_H
#include <node_api.h>
#include <stdint.h>
#include <sys/types.h>
#include <stdatomic.h>

/* Shared mappings and huge-page tables (mapping.c): mmap, hugeTable, munmap, munmapLater, msync, madvise. */
void mapping_init(napi_env env, napi_value exports);

/* FUSE over io_uring (fuse_uring.c): adds uringOpen/uringRegister/uringCommit/uringStop. */
void fuse_uring_init(napi_env env, napi_value exports);

/* The /dev/fuse reader's uv_poll wake-up (fuse_poll.c): adds fusePollStart/fusePollStop/readOrErrno. */
void fuse_poll_init(napi_env env, napi_value exports);

/* crc32c over many buffers on several threads (crc32c.c): adds crc32cMany. */
void crc32c_init(napi_env env, napi_value exports);
/* pread of fd's [pos, pos + len) into dst a chunk at a time, each followed by the check of the ranges
 * dst[o[i], + l[i]) that end in it (in order, none overlapping) against e[i] while hot in cache; *good = how
 * many match from the first (the read may stop after the first that does not). errno (ECANCELED once *stop
 * is set, checked before each chunk), or 0 (crc32c.c). */
int crc32c_read_check(int fd, off_t pos, uint8_t *dst, size_t len, const uint32_t *o, const uint32_t *l, const uint32_t *e, int32_t n, int32_t *good, const atomic_int *stop);

/* A buffer for pread's copies out of page-aligned file offsets, placed in its page where the kernel copies
 * fastest (crc32c.c); NULL when out of memory. Freed by copy_buffer_free (NULL: nothing). */
void *copy_buffer_alloc(size_t len);
void copy_buffer_free(void *p);

/* Reads of an arena through a mapping of it (mapread.c): adds mapReads/unmapReads/readArenaOrErrno/mapReadsStats. */
void mapread_init(napi_env env, napi_value exports);
/* The bytes [pos, pos + len) of the arena open as fd, from its mapping with their page tables filled, or NULL
 * (fd has no mapping, or a fill failed): the caller preads them. */
const uint8_t *mapread_at(int fd, off_t pos, size_t len);

/* Verification ahead of the readers after a lazy mount (ahead.c): adds aheadStart/aheadStop/aheadThreads. */
void ahead_init(napi_env env, napi_value exports);

/* A v3 record stream's framing, crcs and fields (records.c): adds recordFrames/recordFields. */
void records_init(napi_env env, napi_value exports);

#endif
