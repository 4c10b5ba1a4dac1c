/*
 * Shared mappings of the arena's file, and tables on huge pages: mmap, munmap
 * (now or on a detached thread), msync, madvise.
 * A mapping is handed to JS as an external Buffer whose finalizer unmaps it.
 * An explicit munmap() detaches the Buffer's ArrayBuffer first, so every view
 * of it becomes empty: later access reads undefined instead of faulting.
 */
#include "napi_util.h"
#include "pram_native.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_MAP_LENGTH (4ULL << 30)

typedef struct mapping {
  void *addr;
  size_t len;
  int live; /* still mapped by us: the finalizer must unmap */
  int owed; /* len still taken off V8's external-memory count (see js_mmap) */
  struct mapping *next;
} mapping_t;

/* Live mappings, so munmap() can tell ours from any other Buffer and the
 * finalizer never unmaps an address that was already given back. */
static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
static mapping_t *mappings;

static void unlink_mapping(mapping_t *m) {
  for (mapping_t **p = &mappings; *p; p = &(*p)->next) {
    if (*p == m) { *p = m->next; return; }
  }
}

/*
 * V8 counts every ArrayBuffer's bytes as external memory and, past 64 MiB more
 * than at the last collection, starts a GC of the whole heap ("external memory
 * pressure"): each mount of an arena over 64 MiB paid one (~10-30 ms, more with
 * a large tree). A file mapping is no allocation a collection could give back
 * (the pages belong to the file, mapped or not), so its bytes are taken off the
 * count while it is mapped and given back once V8 has dropped them.
 */
static void owe_external(napi_env env, mapping_t *m, int owe) {
  int64_t now;
  if (m->owed == owe) return;
  napi_adjust_external_memory(env, owe ? -(int64_t)m->len : (int64_t)m->len, &now);
  m->owed = owe;
}

static void finalize_mapping(napi_env env, void *data, void *hint) {
  (void)data;
  mapping_t *m = hint;
  owe_external(env, m, 0);
  pthread_mutex_lock(&map_lock);
  if (m->live) munmap(m->addr, m->len);
  m->live = 0;
  unlink_mapping(m);
  pthread_mutex_unlock(&map_lock);
  free(m);
}

/* mmap(fd, offset, length, writable) -> Buffer over a MAP_SHARED mapping. */
static napi_value js_mmap(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return NULL;
  int32_t fd; int64_t off, len; bool writable;
  if (!get_i32(env, argv[0], &fd, "mmap: fd must be an integer")) return NULL;
  if (!get_i64(env, argv[1], &off, "mmap: offset must be an integer")) return NULL;
  if (!get_i64(env, argv[2], &len, "mmap: length must be an integer")) return NULL;
  if (napi_get_value_bool(env, argv[3], &writable) != napi_ok) return type_error(env, "mmap: writable must be a boolean");
  if (off < 0 || len <= 0 || (uint64_t)len > MAX_MAP_LENGTH) return throw_errno(env, EINVAL, "mmap");
  int prot = PROT_READ | (writable ? PROT_WRITE : 0);
  void *addr = mmap(NULL, (size_t)len, prot, MAP_SHARED, fd, (off_t)off);
  if (addr == MAP_FAILED) return throw_errno(env, errno, "mmap");
  mapping_t *m = malloc(sizeof *m);
  if (m == NULL) { munmap(addr, (size_t)len); return throw_errno(env, ENOMEM, "mmap"); }
  m->addr = addr; m->len = (size_t)len; m->live = 1; m->owed = 0;
  napi_value buf;
  if (napi_create_external_buffer(env, (size_t)len, addr, finalize_mapping, m, &buf) != napi_ok) {
    munmap(addr, (size_t)len);
    free(m);
    napi_throw_error(env, "ENOMEM", "mmap: cannot wrap the mapping in a Buffer");
    return NULL;
  }
  /*
   * Taken off once the Buffer has counted it: the count comes back to where it was. Taken off before, it dipped
   * below its low since the last full collection, which V8 then moved down with it, and the Buffer's count put the
   * mapping's length back on as memory allocated since: V8 weighs that with the old generation against its
   * limit, small in a process that has not collected yet (measured: --initial-old-space-size=32 kept it off,
   * 12 did not), so the first 16 MiB segment mapped (the header's, at every mount) brought on a full
   * collection at once (5-13 ms of a 1 000 000-file lazy mount's ~20).
   */
  owe_external(env, m, 1);
  pthread_mutex_lock(&map_lock);
  m->next = mappings;
  mappings = m;
  pthread_mutex_unlock(&map_lock);
  return buf;
}

#define HUGE_BYTES ((size_t)2 << 20)

/*
 * hugeTable(length, counted) -> a zeroed Buffer over private anonymous memory that starts
 * on a 2 MiB boundary, advised onto transparent huge pages: a table with an
 * entry per page (page frames) or a log copy, filled at mount, takes a first
 * touch per 2 MiB instead of per 4 KiB (~10-30 us each on a VM). An ArrayBuffer's
 * memory starts past the allocator's header, so its first 2 MiB never can.
 * counted: V8 counts it as external memory, as any ArrayBuffer: a dropped table is
 * memory a collection gives back (its finalizer unmaps it). Not counted (taken off
 * as a file mapping is, see js_mmap): a table that lives as long as the mount and is
 * mostly never touched (page frames: 6 bytes a page, 20 MiB at 13 GiB), whose
 * bytes V8 would weigh against an old generation still small at mount and collect
 * the whole heap for (a 4 GiB arena's lazy mount: a 7-9 ms full collection).
 */
static napi_value js_huge_table(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  int64_t len;
  bool counted;
  if (!get_i64(env, argv[0], &len, "hugeTable: length must be an integer")) return NULL;
  if (napi_get_value_bool(env, argv[1], &counted) != napi_ok) return type_error(env, "hugeTable: counted must be a boolean");
  if (len <= 0 || (uint64_t)len > MAX_MAP_LENGTH) return throw_errno(env, EINVAL, "hugeTable");   /* a Buffer's most */
  size_t want = ((size_t)len + HUGE_BYTES - 1) & ~(HUGE_BYTES - 1);
  uint8_t *raw = mmap(NULL, want + HUGE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) return throw_errno(env, errno, "hugeTable");
  uint8_t *addr = (uint8_t *)(((uintptr_t)raw + HUGE_BYTES - 1) & ~(uintptr_t)(HUGE_BYTES - 1));
  if (addr > raw) munmap(raw, (size_t)(addr - raw));
  if (raw + want + HUGE_BYTES > addr + want) munmap(addr + want, (size_t)(raw + want + HUGE_BYTES - (addr + want)));
  (void)madvise(addr, want, MADV_HUGEPAGE); /* advice only: without THP, 4 KiB pages */
  mapping_t *m = malloc(sizeof *m);
  if (m == NULL) { munmap(addr, want); return throw_errno(env, ENOMEM, "hugeTable"); }
  m->addr = addr; m->len = want; m->live = 1; m->owed = 0;
  napi_value buf;
  /* On failure Node has called finalize_mapping already (unmapped, freed m) and thrown. */
  if (napi_create_external_buffer(env, (size_t)len, addr, finalize_mapping, m, &buf) != napi_ok) return NULL;
  if (!counted) owe_external(env, m, 1);
  pthread_mutex_lock(&map_lock);
  m->next = mappings;
  mappings = m;
  pthread_mutex_unlock(&map_lock);
  return buf;
}

/* Pages a detached munmapLater() gives back off the main thread. */
typedef struct { size_t n; void **addr; size_t *len; } unmap_job_t;

/*
 * Releases one Buffer mmap() returned: its ArrayBuffer is detached (all views
 * become empty), then the pages are unmapped, now or (job given) by the job's
 * thread. If the engine refuses to detach, the range is replaced by anonymous
 * memory so a stray access cannot fault; the file is released either way.
 * 0, or -1 with a JS exception pending.
 */
static int release_mapping(napi_env env, napi_value value, unmap_job_t *job) {
  uint8_t *data; size_t len;
  if (!get_buffer(env, value, &data, &len, "munmap: expected a Buffer from mmap()")) return -1;
  if (data == NULL || len == 0) return 0; /* already unmapped: detached */
  napi_typedarray_type tt; size_t n, byte_off; napi_value ab; void *d;
  if (napi_get_typedarray_info(env, value, &tt, &n, &d, &ab, &byte_off) != napi_ok) { napi_throw_error(env, NULL, "munmap: not a Buffer"); return -1; }
  if (byte_off != 0 || (uintptr_t)data % (uintptr_t)sysconf(_SC_PAGESIZE) != 0) { throw_errno(env, EINVAL, "munmap"); return -1; }
  pthread_mutex_lock(&map_lock);
  mapping_t *m = mappings;
  while (m && !(m->live && m->addr == data && m->len == len)) m = m->next;
  pthread_mutex_unlock(&map_lock);
  if (m == NULL) { throw_errno(env, EINVAL, "munmap"); return -1; }
  bool detached = napi_detach_arraybuffer(env, ab) == napi_ok;
  if (!detached) {
    bool pending;
    napi_is_exception_pending(env, &pending);
    if (pending) { napi_value ex; napi_get_and_clear_last_exception(env, &ex); }
  }
  pthread_mutex_lock(&map_lock);
  int rc = 0, err = 0;
  if (detached) {
    /* No view can reach the pages any more: give them back (the job's thread: later). */
    if (job) { job->addr[job->n] = m->addr; job->len[job->n] = m->len; job->n++; }
    else { rc = munmap(m->addr, m->len); err = errno; }
    m->live = 0;
    unlink_mapping(m);
  } else {
    /* The finalizer will unmap the anonymous stand-in later. */
    void *p = mmap(data, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) { rc = -1; err = errno; }
  }
  pthread_mutex_unlock(&map_lock);
  if (detached) owe_external(env, m, 0); /* the detach took the bytes off V8's count */
  if (rc != 0) { throw_errno(env, err, "munmap"); return -1; }
  return 0;
}

/* munmap(buffer): the Buffer must be the one mmap() returned; unmapped now. */
static napi_value js_munmap(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  release_mapping(env, argv[0], NULL);
  return NULL;
}

static void *run_unmap(void *arg) {
  unmap_job_t *job = arg;
  for (size_t i = 0; i < job->n; i++) munmap(job->addr[i], job->len[i]);
  free(job);
  return NULL;
}

/*
 * munmapLater(buffers): each released as munmap() does, at once (no view can
 * reach them when this returns), but the munmap calls themselves run on a
 * detached thread: tearing down the page tables of every page a mount touched
 * costs ~0.3 us a page (a million files' log: ~15 ms) and need not hold the
 * event loop. Without a thread they run here.
 */
static napi_value js_munmap_later(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  uint32_t count;
  if (napi_get_array_length(env, argv[0], &count) != napi_ok) return type_error(env, "munmapLater: expected an array of Buffers from mmap()");
  unmap_job_t *job = malloc(sizeof *job + count * (sizeof(void *) + sizeof(size_t)));
  if (job == NULL) return throw_errno(env, ENOMEM, "munmapLater");
  job->n = 0;
  job->addr = (void **)(job + 1);
  job->len = (size_t *)(job->addr + count);
  int failed = 0;
  for (uint32_t i = 0; i < count && !failed; i++) {
    napi_value el;
    if (napi_get_element(env, argv[0], i, &el) != napi_ok) { napi_throw_error(env, NULL, "munmapLater: cannot read the array"); failed = 1; break; }
    failed = release_mapping(env, el, job) != 0;
  }
  /* What was released is unmapped even when a later element failed (its exception stays pending). */
  pthread_t tid;
  pthread_attr_t attr;
  int started = 0;
  if (job->n > 0 && pthread_attr_init(&attr) == 0) {
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    started = pthread_create(&tid, &attr, run_unmap, job) == 0;
    pthread_attr_destroy(&attr);
  }
  if (!started) run_unmap(job);
  return NULL;
}

/* Page-aligned [addr, addr+len) covering buffer[off, off+len). */
static int buffer_range(napi_env env, napi_value *argv, void **addr, size_t *alen, const char *name) {
  uint8_t *data; size_t blen; int64_t off, len;
  if (!get_buffer(env, argv[0], &data, &blen, "expected a Buffer")) return 0;
  if (!get_i64(env, argv[1], &off, "offset must be an integer")) return 0;
  if (!get_i64(env, argv[2], &len, "length must be an integer")) return 0;
  if (data == NULL || off < 0 || len < 0 || (uint64_t)off + (uint64_t)len > blen) {
    throw_errno(env, data == NULL ? ENOMEM : EINVAL, name);
    return 0;
  }
  uintptr_t ps = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t start = (uintptr_t)(data + off);
  uintptr_t aligned = start & ~(ps - 1);
  *addr = (void *)aligned;
  *alen = (size_t)len + (start - aligned);
  return 1;
}

/* msync(buffer, offset, length, sync): MS_SYNC when sync, else MS_ASYNC. */
static napi_value js_msync(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return NULL;
  void *addr; size_t len; bool sync;
  if (!buffer_range(env, argv, &addr, &len, "msync")) return NULL;
  if (napi_get_value_bool(env, argv[3], &sync) != napi_ok) return type_error(env, "msync: sync must be a boolean");
  if (len > 0 && msync(addr, len, sync ? MS_SYNC : MS_ASYNC) != 0) return throw_errno(env, errno, "msync");
  return NULL;
}

/* madvise(buffer, offset, length, advice). */
static napi_value js_madvise(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return NULL;
  void *addr; size_t len; int32_t advice;
  if (!buffer_range(env, argv, &addr, &len, "madvise")) return NULL;
  if (!get_i32(env, argv[3], &advice, "madvise: advice must be an integer")) return NULL;
  int rc;
  do rc = madvise(addr, len, advice); while (rc != 0 && errno == EINTR);
  if (rc != 0) return throw_errno(env, errno, "madvise");
  return NULL;
}

static const napi_fn_t FNS[] = {
  {"mmap", js_mmap},
  {"hugeTable", js_huge_table},
  {"munmap", js_munmap},
  {"munmapLater", js_munmap_later},
  {"msync", js_msync},
  {"madvise", js_madvise},
};

void mapping_init(napi_env env, napi_value exports) {
  set_fns(env, exports, FNS);
}
