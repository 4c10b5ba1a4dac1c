/*
 * Reads of the arena through one read-only mapping of it, page tables filled
 * ahead of the readers. A pread of a tmpfs file pays the kernel's page-cache
 * walk for every 4 KiB page, and a first touch of a mapping pays about as
 * much to fill its page table; once the page table is filled, a copy out of
 * the mapping runs at memory speed, and a page's check is summed on the way
 * (crc32c_copy_ranges), where after a pread it is a second pass. So a thread
 * (below every other thread of the process) fills the page tables of the
 * 2 MiB chunks ahead of the last large read in order with MADV_POPULATE_READ,
 * and a read whose chunks it has not filled yet preads, as before: the thread
 * gains on a reader that preads, and the reader never waits for a fill. 4 GiB
 * of tmpfs read in 1 MiB pieces, AMD EPYC under KVM: pread 100-148 ms a GiB
 * (the destination's offset in its page matters to the kernel's copy), a copy
 * out of the filled mapping 58-63, the same copy with every page summed 59-63.
 * A fill costs 67-110 ms a GiB of freshly written tmpfs pages, but 256 for an
 * arena left idle a while on this VM (whose DAMON runs a pageout scheme over
 * file pages no one maps: presumably that), where a pread stays at 100: so
 * only the thread fills, and its first fills decide whether the mapping is
 * kept at all (judge: given up, every read preads, and a lazy mount's checking
 * thread starts, pram/ahead.ts afterRead).
 * Registered by fd (mapReads, at an arena's open; unmapReads before its
 * close), so crc32c.c's readers find it by the fd they are handed; the
 * registry is changed on the thread of the environment that opened the
 * arena, the only one reading through it. A failed fill (a file cut short:
 * EFAULT) gives the read back to pread, which reports the error; a file cut
 * short after its chunks were filled faults a reader there, as the engine's
 * own segment mappings would: the mount holds the arena's lock, so only a
 * writer ignoring it can cut the file.
 */
#include "napi_util.h"
#include "pram_native.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#define CHUNK (2u << 20)
#define AHEAD_CHUNKS 128           /* 256 MiB of page tables filled ahead of the last read */
#define MAX_MAPS 64
#define SMALL_READ (256u << 10)       /* below: a read never steers the thread (a random read, a log page) */
enum { EMPTY = 0, FILLED = 1 };
enum { JUDGING = 0, KEPT = 1, GAVE_UP = 2 };
/* The thread's first fills decide whether the mapping is worth its page tables: the median of JUDGE_FILLS fills'
 * CPU time against SLOW_FILL_NS. A 2 MiB chunk of freshly written tmpfs filled in 150-270 us here (under the
 * reads that run beside it), one of an arena left idle a while 400-560 us: about 1.5 times its pread, and the
 * reader then preads most of it anyway while the fills slow it from the other core (its first read all took
 * 146-176 ms a GiB after a lazy mount, 107-116 with preads and the checking thread). */
#define JUDGE_FILLS 8
#define SLOW_FILL_NS 350000

typedef struct {
  int fd;
  uint8_t *base;
  size_t len, chunks;
  size_t last_end;                 /* where the last read ended (the readers' thread only) */
  _Atomic uint8_t *state;          /* per chunk: EMPTY or FILLED (by the thread alone) */
  atomic_size_t want;              /* the last large read's last chunk: the thread fills from there */
  atomic_size_t by_thread, preads;   /* chunks filled; reads that found a chunk not filled */
  atomic_int verdict;              /* JUDGING, then KEPT, or GAVE_UP: fills cost too much here, every read preads */
  int64_t judged_ns[JUDGE_FILLS];  /* the first fills' CPU time (the thread's) */
  int64_t slow_ns;                 /* SLOW_FILL_NS, or PRAM_FILL_SLOW_US's (tests: 0 gives up, a large one keeps) */
  atomic_int stop, broken;
  int idle, started;
  pthread_mutex_t lock;
  pthread_cond_t woken;
  pthread_t tid;
} mapread_t;

#define NO_READ ((size_t)-1)         /* want before the first read: the thread waits for one */
static mapread_t *maps[MAX_MAPS];
static atomic_int map_fd[MAX_MAPS] = { [0 ... MAX_MAPS - 1] = -1 };   /* compared without touching maps[] */

/* fd's mapping: other threads ask too (ahead.c's, by fds of their own that are never registered). */
static mapread_t *find(int fd) {
  for (int i = 0; i < MAX_MAPS; i++) if (atomic_load(&map_fd[i]) == fd) return maps[i];
  return NULL;
}

/* Fills chunk c's page table. 0, or errno. */
static int fill(mapread_t *m, size_t c) {
  size_t at = c * (size_t)CHUNK, n = m->len - at < CHUNK ? m->len - at : CHUNK;
  return madvise(m->base + at, n, MADV_POPULATE_READ) ? errno : 0;
}

static int64_t thread_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int by_ns(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* The first JUDGE_FILLS fills' times in: KEPT, or GAVE_UP when their median is past SLOW_FILL_NS. */
static void judge(mapread_t *m, size_t k, int64_t ns) {
  m->judged_ns[k] = ns;
  if (k + 1 < JUDGE_FILLS) return;
  qsort(m->judged_ns, JUDGE_FILLS, sizeof m->judged_ns[0], by_ns);
  atomic_store(&m->verdict, m->judged_ns[JUDGE_FILLS / 2] > m->slow_ns ? GAVE_UP : KEPT);
}

/* The thread fills chunk c: FILLED, or (a failed fill: a file cut short) the arena's reads are preads from now on. */
static void claim(mapread_t *m, size_t c) {
  if (atomic_load(&m->state[c]) != EMPTY) return;
  int64_t t0 = thread_ns();
  if (fill(m, c)) { atomic_store(&m->broken, 1); return; }
  int64_t ns = thread_ns() - t0;
  atomic_store(&m->state[c], FILLED);
  size_t k = atomic_fetch_add(&m->by_thread, 1);
  if (k < JUDGE_FILLS) judge(m, k, ns);
}

static void *run(void *arg) {
  mapread_t *m = arg;
  struct sched_param sp = { 0 };
  pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);   /* the readers' head start, never anyone's wait (a mount's own work first) */
  for (size_t c = 0; !atomic_load(&m->stop);) {
    size_t w = atomic_load(&m->want);
    if (w != NO_READ && (c < w || c > w + AHEAD_CHUNKS)) c = w;   /* a reader got past, or reads elsewhere now */
    if (w != NO_READ && c < m->chunks && c < w + AHEAD_CHUNKS && !atomic_load(&m->broken) && atomic_load(&m->verdict) != GAVE_UP) { claim(m, c++); continue; }
    pthread_mutex_lock(&m->lock);
    m->idle = 1;
    while (!atomic_load(&m->stop) && atomic_load(&m->want) == w) pthread_cond_wait(&m->woken, &m->lock);
    m->idle = 0;
    pthread_mutex_unlock(&m->lock);
  }
  return NULL;
}

/* Only a large read that goes on from the last one steers the thread (a file read in order, whatever else is
 * read between), as readahead does: it fills from this read's last chunk on (the next read goes on in it). */
static void steer(mapread_t *m, size_t pos, size_t len, size_t last) {
  size_t prev = m->last_end;
  m->last_end = pos + len;
  if (len < SMALL_READ || pos + CHUNK < prev || pos > prev + CHUNK || last == atomic_load(&m->want)) return;
  pthread_mutex_lock(&m->lock);
  atomic_store(&m->want, last);
  if (m->idle) pthread_cond_signal(&m->woken);
  pthread_mutex_unlock(&m->lock);
}

/* The read's source bytes [pos, pos + len) of fd's arena when the thread has filled their chunks' page tables,
 * else NULL: fd has no mapping, a fill failed, or the read got there first -- the caller preads them (a read
 * never fills: on some hosts a page's fill costs several times its pread, and the thread gains on a reader
 * that preads). */
const uint8_t *mapread_at(int fd, off_t pos, size_t len) {
  mapread_t *m = find(fd);
  if (!m || pos < 0 || (size_t)pos > m->len || len > m->len - (size_t)pos || atomic_load(&m->broken) || atomic_load(&m->verdict) == GAVE_UP) return NULL;
  if (len == 0) return m->base + pos;
  size_t first = (size_t)pos / CHUNK, last = ((size_t)pos + len - 1) / CHUNK;
  int filled = 1;
  for (size_t c = first; c <= last && filled; c++) filled = atomic_load(&m->state[c]) == FILLED;
  steer(m, (size_t)pos, len, last);
  if (!filled) { atomic_fetch_add(&m->preads, 1); return NULL; }
  return m->base + pos;
}

static void *unmap_later(void *arg) {
  mapread_t *m = arg;
  munmap(m->base, m->len);   /* the page tables of a read arena: ~27 ms a GiB, off the caller's thread */
  free((void *)m->state);
  free(m);
  return NULL;
}

/* Stops m's thread, takes it out of the registry and unmaps it (on a thread of its own when one starts). */
static void drop(mapread_t *m, int wait) {
  for (int i = 0; i < MAX_MAPS; i++) if (maps[i] == m) { atomic_store(&map_fd[i], -1); maps[i] = NULL; }
  if (m->started) {
    pthread_mutex_lock(&m->lock);
    atomic_store(&m->stop, 1);
    pthread_cond_signal(&m->woken);
    pthread_mutex_unlock(&m->lock);
    pthread_join(m->tid, NULL);
  }
  pthread_t tid;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (wait || pthread_create(&tid, &attr, unmap_later, m) != 0) unmap_later(m);
  pthread_attr_destroy(&attr);
}

/* The environment that mapped m ends without unmapReads: its thread stops, the mapping goes now. */
static void teardown(void *arg) {
  drop(arg, 1);
}

/* mapReads(fd, length): reads of fd's [0, length) go through a mapping from now on (true), or stay
 * preads (false: no room in the registry, the mmap or the first page's fill failed). */
static napi_value js_map_reads(napi_env env, napi_callback_info info) {
  napi_value argv[2], r;
  int32_t fd;
  int64_t len;
  if (!get_args(env, info, 2, argv) || !get_i32(env, argv[0], &fd, "fd") || !get_i64(env, argv[1], &len, "length")) return NULL;
  if (fd < 0 || len <= 0) { napi_throw_range_error(env, NULL, "mapReads: fd and length must be positive"); return NULL; }
  int slot = -1;
  for (int i = MAX_MAPS - 1; i >= 0; i--) if (!maps[i]) slot = i;
  mapread_t *m = slot < 0 || find(fd) ? NULL : calloc(1, sizeof *m);
  void *base = m ? mmap(NULL, (size_t)len, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
  if (base == MAP_FAILED) { free(m); return napi_get_boolean(env, false, &r), r; }
  m->fd = fd; m->base = base; m->len = (size_t)len; m->chunks = ((size_t)len + CHUNK - 1) / CHUNK;
  m->state = calloc(m->chunks, 1);
  pthread_mutex_init(&m->lock, NULL);
  pthread_cond_init(&m->woken, NULL);
  /* A page filled: this kernel has MADV_POPULATE_READ (5.14), and the file is as long as said. */
  if (!m->state || madvise(base, (size_t)len < 4096 ? (size_t)len : 4096, MADV_POPULATE_READ)) {
    munmap(base, (size_t)len); free((void *)m->state); free(m); return napi_get_boolean(env, false, &r), r;
  }
  atomic_store(&m->want, NO_READ);
  const char *slow = getenv("PRAM_FILL_SLOW_US");
  m->slow_ns = slow ? strtoll(slow, NULL, 10) * 1000 : SLOW_FILL_NS;
  napi_add_env_cleanup_hook(env, teardown, m);
  maps[slot] = m;
  atomic_store(&map_fd[slot], fd);
  m->started = pthread_create(&m->tid, NULL, run, m) == 0;   /* without it nothing is filled: every read preads */
  return napi_get_boolean(env, true, &r), r;
}

/* unmapReads(fd): fd's reads are preads again; the mapping goes (its page tables freed on a thread). */
static napi_value js_unmap_reads(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], &fd, "fd")) return NULL;
  mapread_t *m = find(fd);
  if (m) { napi_remove_env_cleanup_hook(env, teardown, m); drop(m, 0); }
  return NULL;
}

/* readArenaOrErrno(fd, bytes, at, len, pos): fd's [pos, pos + len) into bytes[at..] through its mapping, or
 * with pread where it has none -> bytes read, or -errno (no exception: a failed read is an answer here). */
static napi_value js_read_arena(napi_env env, napi_callback_info info) {
  napi_value argv[5], r;
  int32_t fd;
  int64_t at, len, pos;
  void *data;
  size_t n;
  if (!get_args(env, info, 5, argv) || !get_i32(env, argv[0], &fd, "fd") || !get_i64(env, argv[2], &at, "at")
      || !get_i64(env, argv[3], &len, "len") || !get_i64(env, argv[4], &pos, "pos")) return NULL;
  if (!pram_typed(env, argv[1], napi_uint8_array, &data, &n)) return type_error(env, "readArenaOrErrno: bytes must be a Uint8Array");
  if (at < 0 || len < 0 || pos < 0 || (uint64_t)at + (uint64_t)len > n) { napi_throw_range_error(env, NULL, "readArenaOrErrno: at, len or pos out of range"); return NULL; }
  const uint8_t *src = mapread_at(fd, (off_t)pos, (size_t)len);
  int64_t got;
  if (src) { memcpy((uint8_t *)data + at, src, (size_t)len); got = len; }
  else { ssize_t k = pread(fd, (uint8_t *)data + at, (size_t)len, (off_t)pos); got = k < 0 ? -errno : k; }
  napi_create_int64(env, got, &r);
  return r;
}

/* mapReadsStats(fd): { chunks, byThread (filled), preads (reads that found a chunk not filled), broken (a fill
 * failed: preads only), verdict ('judging', 'kept', 'gave up') }, or null when fd has no mapping. */
static napi_value js_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1], r, v;
  int32_t fd;
  if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], &fd, "fd")) return NULL;
  mapread_t *m = find(fd);
  if (!m) return napi_get_null(env, &r), r;
  napi_create_object(env, &r);
  napi_create_double(env, (double)m->chunks, &v); napi_set_named_property(env, r, "chunks", v);
  napi_create_double(env, (double)atomic_load(&m->by_thread), &v); napi_set_named_property(env, r, "byThread", v);
  napi_create_double(env, (double)atomic_load(&m->preads), &v); napi_set_named_property(env, r, "preads", v);
  napi_get_boolean(env, atomic_load(&m->broken) != 0, &v); napi_set_named_property(env, r, "broken", v);
  static const char *const verdicts[] = { "judging", "kept", "gave up" };
  napi_create_string_utf8(env, verdicts[atomic_load(&m->verdict)], NAPI_AUTO_LENGTH, &v); napi_set_named_property(env, r, "verdict", v);
  return r;
}

void mapread_init(napi_env env, napi_value exports) {
  static const napi_fn_t fns[] = {
    { "mapReads", js_map_reads }, { "unmapReads", js_unmap_reads }, { "readArenaOrErrno", js_read_arena }, { "mapReadsStats", js_stats },
  };
  set_fns(env, exports, fns);
}
