/*
 * FUSE over io_uring (Linux 6.14+, CONFIG_FUSE_IO_URING, fuse.enable_uring=Y):
 * the rings, the ring entries' memory and one thread per queue. Each queue's
 * ring is an io_ring.c ring (raw syscalls and mmap, no liburing).
 *
 * The kernel's side (fs/fuse/dev_uring.c): after FUSE_INIT is answered on
 * /dev/fuse with FUSE_OVER_IO_URING, the server registers ring entries with
 * IORING_OP_URING_CMD (FUSE_IO_URING_CMD_REGISTER) on the /dev/fuse fd, one
 * queue per possible CPU (qid = cpu). Each entry is two user buffers: a
 * 288-byte struct fuse_uring_req_header and a payload of at least max_write
 * bytes. Until every queue has an entry registered the kernel holds new
 * requests back; then a request made on CPU n lands in an entry of queue n and
 * its REGISTER/COMMIT command completes (a CQE, res 0). The server writes the
 * reply into the same buffers and sends COMMIT_AND_FETCH (commit_id from the
 * header), which also hands the entry back for the next request. FORGET and
 * INTERRUPT keep coming through /dev/fuse.
 *
 * Division of labour, so that no lock is needed: the JS main thread is the
 * only producer of SQEs (register, commit, stop); each queue's thread is the
 * only consumer of its CQ, and hands every CQE to JS through one
 * napi_threadsafe_function. What a request means, and the reply, are JS's
 * (src/fuse/uring.ts); this file moves no protocol bytes itself.
 * Measured against two other hand-overs (docs/ARCHITECTURE.md has the
 * figures): the queue threads also submitting, woken by an eventfd (far
 * slower: a thread wakeup per commit), and no threads, the rings' eventfds
 * polled by libuv (4 KiB requests ~10% faster, 1 MiB reads slower).
 */
#include <node_api.h>
#include "napi_util.h"
#include "pram_native.h"
#include "io_ring.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

/* linux/fuse.h 7.42 (the installed uapi headers may predate it). */
#define FUSE_URING_REQ_HEADER_BYTES 288 /* in_out[128], op_in[128], fuse_uring_ent_in_out */
#define FUSE_URING_COMMIT_ID_AT 264     /* ring_ent_in_out.commit_id */
#define FUSE_IO_URING_CMD_REGISTER 1
#define FUSE_IO_URING_CMD_COMMIT_AND_FETCH 2
struct fuse_uring_cmd_req { uint64_t flags; uint64_t commit_id; uint16_t qid; uint8_t padding[6]; };

/* An entry's memory: the request header at 0, the payload from here (page aligned). */
#define PAYLOAD_AT 8192
#define QUEUES_MAX 1024
#define ENTRIES_MAX 64
#define STOP_USER_DATA UINT64_MAX

_Static_assert(sizeof(struct fuse_uring_cmd_req) == 24, "fuse_uring_cmd_req");
_Static_assert(sizeof(void *) == 8, "a CQE is handed to JS packed in a pointer");
_Static_assert(FUSE_URING_REQ_HEADER_BYTES <= PAYLOAD_AT, "header fits before the payload");

typedef struct uring uring_t;

typedef struct {
  uint8_t *mem;           /* PAYLOAD_AT + payload bytes, mmap'd; JS sees it as one Buffer */
  struct iovec iov[2];    /* [header, payload], read by the kernel at REGISTER */
} uent_t;

typedef struct {
  uring_t *u;
  unsigned qid;
  io_ring_t ring;
  uent_t *ents;
  pthread_t thread;
  int thread_started;
} uqueue_t;

struct uring {
  int dev_fd;
  unsigned queues, entries;
  size_t payload_bytes;
  uqueue_t *q;
  napi_threadsafe_function tsfn;
  int stopped;
};

static void fill_cmd(uqueue_t *q, struct io_uring_sqe *sqe, uint32_t op, unsigned ent, uint64_t commit_id) {
  sqe->opcode = IORING_OP_URING_CMD;
  sqe->fd = q->u->dev_fd;
  sqe->cmd_op = op;
  sqe->user_data = ent;
  struct fuse_uring_cmd_req *req = (struct fuse_uring_cmd_req *)sqe->cmd;
  req->commit_id = commit_id;
  req->qid = (uint16_t)q->qid;
}

/* The queue's thread: wait for completions, hand each to JS, until the stop NOP. */
static void *queue_thread(void *arg) {
  uqueue_t *q = arg;
  io_ring_t *r = &q->ring;
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);   /* signals are Node's main thread's */
  for (int stop = 0; !stop;) {
    int err = io_ring_wait(r);
    if (err && err != EINTR) break;   /* the ring is gone: nothing more can arrive */
    unsigned head = atomic_load_explicit(r->cq_head, memory_order_relaxed);
    unsigned tail = atomic_load_explicit(r->cq_tail, memory_order_acquire);
    for (; head != tail; head++) {
      struct io_uring_cqe *cqe = &r->cqes[head & r->cq_mask];
      if (cqe->user_data == STOP_USER_DATA) { stop = 1; continue; }
      /* qid (16 bits) | entry (16 bits) | res (32 bits) */
      uintptr_t packed = ((uintptr_t)q->qid << 48) | ((uintptr_t)(cqe->user_data & 0xffff) << 32) | (uint32_t)cqe->res;
      napi_call_threadsafe_function(q->u->tsfn, (void *)packed, napi_tsfn_nonblocking);
    }
    atomic_store_explicit(r->cq_head, head, memory_order_release);
  }
  napi_release_threadsafe_function(q->u->tsfn, napi_tsfn_release);
  return NULL;
}

/* On the main thread: onCqe(qid, entry, res). */
static void call_js(napi_env env, napi_value cb, void *context, void *data) {
  (void)context;
  if (env == NULL) return;
  uintptr_t packed = (uintptr_t)data;
  napi_value argv[3], undef;
  napi_create_uint32(env, (uint32_t)(packed >> 48), &argv[0]);
  napi_create_uint32(env, (uint32_t)((packed >> 32) & 0xffff), &argv[1]);
  napi_create_int32(env, (int32_t)(uint32_t)packed, &argv[2]);
  napi_get_undefined(env, &undef);
  napi_call_function(env, undef, cb, 3, argv, NULL);
}

static void uring_free(uring_t *u) {
  for (unsigned i = 0; i < u->queues; i++) {
    uqueue_t *q = &u->q[i];
    io_ring_close(&q->ring);
    free(q->ents);   /* the entries' memory belongs to the JS Buffers (finalizers unmap it) */
  }
  free(u->q);
  free(u);
}

static void finalize_uring(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  uring_t *u = data;
  /* Threads still running hold the tsfn and so keep the env alive: only a stopped ring is collected. */
  if (u->stopped) uring_free(u);
}

static void finalize_entry(napi_env env, void *data, void *hint) {
  (void)env;
  munmap(data, (size_t)(uintptr_t)hint);
}

static int get_u32_arg(napi_env env, napi_value v, unsigned *out, unsigned max, const char *what) {
  int32_t x;
  if (!get_i32(env, v, &x, what)) return 0;
  if (x < 1 || (unsigned)x > max) { napi_throw_range_error(env, "ERR_OUT_OF_RANGE", what); return 0; }
  *out = (unsigned)x;
  return 1;
}

/*
 * uringOpen(devFd, queues, entriesPerQueue, payloadBytes, onCqe) ->
 *   { handle, entries: Buffer[] (queue-major), payloadAt }.
 * Creates the rings and the entries' memory; registers nothing yet (the
 * kernel wants FUSE_INIT answered first). Failing here (io_uring disabled by
 * sysctl, no memory) leaves the mount to the /dev/fuse loop.
 */
static napi_value js_uring_open(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 5) { napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "uringOpen: 5 arguments"); return NULL; }
  int32_t dev_fd;
  unsigned queues, entries, payload;
  if (!get_i32(env, argv[0], &dev_fd, "uringOpen: devFd must be an integer")) return NULL;
  if (!get_u32_arg(env, argv[1], &queues, QUEUES_MAX, "uringOpen: queues out of range")) return NULL;
  if (!get_u32_arg(env, argv[2], &entries, ENTRIES_MAX, "uringOpen: entries out of range")) return NULL;
  if (!get_u32_arg(env, argv[3], &payload, 64u << 20, "uringOpen: payloadBytes out of range")) return NULL;
  uring_t *u = calloc(1, sizeof *u);
  if (u == NULL) return throw_errno(env, ENOMEM, "uringOpen");
  u->dev_fd = dev_fd; u->queues = queues; u->entries = entries; u->payload_bytes = payload;
  u->q = calloc(queues, sizeof *u->q);
  if (u->q == NULL) { free(u); return throw_errno(env, ENOMEM, "uringOpen"); }
  for (unsigned i = 0; i < queues; i++) u->q[i].ring.fd = -1;
  napi_value list;
  napi_create_array_with_length(env, (size_t)queues * entries, &list);
  /* Room for every entry's command plus the stop NOP; a power of two as the kernel rounds anyway. */
  unsigned sq_entries = 1;
  while (sq_entries < entries + 1) sq_entries <<= 1;
  size_t ent_len = PAYLOAD_AT + (size_t)payload;
  for (unsigned i = 0; i < queues; i++) {
    uqueue_t *q = &u->q[i];
    q->u = u; q->qid = i;
    int err = io_ring_open(&q->ring, sq_entries);
    if (err) { uring_free(u); return throw_errno(env, err, "io_uring_setup"); }
    q->ents = calloc(entries, sizeof *q->ents);
    if (q->ents == NULL) { uring_free(u); return throw_errno(env, ENOMEM, "uringOpen"); }
    for (unsigned e = 0; e < entries; e++) {
      uent_t *ent = &q->ents[e];
      void *mem = mmap(NULL, ent_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (mem == MAP_FAILED) { int mer = errno; uring_free(u); return throw_errno(env, mer, "mmap"); }
      ent->mem = mem;
      ent->iov[0].iov_base = mem; ent->iov[0].iov_len = FUSE_URING_REQ_HEADER_BYTES;
      ent->iov[1].iov_base = (uint8_t *)mem + PAYLOAD_AT; ent->iov[1].iov_len = payload;
      napi_value buf;
      if (napi_create_external_buffer(env, ent_len, mem, finalize_entry, (void *)(uintptr_t)ent_len, &buf) != napi_ok) {
        munmap(mem, ent_len);
        ent->mem = NULL;
        uring_free(u);
        return throw_errno(env, ENOMEM, "uringOpen");
      }
      napi_set_element(env, list, i * entries + e, buf);
    }
  }
  napi_value name, result, handle, at;
  napi_create_string_utf8(env, "pram-fuse-uring", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[4], NULL, name, 0, queues, NULL, NULL, NULL, call_js, &u->tsfn) != napi_ok) {
    uring_free(u);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "uringOpen: onCqe must be a function");
    return NULL;
  }
  napi_create_external(env, u, finalize_uring, NULL, &handle);
  napi_create_object(env, &result);
  napi_set_named_property(env, result, "handle", handle);
  napi_set_named_property(env, result, "entries", list);
  napi_create_uint32(env, PAYLOAD_AT, &at);
  napi_set_named_property(env, result, "payloadAt", at);
  return result;
}

/* The call's `want` arguments, the first being a handle from uringOpen; NULL (and a TypeError) otherwise. */
static uring_t *get_uring(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  void *u = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < want || napi_get_value_external(env, argv[0], &u) != napi_ok || u == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a handle from uringOpen and its arguments");
    return NULL;
  }
  return u;
}

/* uringRegister(handle): starts the queue threads and registers every entry. After FUSE_INIT's reply. */
static napi_value js_uring_register(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uring_t *u = get_uring(env, info, 1, argv);
  if (u == NULL) return NULL;
  if (u->stopped) return throw_errno(env, EBADF, "uringRegister");
  for (unsigned i = 0; i < u->queues; i++) {
    uqueue_t *q = &u->q[i];
    if (!q->thread_started) {
      int err = pthread_create(&q->thread, NULL, queue_thread, q);
      if (err) return throw_errno(env, err, "pthread_create");
      q->thread_started = 1;
    }
    for (unsigned e = 0; e < u->entries; e++) {
      unsigned tail;
      struct io_uring_sqe *sqe = io_ring_sqe(&q->ring, &tail);
      fill_cmd(q, sqe, FUSE_IO_URING_CMD_REGISTER, e, 0);
      sqe->addr = (uint64_t)(uintptr_t)q->ents[e].iov;
      sqe->len = 2;
      int err = io_ring_submit(&q->ring, tail);
      if (err) return throw_errno(env, err, "io_uring_enter");
    }
  }
  return NULL;
}

/* uringCommit(handle, qid, entry): the reply is in the entry's buffers; send it and fetch the next request. */
static napi_value js_uring_commit(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uring_t *u = get_uring(env, info, 3, argv);
  if (u == NULL) return NULL;
  int32_t qid, e;
  if (!get_i32(env, argv[1], &qid, "uringCommit: qid") || !get_i32(env, argv[2], &e, "uringCommit: entry")) return NULL;
  if (u->stopped || qid < 0 || (unsigned)qid >= u->queues || e < 0 || (unsigned)e >= u->entries) return throw_errno(env, EINVAL, "uringCommit");
  uqueue_t *q = &u->q[qid];
  uint64_t commit_id;
  memcpy(&commit_id, q->ents[e].mem + FUSE_URING_COMMIT_ID_AT, sizeof commit_id);
  unsigned tail;
  struct io_uring_sqe *sqe = io_ring_sqe(&q->ring, &tail);
  fill_cmd(q, sqe, FUSE_IO_URING_CMD_COMMIT_AND_FETCH, (unsigned)e, commit_id);
  int err = io_ring_submit(&q->ring, tail);
  if (err) return throw_errno(env, err, "io_uring_enter");
  return NULL;
}

/*
 * uringStop(handle): a NOP wakes each thread to end; once they have, the
 * rings are closed (which cancels entries still registered). Idempotent.
 */
static napi_value js_uring_stop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uring_t *u = get_uring(env, info, 1, argv);
  if (u == NULL || u->stopped) return NULL;
  u->stopped = 1;
  for (unsigned i = 0; i < u->queues; i++) {
    uqueue_t *q = &u->q[i];
    if (!q->thread_started) {
      napi_release_threadsafe_function(u->tsfn, napi_tsfn_release);
      continue;
    }
    unsigned tail;
    struct io_uring_sqe *sqe = io_ring_sqe(&q->ring, &tail);
    sqe->opcode = IORING_OP_NOP;
    sqe->user_data = STOP_USER_DATA;
    if (io_ring_submit(&q->ring, tail) != 0) close(q->ring.fd);   /* cannot happen short of a dead ring; closing ends the wait too */
    pthread_join(q->thread, NULL);
    q->thread_started = 0;
  }
  for (unsigned i = 0; i < u->queues; i++) io_ring_close(&u->q[i].ring);
  return NULL;
}

static const napi_fn_t FNS[] = {
  {"uringOpen", js_uring_open},
  {"uringRegister", js_uring_register},
  {"uringCommit", js_uring_commit},
  {"uringStop", js_uring_stop},
};

void fuse_uring_init(napi_env env, napi_value exports) {
  set_fns(env, exports, FNS);
}
