/*
 * Verification ahead of the readers after a lazy mount: one thread per mount,
 * on the other core, checks the arena's unverified pages block by block
 * (BLOCK_PAGES pfns, aligned) in arena order, from the moment of the mount.
 * It reads the mount's own tables (flags, run-head distances, expected sums:
 * JS typed arrays, kept alive by references) and leaves one verdict word per
 * block in shared memory: FREE -> BUSY -> GOOD or DIFF. A reader takes a GOOD
 * block's runs as verified; anything else it checks itself as before, so this
 * thread never decides a loss. A reader that checks a FREE block marks it
 * TAKEN: this thread then leaves it, and the next SKIP_BLOCKS, to that reader
 * (it has caught up) and works further ahead; a last pass takes what is still
 * FREE. A block's pages are read with pread (its own dup of the arena's fd)
 * into its own buffer, never mapped: summing a mapping in place costs as
 * much or more (1 GiB of a tmpfs arena, one thread: 64 MiB windows populated
 * with MADV_POPULATE_READ, summed, unmapped 152-156 ms CPU, faulted in by the
 * sum itself 137-143, pread and crc32c of 512 KiB chunks 133-145; the
 * population alone is 70 ms, a 4 KiB page at a time), and mapping and
 * unmapping 1 MiB windows slowed a reader on the other core 7 % (the unmaps'
 * TLB shootdowns presumably). Even so this thread is slower than a reader's
 * plain copy (~90 ms a GiB against ~78 where the arena's memory reads fast),
 * so a reader of a whole image catches it up and checks some blocks itself:
 * 259-388 of 2048 for 4 GiB, most of them in the first GiB read, while V8's own
 * helper threads take the second core after the mount. The thread ends when every block is
 * settled, at aheadStop (unmount), or at the environment's teardown, and never
 * keeps the process alive (a plain pthread, joined).
 * An index-led mount (WAITS) has pages whose sums come later, as their group
 * loads: the reader's thread then marks the blocks holding them FREE again
 * (a BUSY one STALE: the verdict being made saw the block before, it is
 * dropped) and wakes this one (aheadWake), which walks the blocks again; it
 * sleeps between walks and ends after the walk that follows the last wake.
 * aheadReadLone is a reader's side of the same tables, thread or none: one read's copy and check of its lone
 * pages in one call (the per-page queueing and marking in JS cost a reader ~9 ms a GiB).
 */
#include <node_api.h>
#include "napi_util.h"
#include "pram_native.h"
#include "crc32c_sum.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { FREE = 0, BUSY = 1, GOOD = 2, DIFF = 3, TAKEN = 4, STALE = 5 };
#define BLOCK_PAGES 512
#define RUN_PAGES_MAX 32          /* a run (EXTENT) holds at most 32 pages: its head's block reads past its end */
/* Blocks left to a reader that caught up, past the one it took: 256 MiB, so the thread goes on far from it.
 * Just ahead of a reader (4 blocks), the reader's copy of pages this thread had read moments before ran a
 * third slower: 4 GiB in 1 MiB reads after a lazy mount took 450 ms of the reader's CPU, 104 ms a GiB on the
 * copies of pages checked here, against 335 (78 ms a GiB) once every page was checked; with 128 blocks
 * 380-395 ms (82 ms a GiB, 18 % of the pages checked by the reader), 64: 410, 256 and 512: 374-376, the
 * blocks checked from the last one down: 387-392 (45 % by the reader). A full mount's reads: 328. */
#define SKIP_BLOCKS 128
#define WAITS (1 << 24)            /* bits: more sums come later (aheadWake), the thread waits for them */

typedef struct {
  napi_ref refs[4];               /* flags, back, csum, state: alive while the thread may read them */
  const volatile uint8_t *flags, *back;
  const volatile uint32_t *csum;
  _Atomic int32_t *state;
  size_t pages, blocks, page_size;
  uint8_t unverified, bad, dirty;
  int fd, started, policy, priority;   /* the starting thread's scheduling */
  atomic_int stop;
  int waits, last;                /* more walks come (an index-led mount); the last wake came */
  unsigned wakes;                 /* aheadWake calls so far: a walk is owed while it differs from the walked one */
  pthread_mutex_t lock;
  pthread_cond_t woken;
  pthread_t tid;
  uint8_t *buf;
  uint32_t *off, *len, *exp;      /* one block's ranges: offset in buf, bytes, expected sum */
} ahead_t;

static atomic_int live_threads;

/* The unverified runs and lone pages whose first pfn lies in block b, as ranges of buf from its first one;
 * returns how many, *first = the pfn buf starts at, *bytes = the bytes to read. */
static size_t block_ranges(ahead_t *a, size_t b, size_t *first, size_t *bytes) {
  size_t n = 0, end = (b + 1) * BLOCK_PAGES < a->pages ? (b + 1) * BLOCK_PAGES : a->pages;
  for (size_t p = b * BLOCK_PAGES; p < end;) {
    uint8_t f = a->flags[p], d = a->back[p];
    /* d > 1: a run's later page; d == 0 and dirty: a page of a run forgotten since (its sum is gone): the reader's */
    if (!(f & a->unverified) || (f & a->bad) || d > 1 || (d == 0 && (f & a->dirty))) { p++; continue; }
    size_t count = 1;
    if (d == 1) while (count < RUN_PAGES_MAX && p + count < a->pages && a->back[p + count] == count + 1) count++;
    if (n == 0) *first = p;
    a->off[n] = (uint32_t)((p - *first) * a->page_size);
    a->len[n] = (uint32_t)(count * a->page_size);
    a->exp[n++] = a->csum[p];
    *bytes = (p - *first + count) * a->page_size;
    p += count;
  }
  return n;
}

/* Checks block b (claimed BUSY): GOOD when every range matched, else DIFF (the reader finds which). */
static int32_t check_block(ahead_t *a, size_t b) {
  size_t first = 0, bytes = 0;
  size_t n = block_ranges(a, b, &first, &bytes);
  if (n == 0) return GOOD;
  int32_t good;
  if (crc32c_read_check(a->fd, (off_t)(first * a->page_size), a->buf, bytes, a->off, a->len, a->exp, (int32_t)n, &good, &a->stop)) return FREE;   /* no verdict: the reader checks */
  return good == (int32_t)n ? GOOD : DIFF;
}

/* One walk over every block: FREE ones checked, TAKEN ones left to their reader in the first pass. */
static void walk(ahead_t *a) {
  for (int pass = 0, left = 1; pass < 2 && left; pass++) {
    left = 0;
    for (size_t b = 0; b < a->blocks && !atomic_load(&a->stop); b++) {
      int32_t want = FREE;
      if (atomic_compare_exchange_strong(&a->state[b], &want, BUSY)) {
        int32_t busy = BUSY, verdict = check_block(a, b);
        /* STALE: sums came for this block while it was checked, from before them: no verdict, checked again */
        if (!atomic_compare_exchange_strong(&a->state[b], &busy, verdict)) { atomic_store(&a->state[b], FREE); left = 1; }
        continue;
      }
      if (want == TAKEN && pass == 0) { b += SKIP_BLOCKS; left = 1; }   /* a reader is here: go on ahead of it */
    }
  }
}

static void *run(void *arg) {
  ahead_t *a = arg;
  /* Below every other thread of the process: the work is a head start, never worth anyone's wait (V8's
   * compiler and GC helpers, which the reader's thread waits for or runs slower without, come first).
   * Under a real-time policy one step lower, so other processes still do not run before it; else only
   * when the core is otherwise idle. */
  struct sched_param sp = { 0 };
  if ((a->policy == SCHED_FIFO || a->policy == SCHED_RR) && a->priority > sched_get_priority_min(a->policy)) {
    sp.sched_priority = a->priority - 1;
    pthread_setschedparam(pthread_self(), a->policy, &sp);
  } else pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
  for (unsigned walked = 0;;) {
    walk(a);
    pthread_mutex_lock(&a->lock);
    while (a->waits && !a->last && walked == a->wakes && !atomic_load(&a->stop)) pthread_cond_wait(&a->woken, &a->lock);
    int again = walked != a->wakes && !atomic_load(&a->stop);
    walked = a->wakes;
    pthread_mutex_unlock(&a->lock);
    if (!again) return NULL;
  }
}

/* More sums came (a group loaded; its blocks are FREE again): one more walk; last: none come after. */
static void wake(ahead_t *a, int last) {
  pthread_mutex_lock(&a->lock);
  a->wakes++;
  a->last |= last;
  pthread_cond_signal(&a->woken);
  pthread_mutex_unlock(&a->lock);
}

static void stop(ahead_t *a) {
  if (!a->started) return;
  atomic_store(&a->stop, 1);
  wake(a, 1);
  /* It stops within a chunk (1 MiB, crc32c.c READ_CHUNK) -- once it runs: back to its starter's scheduling, not to wait
   * for an idle core. */
  struct sched_param sp = { .sched_priority = a->priority };
  pthread_setschedparam(a->tid, a->policy, &sp);
  pthread_join(a->tid, NULL);
  close(a->fd);
  a->started = 0;
  atomic_fetch_sub(&live_threads, 1);
}

static void teardown(void *arg) { stop(arg); }

static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  ahead_t *a = data;
  stop(a);
  napi_remove_env_cleanup_hook(env, teardown, a);
  for (int i = 0; i < 4; i++) if (a->refs[i]) napi_delete_reference(env, a->refs[i]);
  copy_buffer_free(a->buf); free(a->off); free(a->len); free(a->exp);
  pthread_mutex_destroy(&a->lock); pthread_cond_destroy(&a->woken);
  free(a);
}

/* aheadStart(fd, pageSize, flags: Uint8Array, back: Uint8Array, csum: Uint32Array (a run's expected sum at its
 * first pfn), state: Int32Array (shared, one word per block of 512 pfns), bits: unverified | bad << 8 | dirty << 16
 * [| WAITS: sums come later, aheadWake tells]) -> handle. */
static napi_value js_start(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd = -1, ps = 0, bits = 0;
  void *flags, *back, *csum, *state;
  size_t n_flags = 0, n_back = 0, n_csum = 0, n_state = 0;
  if (argc < 7 || !get_i32(env, argv[0], &fd, "fd") || !get_i32(env, argv[1], &ps, "pageSize")
      || !get_i32(env, argv[6], &bits, "bits")) {
    if (argc < 7) napi_throw_type_error(env, NULL, "aheadStart: 7 arguments");
    return NULL;
  }
  if (!pram_typed(env, argv[2], napi_uint8_array, &flags, &n_flags) || !pram_typed(env, argv[3], napi_uint8_array, &back, &n_back)
      || !pram_typed(env, argv[4], napi_uint32_array, &csum, &n_csum) || !pram_typed(env, argv[5], napi_int32_array, &state, &n_state)
      || fd < 0 || ps < 4096 || (ps & (ps - 1)) || n_back < n_flags || n_csum < n_flags
      || n_state < (n_flags + BLOCK_PAGES - 1) / BLOCK_PAGES || !(bits & 0xff) || !(bits & 0xff00) || !(bits & 0xff0000)) {
    napi_throw_type_error(env, NULL, "aheadStart: fd, pageSize, flags, back (Uint8Array), csum (Uint32Array), state (Int32Array), bits");
    return NULL;
  }
  ahead_t *a = calloc(1, sizeof *a);
  size_t most = BLOCK_PAGES + RUN_PAGES_MAX;
  if (!a || !(a->buf = copy_buffer_alloc(most * (size_t)ps)) || !(a->off = malloc(most * 4)) || !(a->len = malloc(most * 4)) || !(a->exp = malloc(most * 4))) {
    if (a) { copy_buffer_free(a->buf); free(a->off); free(a->len); free(a->exp); free(a); }
    return throw_errno(env, ENOMEM, "malloc");
  }
  a->flags = flags; a->back = back; a->csum = csum; a->state = state;
  a->pages = n_flags; a->blocks = (n_flags + BLOCK_PAGES - 1) / BLOCK_PAGES; a->page_size = (size_t)ps;
  a->unverified = (uint8_t)bits; a->bad = (uint8_t)(bits >> 8); a->dirty = (uint8_t)(bits >> 16);
  a->waits = (bits & WAITS) != 0;
  pthread_mutex_init(&a->lock, NULL);
  pthread_cond_init(&a->woken, NULL);
  /* Its own fd: the arena's is closed at unmount, maybe while a read is under way here. */
  if ((a->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) { int e = errno; copy_buffer_free(a->buf); free(a->off); free(a->len); free(a->exp); free(a); return throw_errno(env, e, "fcntl"); }
  struct sched_param sp;
  if (pthread_getschedparam(pthread_self(), &a->policy, &sp) == 0) a->priority = sp.sched_priority;
  for (int i = 0; i < 4; i++) napi_create_reference(env, argv[2 + i], 1, &a->refs[i]);
  napi_value h;
  napi_create_external(env, a, finalize, NULL, &h);
  int err = pthread_create(&a->tid, NULL, run, a);
  if (err) return throw_errno(env, err, "pthread_create");    /* the handle's finalizer frees it */
  a->started = 1;
  atomic_fetch_add(&live_threads, 1);
  napi_add_env_cleanup_hook(env, teardown, a);
  return h;
}

/* aheadStop(handle): the thread stops (its current block finishes) and is joined. Again: nothing. */
static napi_value js_stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *p = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_external(env, argv[0], &p) != napi_ok || !p) { napi_throw_type_error(env, NULL, "aheadStop: a handle from aheadStart"); return NULL; }
  stop(p);
  return NULL;
}

/* aheadWake(handle, last): sums came for blocks the reader's thread marked FREE (or STALE): the thread walks
 * again; last: no more come, it ends after that walk. On an ended thread: nothing. */
static napi_value js_wake(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  void *p = NULL;
  bool last = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || napi_get_value_external(env, argv[0], &p) != napi_ok || !p || napi_get_value_bool(env, argv[1], &last) != napi_ok) {
    napi_throw_type_error(env, NULL, "aheadWake: a handle from aheadStart, last (boolean)");
    return NULL;
  }
  ahead_t *a = p;
  if (a->started) wake(a, last);
  return NULL;
}

/* A read's first check of lone pages (verify.ts readInto, thread or none): pages [pfn, pfn + count) of flags,
 * copied from byte in_page of the first into dst (bytes), each unverified one checked against its own sum in
 * csum -- unless the thread's verdict on its block (state, when it ran) is GOOD -- in one pass over the copy.
 * The reader's share of the verdict words as ahead.ts checkedAhead: a FREE block is TAKEN, a BUSY one's next.
 * Returns count (all readable, the unverified ones verified now), g < count (page g failed: *bad its crc, the
 * pages before it verified, none after), -1 (not done here: no page unverified, or a run's page, a bad one, a
 * partial unverified page, too many), or -errno (the pread failed; nothing marked). */
#define LONE_MAX 1024              /* ranges of one call, on the stack (16 KiB); more: the JS path */
static int64_t lone_read(int fd, size_t ps, uint8_t *flags, const uint8_t *back, const uint32_t *csum, uint32_t bits,
    _Atomic int32_t *state, size_t blocks, size_t pfn, size_t count, size_t in_page, uint8_t *dst, size_t bytes, uint32_t *bad) {
  uint8_t unverified = (uint8_t)bits, bad_bit = (uint8_t)(bits >> 8), dirty = (uint8_t)(bits >> 16);
  size_t skip = in_page ? ps - in_page : 0, from = pfn + (in_page ? 1 : 0), end = from + (bytes - (bytes < skip ? bytes : skip)) / ps;
  uint32_t o[LONE_MAX], l[LONE_MAX], e[LONE_MAX], at[LONE_MAX];
  int32_t n = 0;
  int64_t good_block = -1, asked = -1;
  int unchecked = 0;
  for (size_t q = pfn; q < pfn + count; q++) {
    uint8_t f = flags[q];
    if (f & bad_bit) return -1;
    if (!(f & unverified)) continue;
    if (back[q] != 0 || (f & dirty) || n == LONE_MAX) return -1;            /* a run's page, or one forgotten since */
    unchecked = 1;
    size_t b = q / BLOCK_PAGES;
    if (state && b < blocks && (int64_t)b != asked) {                       /* one question per block */
      int32_t v = atomic_load(&state[b]), free_ = FREE;
      asked = (int64_t)b;
      if (v == GOOD) good_block = (int64_t)b;
      else if (v == FREE) atomic_compare_exchange_strong(&state[b], &free_, TAKEN);
      else if (v == BUSY && b + 1 < blocks) atomic_compare_exchange_strong(&state[b + 1], &free_, TAKEN);
    }
    if ((int64_t)b == good_block) continue;                                 /* vouched for: marked below */
    if (q < from || q >= end) return -1;                                    /* not wholly copied */
    o[n] = (uint32_t)(skip + (q - from) * ps); l[n] = (uint32_t)ps; e[n] = csum[q]; at[n++] = (uint32_t)(q - pfn);
  }
  if (!unchecked) return -1;                                                /* nothing to check: the caller's plain copy */
  int32_t good = n;
  int err = crc32c_read_check(fd, (off_t)(pfn * ps + in_page), dst, bytes, o, l, e, n, &good, NULL);
  if (err) return -(int64_t)err;
  size_t stop = good < n ? pfn + at[good] : pfn + count;
  if (good < n) *bad = crc32c_raw(dst + o[good], ps);
  for (size_t q = pfn; q < stop; q++) flags[q] &= (uint8_t)~unverified;   /* checked, or vouched for */
  return good < n ? (int64_t)at[good] : (int64_t)count;
}

/* aheadReadLone(fd, pageSize, flags, back, csum (Uint32Array), bits, state (Int32Array: the thread's verdicts, or
 * empty), pfn, count, inPage, target, at, bytes, bad (Uint32Array(1))) -> lone_read's answer. */
static napi_value js_read_lone(napi_env env, napi_callback_info info) {
  size_t argc = 14;
  napi_value argv[14];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *flags, *back, *csum, *state, *tgt, *bad;
  size_t n_flags = 0, n_back = 0, n_csum = 0, n_state = 0, n_tgt = 0, n_bad = 0;
  int32_t fd = -1, ps = 0, bits = 0;
  int64_t pfn = 0, count = 0, in_page = 0, at = 0, bytes = 0;
  if (argc < 14 || !pram_typed(env, argv[2], napi_uint8_array, &flags, &n_flags) || !pram_typed(env, argv[3], napi_uint8_array, &back, &n_back)
      || !pram_typed(env, argv[4], napi_uint32_array, &csum, &n_csum) || !pram_typed(env, argv[6], napi_int32_array, &state, &n_state)
      || !pram_typed(env, argv[10], napi_uint8_array, &tgt, &n_tgt) || !pram_typed(env, argv[13], napi_uint32_array, &bad, &n_bad) || n_bad < 1) {
    napi_throw_type_error(env, NULL, "aheadReadLone: fd, pageSize, flags, back (Uint8Array), csum (Uint32Array), bits, state (Int32Array), pfn, count, inPage, target (Uint8Array), at, bytes, bad (Uint32Array)");
    return NULL;
  }
  if (!get_i32(env, argv[0], &fd, "fd") || !get_i32(env, argv[1], &ps, "pageSize") || !get_i32(env, argv[5], &bits, "bits")
      || !get_i64(env, argv[7], &pfn, "pfn") || !get_i64(env, argv[8], &count, "count") || !get_i64(env, argv[9], &in_page, "inPage")
      || !get_i64(env, argv[11], &at, "at") || !get_i64(env, argv[12], &bytes, "bytes")) return NULL;
  if (fd < 0 || ps < 4096 || (ps & (ps - 1)) || n_back < n_flags || n_csum < n_flags || pfn < 0 || count < 1 || (size_t)(pfn + count) > n_flags
      || in_page < 0 || in_page >= ps || at < 0 || bytes < 0 || (size_t)(at + bytes) > n_tgt || in_page + bytes > count * ps) {
    napi_throw_range_error(env, NULL, "aheadReadLone: a descriptor, page, position or length out of range");
    return NULL;
  }
  int64_t r = lone_read(fd, (size_t)ps, flags, back, csum, (uint32_t)bits, n_state ? state : NULL, n_state, (size_t)pfn, (size_t)count,
    (size_t)in_page, (uint8_t *)tgt + at, (size_t)bytes, bad);
  napi_value v;
  napi_create_int64(env, r, &v);
  return v;
}

/* aheadThreads(): verifying threads running (not yet joined) in this process. */
static napi_value js_threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_create_int32(env, atomic_load(&live_threads), &v);
  return v;
}

void ahead_init(napi_env env, napi_value exports) {
  set_fn(env, exports, "aheadStart", js_start);
  set_fn(env, exports, "aheadStop", js_stop);
  set_fn(env, exports, "aheadWake", js_wake);
  set_fn(env, exports, "aheadReadLone", js_read_lone);
  set_fn(env, exports, "aheadThreads", js_threads);
}
