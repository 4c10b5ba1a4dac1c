/*
 * pram's own native addon: the few Linux calls Node does not offer (shared
 * mappings, msync, madvise, fallocate, memfd_create, flock, a generic ioctl,
 * a unix datagram carrying fds in SCM_RIGHTS — systemd's notify protocol);
 * FUSE over io_uring lives beside it in fuse_uring.c, the /dev/fuse reader's
 * uv_poll wake-up in fuse_poll.c.
 * Plain C over Node-API. Policy (which file, which size, which lock) lives in
 * src/mem/; this file only turns syscalls into values and errno into errors.
 *
 * A mapping is handed to JS as an external Buffer whose finalizer unmaps it.
 * An explicit munmap() detaches the Buffer's ArrayBuffer first, so every view
 * of it becomes empty: later access reads undefined instead of faulting.
 */
#include <node_api.h>
#include "pram_native.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

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

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, "EINVAL", "pram_native: " #call " failed"); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

/* Throws an Error shaped like Node's own system errors (code, errno, syscall). */
napi_value throw_errno(napi_env env, int err, const char *syscall) {
  char msg[256];
  const char *name = strerrorname_np(err);
  if (name == NULL) name = "EUNKNOWN";
  snprintf(msg, sizeof msg, "%s: %s, %s", name, strerror(err), syscall);
  napi_value m, e, v;
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m) != napi_ok) return NULL;
  if (napi_create_error(env, NULL, m, &e) != napi_ok) return NULL;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "code", v);
  napi_create_int32(env, -err, &v);
  napi_set_named_property(env, e, "errno", v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "syscall", v);
  napi_throw(env, e);
  return NULL;
}

static napi_value type_error(napi_env env, const char *what) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
  return NULL;
}

/* A number or a bigint as int64; false (with a TypeError thrown) otherwise. */
static int get_i64(napi_env env, napi_value v, int64_t *out, const char *what) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_number) {
    double d;
    napi_get_value_double(env, v, &d);
    if (d != (double)(int64_t)d) { type_error(env, what); return 0; }
    *out = (int64_t)d;
    return 1;
  }
  if (t == napi_bigint) {
    bool lossless;
    napi_get_value_bigint_int64(env, v, out, &lossless);
    if (!lossless) { type_error(env, what); return 0; }
    return 1;
  }
  type_error(env, what);
  return 0;
}

int get_i32(napi_env env, napi_value v, int32_t *out, const char *what) {
  int64_t x;
  if (!get_i64(env, v, &x, what)) return 0;
  if (x < INT32_MIN || x > INT32_MAX) { type_error(env, what); return 0; }
  *out = (int32_t)x;
  return 1;
}

static int get_buffer(napi_env env, napi_value v, uint8_t **data, size_t *len, const char *what) {
  bool is;
  napi_is_buffer(env, v, &is);
  if (!is) { type_error(env, what); return 0; }
  void *d;
  napi_get_buffer_info(env, v, &d, len);
  *data = d;
  return 1;
}

static napi_value get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  napi_value self;
  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok) return NULL;
  if (argc < want) return type_error(env, "pram_native: too few arguments");
  return self;
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
  owe_external(env, m, 1); /* before the Buffer exists: its count then adds back to where it was */
  napi_value buf;
  if (napi_create_external_buffer(env, (size_t)len, addr, finalize_mapping, m, &buf) != napi_ok) {
    owe_external(env, m, 0);
    munmap(addr, (size_t)len);
    free(m);
    napi_throw_error(env, "ENOMEM", "mmap: cannot wrap the mapping in a Buffer");
    return NULL;
  }
  pthread_mutex_lock(&map_lock);
  m->next = mappings;
  mappings = m;
  pthread_mutex_unlock(&map_lock);
  return buf;
}

#define HUGE_BYTES ((size_t)2 << 20)

/*
 * hugeTable(length) -> a zeroed Buffer over private anonymous memory that starts
 * on a 2 MiB boundary, advised onto transparent huge pages: a table with an
 * entry per page (page frames) or a log copy, filled at mount, takes a first
 * touch per 2 MiB instead of per 4 KiB (~10-30 us each on a VM). An ArrayBuffer's
 * memory starts past the allocator's header, so its first 2 MiB never can.
 * V8 counts it as external memory, as any ArrayBuffer: a dropped table is
 * memory a collection gives back (its finalizer unmaps it).
 */
static napi_value js_huge_table(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  int64_t len;
  if (!get_i64(env, argv[0], &len, "hugeTable: length must be an integer")) return NULL;
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
  m->addr = addr; m->len = want; m->live = 1; m->owed = 0;   /* never owed: V8 counts a table */
  napi_value buf;
  /* On failure Node has called finalize_mapping already (unmapped, freed m) and thrown. */
  if (napi_create_external_buffer(env, (size_t)len, addr, finalize_mapping, m, &buf) != napi_ok) return NULL;
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

/* fallocate(fd, mode, offset, length). */
static napi_value js_fallocate(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return NULL;
  int32_t fd, mode; int64_t off, len;
  if (!get_i32(env, argv[0], &fd, "fallocate: fd must be an integer")) return NULL;
  if (!get_i32(env, argv[1], &mode, "fallocate: mode must be an integer")) return NULL;
  if (!get_i64(env, argv[2], &off, "fallocate: offset must be an integer")) return NULL;
  if (!get_i64(env, argv[3], &len, "fallocate: length must be an integer")) return NULL;
  int rc;
  do rc = fallocate(fd, mode, (off_t)off, (off_t)len); while (rc != 0 && errno == EINTR);
  if (rc != 0) return throw_errno(env, errno, "fallocate");
  return NULL;
}

/* memfdCreate(name, flags) -> fd. */
static napi_value js_memfd_create(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  char name[250]; size_t n; int32_t flags;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &n) != napi_ok) return type_error(env, "memfdCreate: name must be a string");
  if (!get_i32(env, argv[1], &flags, "memfdCreate: flags must be an integer")) return NULL;
  int fd = memfd_create(name, (unsigned)flags);
  if (fd < 0) return throw_errno(env, errno, "memfd_create");
  napi_value r;
  napi_create_int32(env, fd, &r);
  return r;
}

/* flock(fd, operation). */
static napi_value js_flock(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  int32_t fd, op;
  if (!get_i32(env, argv[0], &fd, "flock: fd must be an integer")) return NULL;
  if (!get_i32(env, argv[1], &op, "flock: operation must be an integer")) return NULL;
  int rc;
  do rc = flock(fd, op); while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno == EWOULDBLOCK) {
    /* Same number as EAGAIN on Linux; flock(2) documents it by this name. */
    throw_errno(env, errno, "flock");
    napi_value ex, code;
    napi_get_and_clear_last_exception(env, &ex);
    napi_create_string_utf8(env, "EWOULDBLOCK", NAPI_AUTO_LENGTH, &code);
    napi_set_named_property(env, ex, "code", code);
    napi_throw(env, ex);
    return NULL;
  }
  if (rc != 0) return throw_errno(env, errno, "flock");
  return NULL;
}

/* ioctl(fd, request, arg) -> int: arg is a Buffer (the argument struct), an integer, or null. */
static napi_value js_ioctl(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  int32_t fd; int64_t req;
  if (!get_i32(env, argv[0], &fd, "ioctl: fd must be an integer")) return NULL;
  if (!get_i64(env, argv[1], &req, "ioctl: request must be an integer")) return NULL;
  if (req < 0 || req > UINT32_MAX) return type_error(env, "ioctl: request must be a 32-bit unsigned integer");
  unsigned long arg = 0;
  napi_valuetype t;
  napi_typeof(env, argv[2], &t);
  bool is_buf = false;
  if (t == napi_object) napi_is_buffer(env, argv[2], &is_buf);
  if (is_buf) {
    uint8_t *data = NULL; size_t len;
    if (!get_buffer(env, argv[2], &data, &len, "ioctl: arg")) return NULL;
    arg = (unsigned long)data;
  } else if (t == napi_number || t == napi_bigint) {
    int64_t x;
    if (!get_i64(env, argv[2], &x, "ioctl: arg must be an integer")) return NULL;
    arg = (unsigned long)x;
  } else if (t != napi_null && t != napi_undefined) {
    return type_error(env, "ioctl: arg must be a Buffer, an integer or null");
  }
  int rc = ioctl(fd, (unsigned long)req, arg);
  if (rc < 0) return throw_errno(env, errno, "ioctl");
  napi_value r;
  napi_create_int32(env, rc, &r);
  return r;
}

/* Most fds one datagram carries (systemd's own sd_notify has no lower limit; 16 is plenty here). */
#define MAX_SEND_FDS 16

/*
 * sendUnixDatagram(address, data, fds) -> bytes sent. address is sun_path's
 * bytes as they go on the wire (a leading NUL for an abstract name, no
 * trailing NUL); fds ride along in one SCM_RIGHTS message. Node's dgram has
 * no unix sockets and net cannot pass fds, hence this call.
 */
static napi_value js_send_unix_datagram(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  uint8_t *addr, *data;
  size_t alen, dlen;
  if (!get_buffer(env, argv[0], &addr, &alen, "address must be a Buffer")) return NULL;
  if (!get_buffer(env, argv[1], &data, &dlen, "data must be a Buffer")) return NULL;
  bool is_array;
  napi_is_array(env, argv[2], &is_array);
  if (!is_array) return type_error(env, "fds must be an array of numbers");
  uint32_t nfds;
  napi_get_array_length(env, argv[2], &nfds);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  if (alen == 0 || alen > sizeof sa.sun_path || nfds > MAX_SEND_FDS) return throw_errno(env, EINVAL, "sendmsg");
  memcpy(sa.sun_path, addr, alen);
  int fds[MAX_SEND_FDS];
  for (uint32_t i = 0; i < nfds; i++) {
    napi_value v;
    napi_get_element(env, argv[2], i, &v);
    if (!get_i32(env, v, &fds[i], "fds must be an array of numbers")) return NULL;
  }
  union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(int) * MAX_SEND_FDS)]; } control;
  memset(&control, 0, sizeof control);
  struct iovec iov = { .iov_base = data, .iov_len = dlen };
  struct msghdr msg = {
    .msg_name = &sa, .msg_namelen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + alen),
    .msg_iov = &iov, .msg_iovlen = 1,
  };
  if (nfds > 0) {
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
  }
  int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return throw_errno(env, errno, "socket");
  ssize_t n = sendmsg(s, &msg, MSG_NOSIGNAL);
  int err = errno;
  close(s);
  if (n < 0) return throw_errno(env, err, "sendmsg");
  napi_value r;
  napi_create_int64(env, (int64_t)n, &r);
  return r;
}

static napi_value js_pagesize(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  napi_create_int32(env, (int32_t)sysconf(_SC_PAGESIZE), &r);
  return r;
}

void set_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value f;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &f);
  napi_set_named_property(env, exports, name, f);
}

static void set_const(napi_env env, napi_value exports, const char *name, double value) {
  napi_value v;
  napi_create_double(env, value, &v);
  napi_set_named_property(env, exports, name, v);
}

#define CONST(name) set_const(env, exports, #name, (double)(name))

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  set_fn(env, exports, "mmap", js_mmap);
  set_fn(env, exports, "hugeTable", js_huge_table);
  set_fn(env, exports, "munmap", js_munmap);
  set_fn(env, exports, "munmapLater", js_munmap_later);
  set_fn(env, exports, "msync", js_msync);
  set_fn(env, exports, "madvise", js_madvise);
  set_fn(env, exports, "fallocate", js_fallocate);
  set_fn(env, exports, "memfdCreate", js_memfd_create);
  set_fn(env, exports, "flock", js_flock);
  set_fn(env, exports, "ioctl", js_ioctl);
  set_fn(env, exports, "pagesize", js_pagesize);
  set_fn(env, exports, "sendUnixDatagram", js_send_unix_datagram);
  CONST(MADV_NORMAL); CONST(MADV_RANDOM); CONST(MADV_SEQUENTIAL); CONST(MADV_WILLNEED);
  CONST(MADV_DONTNEED); CONST(MADV_REMOVE); CONST(MADV_HUGEPAGE); CONST(MADV_NOHUGEPAGE);
  CONST(MADV_POPULATE_READ); CONST(MADV_POPULATE_WRITE);
  CONST(MFD_CLOEXEC); CONST(MFD_ALLOW_SEALING); CONST(MFD_HUGETLB);
  CONST(LOCK_SH); CONST(LOCK_EX); CONST(LOCK_NB); CONST(LOCK_UN);
  CONST(FALLOC_FL_KEEP_SIZE); CONST(FALLOC_FL_PUNCH_HOLE);
  CONST(BLKGETSIZE64);
  fuse_uring_init(env, exports);
  fuse_poll_init(env, exports);
  crc32c_init(env, exports);
  return exports;
}
