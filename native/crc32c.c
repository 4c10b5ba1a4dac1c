/*
 * crc32c over many buffers at once, on several threads: the verification of a
 * mount (every run of an image) in one call. Linux's convention, like
 * src/format/crc.ts: seed 0 as the raw register, no final inversion. The
 * calling thread takes a share; the others are plain pthreads joined before
 * return, so JS sees a synchronous call and no buffer outlives it.
 * crc32cFile reads the bytes with pread instead of through a mapping;
 * crc32cReadInto / crc32cReadCheck are one read's copy and its sums. The sums
 * themselves (which instructions, for which CPU) are crc32c_sum.c's.
 */
#include <node_api.h>
#include "napi_util.h"
#include "pram_native.h"
#include "crc32c_sum.h"

#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS_MAX 8

typedef struct { const uint8_t *data; size_t len; } span_t;
/* A share of the list: spans[from..to), or with fd >= 0 the file ranges off[i], len[i] read into buf. */
typedef struct {
  const span_t *spans; uint32_t *out; size_t from, to;
  int fd; const double *off; const uint32_t *len; uint8_t *buf; int err;
} share_t;

/* pread of the whole range: the kernel copies from its page cache, so the
 * pages are never mapped into this process (a first touch of a mapping costs
 * a fault per page, and far more than the copy under some hypervisors). */
static int read_all(int fd, uint8_t *buf, size_t len, off_t off) {
  while (len) {
    ssize_t n = pread(fd, buf, len, off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;
    buf += n; len -= (size_t)n; off += n;
  }
  return 0;
}

/* Where a buffer that pread fills from page-aligned file offsets starts in its page. The kernel's copy
 * (rep movsb) runs at a fraction of its speed when the destination lies 8-24 bytes past the source's
 * offset in a page -- where malloc puts a large block (behind an mmap'd chunk's 16-byte header): 4 GiB of
 * a tmpfs file in 2 MiB preads, copy and crc32c, took 690-700 ms of CPU at page offset 16, 480-490 at 0
 * or 64, 390-410 at 48 or 4080 (crc32c itself 86-90 ms at each; AMD EPYC, KVM). */
#define COPY_PAGE_OFFSET 48u

void *copy_buffer_alloc(size_t len) {
  uint8_t *block = malloc(len + 4096 + sizeof block);
  if (!block) return NULL;
  uint8_t *p = block + sizeof block;                /* room for block's address just before the buffer */
  p += (COPY_PAGE_OFFSET + 4096 - (uintptr_t)p % 4096) % 4096;
  ((uint8_t **)p)[-1] = block;
  return p;
}

void copy_buffer_free(void *p) {
  if (p) free(((uint8_t **)p)[-1]);
}

/* Bytes one pread may cover: neighbouring ranges (a file's pages, one after
 * another in the arena) are read together, each still checked on its own. */
#define READ_BYTES_MAX (1u << 20)

static void *run_share(void *arg) {
  share_t *s = arg;
  size_t i = s->from;
  while (i < s->to && !s->err) {
    if (s->fd < 0) { s->out[i] = crc32c_raw(s->spans[i].data, s->spans[i].len); i++; continue; }
    size_t end = i + 1, bytes = s->len[i];
    while (end < s->to && s->off[end] == s->off[end - 1] + s->len[end - 1] && bytes + s->len[end] <= READ_BYTES_MAX) bytes += s->len[end++];
    s->err = read_all(s->fd, s->buf, bytes, (off_t)s->off[i]);
    for (size_t at = 0; !s->err && i < end; at += s->len[i], i++) s->out[i] = crc32c_raw(s->buf + at, s->len[i]);
  }
  return NULL;
}

/* Splits n items (sizes[i] bytes, total) into `threads` shares of about equal bytes, in list order, and runs them. */
static int run_shares(share_t *proto, size_t n, const size_t *sizes, size_t total, int threads, size_t buf_len) {
  share_t shares[THREADS_MAX];
  pthread_t tids[THREADS_MAX];
  int started[THREADS_MAX] = {0};
  size_t at = 0, acc = 0;
  int err = 0;
  for (int t = 0; t < threads; t++) {
    size_t goal = total / threads * (t + 1);
    shares[t] = *proto;
    shares[t].from = at;
    while (at < n && (t == threads - 1 || acc < goal)) acc += sizes[at++];
    shares[t].to = at;
    shares[t].buf = NULL;
    if (proto->fd >= 0 && !(shares[t].buf = copy_buffer_alloc(buf_len ? buf_len : 1))) shares[t].err = ENOMEM;
  }
  for (int t = 1; t < threads; t++) started[t] = pthread_create(&tids[t], NULL, run_share, &shares[t]) == 0;
  run_share(&shares[0]);
  for (int t = 1; t < threads; t++) {
    if (started[t]) pthread_join(tids[t], NULL);
    else run_share(&shares[t]);     /* no thread: do its share here */
  }
  for (int t = 0; t < threads; t++) { if (!err) err = shares[t].err; copy_buffer_free(shares[t].buf); }
  return err;
}

/* crc32cMany(buffers: Uint8Array[], out: Uint32Array, threads: number): out[i] = crc32c(buffers[i]). */
static napi_value js_crc32c_many(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint32_t n = 0;
  bool is_array = false;
  napi_typedarray_type tt;
  size_t out_len = 0;
  void *out = NULL;
  bool is_typed = false;
  int32_t threads = 1;
  napi_is_array(env, argv[0], &is_array);
  if (argc < 3 || !is_array) { napi_throw_type_error(env, NULL, "crc32cMany: buffers must be an array"); return NULL; }
  napi_get_array_length(env, argv[0], &n);
  napi_is_typedarray(env, argv[1], &is_typed);
  if (is_typed) napi_get_typedarray_info(env, argv[1], &tt, &out_len, &out, NULL, NULL);
  if (!is_typed || tt != napi_uint32_array || out_len < n) { napi_throw_type_error(env, NULL, "crc32cMany: out must be a Uint32Array as long as buffers"); return NULL; }
  if (!get_i32(env, argv[2], &threads, "threads")) return NULL;
  if (threads < 1) threads = 1;
  if (threads > THREADS_MAX) threads = THREADS_MAX;
  span_t *spans = malloc((n ? n : 1) * sizeof *spans);
  if (!spans) return throw_errno(env, ENOMEM, "malloc");
  size_t total = 0;
  for (uint32_t i = 0; i < n; i++) {
    napi_value el;
    bool ok = false;
    napi_get_element(env, argv[0], i, &el);
    napi_is_typedarray(env, el, &ok);
    if (!ok) { free(spans); napi_throw_type_error(env, NULL, "crc32cMany: every buffer must be a Uint8Array"); return NULL; }
    size_t len; void *data;
    napi_get_typedarray_info(env, el, &tt, &len, &data, NULL, NULL);
    if (tt != napi_uint8_array) { free(spans); napi_throw_type_error(env, NULL, "crc32cMany: every buffer must be a Uint8Array"); return NULL; }
    spans[i].data = data; spans[i].len = len;
    total += len;
  }
  size_t *sizes = malloc((n ? n : 1) * sizeof *sizes);
  if (!sizes) { free(spans); return throw_errno(env, ENOMEM, "malloc"); }
  for (uint32_t i = 0; i < n; i++) sizes[i] = spans[i].len;
  share_t proto = { spans, out, 0, 0, -1, NULL, NULL, NULL, 0 };
  run_shares(&proto, n, sizes, total, threads, 0);
  free(sizes);
  free(spans);
  return NULL;
}

/* crc32cFile(fd, offsets: Float64Array, lengths: Uint32Array, out: Uint32Array, threads): out[i] = crc32c of
 * the file's bytes [offsets[i], offsets[i] + lengths[i]), read with pread on up to `threads` threads. */
static napi_value js_crc32c_file(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd = -1, threads = 1;
  void *off, *len, *out;
  size_t n_off = 0, n_len = 0, n_out = 0;
  if (argc < 5 || !get_i32(env, argv[0], &fd, "fd") || !get_i32(env, argv[4], &threads, "threads")) {
    if (argc < 5) napi_throw_type_error(env, NULL, "crc32cFile: 5 arguments");
    return NULL;
  }
  if (!pram_typed(env, argv[1], napi_float64_array, &off, &n_off) || !pram_typed(env, argv[2], napi_uint32_array, &len, &n_len)
      || !pram_typed(env, argv[3], napi_uint32_array, &out, &n_out) || n_len < n_off || n_out < n_off || fd < 0) {
    napi_throw_type_error(env, NULL, "crc32cFile: fd, offsets (Float64Array), lengths and out (Uint32Array, as long)");
    return NULL;
  }
  if (threads < 1) threads = 1;
  if (threads > THREADS_MAX) threads = THREADS_MAX;
  size_t *sizes = malloc((n_off ? n_off : 1) * sizeof *sizes), total = 0, most = 0;
  if (!sizes) return throw_errno(env, ENOMEM, "malloc");
  for (size_t i = 0; i < n_off; i++) {
    sizes[i] = ((uint32_t *)len)[i];
    total += sizes[i];
    if (sizes[i] > most) most = sizes[i];
  }
  share_t proto = { NULL, out, 0, 0, fd, off, len, NULL, 0 };
  int err = run_shares(&proto, n_off, sizes, total, threads, most > READ_BYTES_MAX ? most : READ_BYTES_MAX);
  free(sizes);
  if (err) return throw_errno(env, err, "pread");
  return NULL;
}

/* out[i] = crc32c of buf[off[i], off[i] + len[i]) for i < n: the pages and runs
 * of one read's copy, in one call with no view per page. Three ranges of one
 * length in a row (lone pages) are done as three streams. */
static napi_value js_crc32c_ranges(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *buf, *off, *len, *out;
  size_t n_buf = 0, n_off = 0, n_len = 0, n_out = 0;
  int32_t n = 0;
  if (argc < 5 || !pram_typed(env, argv[0], napi_uint8_array, &buf, &n_buf) || !pram_typed(env, argv[1], napi_uint32_array, &off, &n_off)
      || !pram_typed(env, argv[2], napi_uint32_array, &len, &n_len) || !pram_typed(env, argv[4], napi_uint32_array, &out, &n_out)) {
    napi_throw_type_error(env, NULL, "crc32cRanges: buf (Uint8Array), offsets, lengths (Uint32Array), n, out (Uint32Array)");
    return NULL;
  }
  if (!get_i32(env, argv[3], &n, "n")) return NULL;
  if (n < 0 || (size_t)n > n_off || (size_t)n > n_len || (size_t)n > n_out) { napi_throw_range_error(env, NULL, "crc32cRanges: n past the arrays"); return NULL; }
  const uint8_t *b = buf;
  const uint32_t *o = off, *l = len;
  for (int32_t i = 0; i < n; i++) {
    if ((size_t)o[i] + l[i] > n_buf) { napi_throw_range_error(env, NULL, "crc32cRanges: a range past the buffer"); return NULL; }
  }
  crc32c_sum_ranges(b, o, l, 0, n, out);
  return NULL;
}

/* ---- crc32cReadInto: one read's copy and its checksums in one call ----
 * On the calling thread: the sums follow the copy while its bytes are still in
 * cache. (A parked helper thread summing each range as the copy went on was
 * tried: on this shared 2-core machine under load it made reads slower, the
 * caller waiting for a helper the scheduler had not run; see the branch
 * history, commit "crc32cReadInto: the helper claims 8 ranges". A thread
 * verifying ahead of sequential reads, never waited for, was tried too:
 * reading 1 GiB after a lazy mount took 230-250 ms with it against 150-170
 * without, both threads with a core each (chrt -f); branch readahead-thread.)
 * Chunks of 1 MiB, this EPYC's L2 per core: a read of 1 MiB is one pread
 * (pread and crc32c of 1 GiB of the arena file, one thread: 122-128 ms CPU
 * in 1 MiB chunks, 130-134 in 512 KiB, 136-142 in 256 KiB; 2 MiB: 122-134).
 * Reading 1 GiB in 1 MiB reads after a lazy mount, every page checked by
 * the reader (PRAM_VERIFY_AHEAD=0, chrt -f 2): 141 ms against 148 with 512
 * KiB (median of 5; a full mount's reads 117); the checking thread, which
 * reads through here too, left a reader 259 blocks of 4 GiB to check instead
 * of 517. (512 KiB had been 124-130 ms CPU against 256 KiB's 130-149; 64 KiB:
 * 148-169.) */
#define READ_CHUNK (1u << 20)

/* The arguments of crc32cReadInto and crc32cReadCheck: fd, pos, target, at, len, offsets, lengths, n, then
 * out (and expected before it for a check). */
typedef struct { int32_t fd, n; int64_t pos, len; uint8_t *dst; const uint32_t *o, *l, *e; uint32_t *out; const atomic_int *stop; } read_args_t;

static int get_read_args(napi_env env, napi_callback_info info, int check, read_args_t *a) {
  const char *name = check ? "crc32cReadCheck" : "crc32cReadInto";
  size_t argc = 10, want = check ? 10 : 9;
  napi_value argv[10];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int64_t at = 0;
  void *tgt, *off, *lens, *exp = NULL, *out;
  size_t n_tgt = 0, n_off = 0, n_len = 0, n_exp = 0, n_out = 0;
  char msg[160];
  if (argc < want || !pram_typed(env, argv[2], napi_uint8_array, &tgt, &n_tgt) || !pram_typed(env, argv[5], napi_uint32_array, &off, &n_off)
      || !pram_typed(env, argv[6], napi_uint32_array, &lens, &n_len) || !pram_typed(env, argv[want - 1], napi_uint32_array, &out, &n_out)
      || (check && !pram_typed(env, argv[8], napi_uint32_array, &exp, &n_exp))) {
    snprintf(msg, sizeof msg, "%s: fd, pos, target (Uint8Array), at, len, offsets, lengths (Uint32Array), n, %sout (Uint32Array)", name, check ? "expected, " : "");
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  if (!get_i32(env, argv[0], &a->fd, "fd") || !get_i32(env, argv[7], &a->n, "n")) return 0;
  if (napi_get_value_int64(env, argv[1], &a->pos) != napi_ok || napi_get_value_int64(env, argv[3], &at) != napi_ok
      || napi_get_value_int64(env, argv[4], &a->len) != napi_ok) {
    snprintf(msg, sizeof msg, "%s: pos, at and len must be numbers", name);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  size_t n = (size_t)a->n;
  if (a->fd < 0 || a->pos < 0 || at < 0 || a->len < 0 || (size_t)at + (size_t)a->len > n_tgt || a->n < 0 || n > n_off || n > n_len
      || n > n_out || (check && n > n_exp)) {
    snprintf(msg, sizeof msg, "%s: a position, length or count out of range", name);
    napi_throw_range_error(env, NULL, msg);
    return 0;
  }
  a->o = off; a->l = lens; a->e = exp; a->out = out; a->dst = (uint8_t *)tgt + at; a->stop = NULL;
  for (size_t i = 0; i < n; i++) {
    if ((size_t)a->o[i] + a->l[i] > (size_t)a->len) {
      snprintf(msg, sizeof msg, "%s: a range past the bytes read", name);
      napi_throw_range_error(env, NULL, msg);
      return 0;
    }
  }
  return 1;
}

/* The read of crc32cReadInto / crc32cReadCheck: a chunk at a time, then the ranges that end in it
 * (in order, as a read's runs are), their bytes summed hot in cache. Returns errno, or 0. */
static int read_ranges(read_args_t *a, int32_t *good, uint32_t *bad) {
  int32_t i = 0, n = a->n;
  const uint8_t *src = mapread_at(a->fd, (off_t)a->pos, (size_t)a->len);
  if (src) {   /* the arena's mapping: each range summed as it is copied */
    *good = crc32c_copy_ranges(a->dst, src, (size_t)a->len, a->o, a->l, a->e, n, a->out, bad);
    if (!a->e) *good = n;
    return 0;
  }
  *good = n;
  for (size_t done = 0; done < (size_t)a->len || i < n;) {
    size_t take = (size_t)a->len - done < READ_CHUNK ? (size_t)a->len - done : READ_CHUNK;
    if (a->stop && atomic_load(a->stop)) return ECANCELED;
    int err = take ? read_all(a->fd, a->dst + done, take, (off_t)a->pos + (off_t)done) : 0;
    if (err) return err;
    done += take;
    int32_t k = i;
    while (k < n && (take == 0 || (size_t)a->o[k] + a->l[k] <= done)) k++;
    if (!a->e) crc32c_sum_ranges(a->dst, a->o, a->l, i, k, a->out);
    else if ((*good = crc32c_check_ranges(a->dst, a->o, a->l, a->e, i, k, bad)) < k) return 0;
    else *good = n;
    i = k;
  }
  return 0;
}

int crc32c_read_check(int fd, off_t pos, uint8_t *dst, size_t len, const uint32_t *o, const uint32_t *l, const uint32_t *e, int32_t n, int32_t *good, const atomic_int *stop) {
  read_args_t a = { fd, n, pos, (int64_t)len, dst, o, l, e, NULL, stop };
  uint32_t bad;
  return read_ranges(&a, good, &bad);
}

/* crc32cReadInto(fd, pos, target, at, len, offsets, lengths, n, out): pread fd's [pos, pos + len) into
 * target[at..], and out[i] = crc32c of target[at + offsets[i], + lengths[i]) for i < n. Throws the
 * pread's errno (EIO when the file ends first). */
static napi_value js_crc32c_read_into(napi_env env, napi_callback_info info) {
  read_args_t a;
  int32_t good;
  uint32_t bad;
  if (!get_read_args(env, info, 0, &a)) return NULL;
  int err = read_ranges(&a, &good, &bad);
  return err ? throw_errno(env, err, "pread") : NULL;
}

/* crc32cReadCheck(fd, pos, target, at, len, offsets, lengths, n, expected, out): the copy of
 * crc32cReadInto, each range checked against expected[i] (ranges in order, none overlapping). Returns
 * how many ranges from the first match, g; out[i] = expected[i] for i < g, and out[g] = the crc32c of
 * range g when g < n (the copy may stop after it). Throws as crc32cReadInto. */
static napi_value js_crc32c_read_check(napi_env env, napi_callback_info info) {
  read_args_t a;
  int32_t good;
  uint32_t bad = 0;
  if (!get_read_args(env, info, 1, &a)) return NULL;
  for (int32_t i = 1; i < a.n; i++) {
    if (a.o[i] < a.o[i - 1] + a.l[i - 1]) { napi_throw_range_error(env, NULL, "crc32cReadCheck: ranges out of order or overlapping"); return NULL; }
  }
  int err = read_ranges(&a, &good, &bad);
  if (err) return throw_errno(env, err, "pread");
  memcpy(a.out, a.e, (size_t)good * sizeof *a.out);
  if (good < a.n) a.out[good] = bad;
  napi_value v;
  napi_create_int32(env, good, &v);
  return v;
}

/* crc32cImpl(): which code sums ("fold": AVX-512 VPCLMULQDQ, "crc32": SSE4.2 streams, "table"). */
static napi_value js_crc32c_impl(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value s;
  napi_create_string_utf8(env, crc32c_impl_name(), NAPI_AUTO_LENGTH, &s);
  return s;
}

void crc32c_init(napi_env env, napi_value exports) {
  crc32c_setup();
  crc32c_copy_setup();
  static const napi_fn_t fns[] = {
    { "crc32cMany", js_crc32c_many }, { "crc32cFile", js_crc32c_file }, { "crc32cRanges", js_crc32c_ranges },
    { "crc32cReadInto", js_crc32c_read_into }, { "crc32cReadCheck", js_crc32c_read_check }, { "crc32cImpl", js_crc32c_impl },
  };
  set_fns(env, exports, fns);
}
