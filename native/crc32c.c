/*
 * crc32c over many buffers at once, on several threads: the verification of a
 * mount (every run of an image) in one call. Linux's convention, like
 * src/format/crc.ts: seed 0 as the raw register, no final inversion. The
 * calling thread takes a share; the others are plain pthreads joined before
 * return, so JS sees a synchronous call and no buffer outlives it.
 * crc32cFile reads the bytes with pread instead of through a mapping.
 * AVX-512 VPCLMULQDQ folding when the CPU has it (PRAM_CRC_NO_FOLD=1 in the
 * environment turns it off, to compare), else SSE4.2's crc32 instruction,
 * else a byte table.
 */
#include <node_api.h>
#include "napi_util.h"
#include "pram_native.h"

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

static uint32_t table[256];
static int have_sse42;

static uint32_t crc_table(uint32_t c, const uint8_t *p, size_t n) {
  while (n--) c = table[(c ^ *p++) & 0xff] ^ (c >> 8);
  return c;
}

#if defined(__x86_64__)
#include <nmmintrin.h>
#include <immintrin.h>
__attribute__((target("sse4.2")))
static uint32_t crc_hw1(uint32_t c, const uint8_t *p, size_t n) {
  uint64_t c64 = c;
  while (n && ((uintptr_t)p & 7)) { c64 = _mm_crc32_u8((uint32_t)c64, *p++); n--; }
  for (; n >= 8; n -= 8, p += 8) { uint64_t w; memcpy(&w, p, 8); c64 = _mm_crc32_u64(c64, w); }
  while (n--) c64 = _mm_crc32_u8((uint32_t)c64, *p++);
  return (uint32_t)c64;
}

/* The crc32 instruction takes 3 cycles and can start one a cycle: three
 * streams over neighbouring blocks run at about three times one stream's
 * speed. With the raw register (no inversion) crc is linear:
 * crc(c, A || B) = shift(crc(c, A), |B|) ^ crc(0, B), where shift(x, n) runs
 * x through n zero bytes; shift_short/shift_long do that by table. */
#define BLOCK_SHORT 256
#define BLOCK_LONG 8192
static uint32_t shift_short[4][256], shift_long[4][256];

static uint32_t shift_by(uint32_t t[4][256], uint32_t c) {
  return t[0][c & 0xff] ^ t[1][(c >> 8) & 0xff] ^ t[2][(c >> 16) & 0xff] ^ t[3][c >> 24];
}

__attribute__((target("sse4.2")))
static void shift_tables(void) {
  static const uint8_t zeros[BLOCK_SHORT];
  for (int k = 0; k < 4; k++)
    for (uint32_t b = 0; b < 256; b++) shift_short[k][b] = crc_hw1(b << (8 * k), zeros, BLOCK_SHORT);
  /* BLOCK_LONG = BLOCK_SHORT << 5: five doublings, each a shift composed with itself. */
  uint32_t a[4][256], d[4][256];
  memcpy(a, shift_short, sizeof a);
  for (int i = 0; i < 5; i++) {
    for (int k = 0; k < 4; k++) for (uint32_t b = 0; b < 256; b++) d[k][b] = shift_by(a, shift_by(a, b << (8 * k)));
    memcpy(a, d, sizeof a);
  }
  memcpy(shift_long, a, sizeof a);
}

__attribute__((target("sse4.2")))
static const uint8_t *crc_hw3(uint64_t *c, const uint8_t *p, size_t *n, size_t block, uint32_t t[4][256]) {
  while (*n >= 3 * block) {
    uint64_t c0 = *c, c1 = 0, c2 = 0;
    for (const uint8_t *end = p + block; p < end; p += 8) {
      uint64_t w0, w1, w2;
      memcpy(&w0, p, 8); memcpy(&w1, p + block, 8); memcpy(&w2, p + 2 * block, 8);
      c0 = _mm_crc32_u64(c0, w0); c1 = _mm_crc32_u64(c1, w1); c2 = _mm_crc32_u64(c2, w2);
    }
    c0 = shift_by(t, (uint32_t)c0) ^ (uint32_t)c1;
    *c = shift_by(t, (uint32_t)c0) ^ (uint32_t)c2;
    p += 2 * block;
    *n -= 3 * block;
  }
  return p;
}

/* Three buffers of one length, each from seed 0, as three streams (lone pages: no join needed). */
__attribute__((target("sse4.2")))
static void crc_hw_three(const uint8_t *a, const uint8_t *b, const uint8_t *d, size_t n, uint32_t *out) {
  uint64_t c0 = 0, c1 = 0, c2 = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w0, w1, w2;
    memcpy(&w0, a + i, 8); memcpy(&w1, b + i, 8); memcpy(&w2, d + i, 8);
    c0 = _mm_crc32_u64(c0, w0); c1 = _mm_crc32_u64(c1, w1); c2 = _mm_crc32_u64(c2, w2);
  }
  out[0] = crc_hw1((uint32_t)c0, a + i, n - i);
  out[1] = crc_hw1((uint32_t)c1, b + i, n - i);
  out[2] = crc_hw1((uint32_t)c2, d + i, n - i);
}

/* ---- AVX-512 VPCLMULQDQ folding (CPUs with vpclmulqdq + avx512f) ----
 * Four 512-bit accumulators hold the message as data (the seed xored into its
 * first 4 bytes, crc being linear); each 128-bit lane is carried D bytes
 * forward by two carry-less multiplies, lo64 * (x^(8D+31) mod P) and
 * hi64 * (x^(8D-33) mod P) (bit-reflected: a 64x32-bit product lands 33
 * places low), and xored into the data there. At the end one lane is left,
 * summed as 16 bytes by the crc32 instruction; the tail by crc_hw. */
#define FOLD_MIN 512
static uint64_t k_fold[3][2];       /* D = 256, 64, 16 bytes: {x^(8D+31), x^(8D-33)} mod P, reflected */
static int have_fold;

/* x^n mod P, bit-reflected (bit 31 is x^0): 1 multiplied by x n times. */
static uint32_t xnmodp(unsigned n) {
  uint32_t a = 0x80000000u;
  while (n--) a = a & 1 ? (a >> 1) ^ 0x82F63B78u : a >> 1;
  return a;
}

static void fold_constants(void) {
  static const unsigned dist[3] = { 256, 64, 16 };
  for (int i = 0; i < 3; i++) { k_fold[i][0] = xnmodp(8 * dist[i] + 31); k_fold[i][1] = xnmodp(8 * dist[i] - 33); }
}

__attribute__((target("avx512f,vpclmulqdq,sse4.2,pclmul")))
static inline __m512i fold512(__m512i x, __m512i k, __m512i data) {
  return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00), _mm512_clmulepi64_epi128(x, k, 0x11), data, 0x96);
}

__attribute__((target("avx512f,vpclmulqdq,sse4.2,pclmul")))
static inline __m128i fold128(__m128i x, __m128i k, __m128i data) {
  return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)), data);
}

/* One 512-bit accumulator folded into one 128-bit lane, summed as 16 bytes by the crc32 instruction. */
__attribute__((target("avx512f,vpclmulqdq,sse4.2,pclmul")))
static inline uint32_t fold_finish(__m512i z) {
  const __m128i k16 = _mm_set_epi64x((long long)k_fold[2][1], (long long)k_fold[2][0]);
  __m128i l = _mm512_extracti32x4_epi32(z, 0);
  l = fold128(l, k16, _mm512_extracti32x4_epi32(z, 1));
  l = fold128(l, k16, _mm512_extracti32x4_epi32(z, 2));
  l = fold128(l, k16, _mm512_extracti32x4_epi32(z, 3));
  uint64_t r = _mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(l));
  return (uint32_t)_mm_crc32_u64(r, (uint64_t)_mm_extract_epi64(l, 1));
}

/* crc32c from seed c of p[0..*done), the longest multiple of 64 bytes in n >= 256: the rest is the caller's. */
__attribute__((target("avx512f,vpclmulqdq,sse4.2,pclmul")))
static uint32_t crc_fold(uint32_t c, const uint8_t *p, size_t n, size_t *done) {
  const __m512i k256 = _mm512_broadcast_i32x4(_mm_set_epi64x((long long)k_fold[0][1], (long long)k_fold[0][0]));
  const __m512i k64 = _mm512_broadcast_i32x4(_mm_set_epi64x((long long)k_fold[1][1], (long long)k_fold[1][0]));
  __m512i z0 = _mm512_loadu_si512(p), z1 = _mm512_loadu_si512(p + 64), z2 = _mm512_loadu_si512(p + 128), z3 = _mm512_loadu_si512(p + 192);
  z0 = _mm512_xor_si512(z0, _mm512_castsi128_si512(_mm_cvtsi32_si128((int)c)));
  size_t i = 256;
  for (; i + 256 <= n; i += 256) {
    z0 = fold512(z0, k256, _mm512_loadu_si512(p + i));
    z1 = fold512(z1, k256, _mm512_loadu_si512(p + i + 64));
    z2 = fold512(z2, k256, _mm512_loadu_si512(p + i + 128));
    z3 = fold512(z3, k256, _mm512_loadu_si512(p + i + 192));
  }
  z1 = fold512(z0, k64, z1);
  z2 = fold512(z1, k64, z2);
  z3 = fold512(z2, k64, z3);
  for (; i + 64 <= n; i += 64) z3 = fold512(z3, k64, _mm512_loadu_si512(p + i));
  *done = i;
  return fold_finish(z3);
}

/* ---- Folding and crc32 streams at once (a long buffer) ----
 * The fold loop is bound by VPCLMULQDQ's throughput (on Zen 5 about one
 * 512-bit multiply in two cycles: more accumulators gain nothing), and the
 * crc32 instruction runs on other ports: one loop folds the front part, V =
 * 256 m bytes, and feeds three crc32 streams over the three parts after it,
 * S = 8 MIX_WORDS m bytes each, MIX_WORDS words per stream per 256 folded.
 * The four sums are joined with crc(c, A || B) = shift(crc(c, A), |B|) ^
 * crc(0, B), where shift(x, n) = crc32_u64(0, clmul(x, x^(8n-33) mod P)):
 * about 1.4 times folding alone. */
#define MIX_WORDS 5
#define MIX_STEP (256 + 3 * 8 * MIX_WORDS)      /* bytes one loop step sums */
#define MIX_MIN (16u << 10)
#define MIX_STEPS_MAX ((256u << 10) / MIX_STEP)   /* a block of at most 256 KiB: longer buffers take several */
static uint32_t k_mix[MIX_STEPS_MAX + 1];        /* [m]: x^(8 S - 33) mod P for S = 8 MIX_WORDS m, reflected */
static int have_mix;

/* a * b mod P, both bit-reflected. */
static uint32_t mulmodp(uint32_t a, uint32_t b) {
  uint32_t p = 0;
  for (uint32_t m = 0x80000000u; m; m >>= 1) {
    if (a & m) p ^= b;
    b = b & 1 ? (b >> 1) ^ 0x82F63B78u : b >> 1;
  }
  return p;
}

static void mix_constants(void) {
  uint32_t step = xnmodp(64 * MIX_WORDS);
  k_mix[1] = xnmodp(64 * MIX_WORDS - 33);
  for (unsigned m = 2; m <= MIX_STEPS_MAX; m++) k_mix[m] = mulmodp(k_mix[m - 1], step);
}

__attribute__((target("avx512f,vpclmulqdq,sse4.2,pclmul")))
static inline uint32_t shift_clmul(uint32_t c, uint32_t k) {
  __m128i r = _mm_clmulepi64_si128(_mm_cvtsi32_si128((int)c), _mm_cvtsi32_si128((int)k), 0x00);
  return (uint32_t)_mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(r));
}

#define MIX_WORD(q, s) do { uint64_t w_; memcpy(&w_, q, 8); s = _mm_crc32_u64(s, w_); q += 8; } while (0)

/* crc32c from seed c of p[0..m MIX_STEP), 2 <= m <= MIX_STEPS_MAX: the fold over the front, three streams behind it. */
__attribute__((target("avx512f,vpclmulqdq,sse4.2,pclmul")))
static uint32_t crc_mix(uint32_t c, const uint8_t *p, size_t m) {
  const __m512i k256 = _mm512_broadcast_i32x4(_mm_set_epi64x((long long)k_fold[0][1], (long long)k_fold[0][0]));
  const size_t v = 256 * m, s = 8 * MIX_WORDS * m;
  const uint8_t *q0 = p + v, *q1 = q0 + s, *q2 = q1 + s;
  uint64_t s0 = 0, s1 = 0, s2 = 0;
  __m512i z0 = _mm512_loadu_si512(p), z1 = _mm512_loadu_si512(p + 64), z2 = _mm512_loadu_si512(p + 128), z3 = _mm512_loadu_si512(p + 192);
  z0 = _mm512_xor_si512(z0, _mm512_castsi128_si512(_mm_cvtsi32_si128((int)c)));
  for (size_t i = 256; i < v; i += 256) {
    z0 = fold512(z0, k256, _mm512_loadu_si512(p + i));
    z1 = fold512(z1, k256, _mm512_loadu_si512(p + i + 64));
    z2 = fold512(z2, k256, _mm512_loadu_si512(p + i + 128));
    z3 = fold512(z3, k256, _mm512_loadu_si512(p + i + 192));
    for (int j = 0; j < MIX_WORDS; j++) { MIX_WORD(q0, s0); MIX_WORD(q1, s1); MIX_WORD(q2, s2); }
  }
  for (int j = 0; j < MIX_WORDS; j++) { MIX_WORD(q0, s0); MIX_WORD(q1, s1); MIX_WORD(q2, s2); }
  const __m512i k64 = _mm512_broadcast_i32x4(_mm_set_epi64x((long long)k_fold[1][1], (long long)k_fold[1][0]));
  z1 = fold512(z0, k64, z1);
  z2 = fold512(z1, k64, z2);
  uint32_t a = fold_finish(fold512(z2, k64, z3));
  a = shift_clmul(a, k_mix[m]) ^ (uint32_t)s0;
  a = shift_clmul(a, k_mix[m]) ^ (uint32_t)s1;
  return shift_clmul(a, k_mix[m]) ^ (uint32_t)s2;
}

__attribute__((target("sse4.2")))
static uint32_t crc_hw(uint32_t c, const uint8_t *p, size_t n) {
  while (have_mix && n >= MIX_MIN) {
    size_t m = n / MIX_STEP < MIX_STEPS_MAX ? n / MIX_STEP : MIX_STEPS_MAX;
    c = crc_mix(c, p, m);
    p += m * MIX_STEP; n -= m * MIX_STEP;
  }
  if (have_fold && n >= FOLD_MIN) {
    size_t done;
    c = crc_fold(c, p, n, &done);
    p += done; n -= done;
  }
  uint64_t c64 = c;
  while (n && ((uintptr_t)p & 7)) { c64 = _mm_crc32_u8((uint32_t)c64, *p++); n--; }
  p = crc_hw3(&c64, p, &n, BLOCK_LONG, shift_long);
  p = crc_hw3(&c64, p, &n, BLOCK_SHORT, shift_short);
  return crc_hw1((uint32_t)c64, p, n);
}
#endif

static uint32_t crc32c_raw(const uint8_t *p, size_t n) {
#if defined(__x86_64__)
  if (have_sse42) return crc_hw(0, p, n);
#endif
  return crc_table(0, p, n);
}

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
    if (proto->fd >= 0 && !(shares[t].buf = malloc(buf_len ? buf_len : 1))) shares[t].err = ENOMEM;
  }
  for (int t = 1; t < threads; t++) started[t] = pthread_create(&tids[t], NULL, run_share, &shares[t]) == 0;
  run_share(&shares[0]);
  for (int t = 1; t < threads; t++) {
    if (started[t]) pthread_join(tids[t], NULL);
    else run_share(&shares[t]);     /* no thread: do its share here */
  }
  for (int t = 0; t < threads; t++) { if (!err) err = shares[t].err; free(shares[t].buf); }
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

int pram_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  bool is = false;
  napi_typedarray_type tt;
  napi_is_typedarray(env, v, &is);
  if (!is) return 0;
  napi_get_typedarray_info(env, v, &tt, len, data, NULL, NULL);
  return tt == want;
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

/* r[i] = crc32c of b[o[i], o[i] + l[i]) for i in [i, end): three ranges of one length in a row (lone pages) as three streams. */
static void sum_ranges(const uint8_t *b, const uint32_t *o, const uint32_t *l, int32_t i, int32_t end, uint32_t *r) {
#if defined(__x86_64__)
  if (have_sse42 && !have_fold) {   /* folding sums one page faster than three crc32 streams do */
    for (; i + 3 <= end; i += 3) {
      if (l[i] == l[i + 1] && l[i] == l[i + 2] && l[i] <= 3 * BLOCK_SHORT * 8) crc_hw_three(b + o[i], b + o[i + 1], b + o[i + 2], l[i], r + i);
      else { r[i] = crc_hw(0, b + o[i], l[i]); r[i + 1] = crc_hw(0, b + o[i + 1], l[i + 1]); r[i + 2] = crc_hw(0, b + o[i + 2], l[i + 2]); }
    }
  }
#endif
  for (; i < end; i++) r[i] = crc32c_raw(b + o[i], l[i]);
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
  sum_ranges(b, o, l, 0, n, out);
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
 * Chunks of 512 KiB: with folding, fewer preads
 * cost less than 256 KiB's fit to L2 gained (1 GiB read in 1 MiB reads:
 * 124-130 ms CPU against 130-149; 64 KiB: 148-169). */
#define READ_CHUNK (512u << 10)

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

#if defined(__x86_64__)
/* x^(8 len - 33) mod P (bit-reflected), len >= 5: the constant shift_clmul takes to carry a sum past len bytes. */
static uint32_t shift_constant(size_t len) {
  uint64_t e = 8 * (uint64_t)len - 33;
  uint32_t r = 0x80000000u, sq = xnmodp(1);   /* r = 1, sq = x^(2^i) */
  for (; e; e >>= 1, sq = mulmodp(sq, sq)) if (e & 1) r = mulmodp(r, sq);
  return r;
}
#endif

/* Checks ranges [i, end) of b against e: returns the first whose crc32c differs (its crc in *bad), or end.
 * With folding, neighbouring ranges (one after another in b, as a read's pages are) are summed as one
 * buffer, the fast way, against their expected sums joined the same way (crc being linear): each
 * range on its own only when the joined sums differ, to find which. */
static int32_t check_ranges(const uint8_t *b, const uint32_t *o, const uint32_t *l, const uint32_t *e, int32_t i, int32_t end, uint32_t *bad) {
  size_t k_len = 0;
  uint32_t k = 0;
  while (i < end) {
    int32_t j = i + 1;
    while (j < end && o[j] == o[j - 1] + l[j - 1] && l[j] >= 8) j++;
#if defined(__x86_64__)
    if (have_fold && j - i > 1) {
      uint32_t want = e[i];
      for (int32_t r = i + 1; r < j; r++) {
        if (l[r] != k_len) { k_len = l[r]; k = shift_constant(k_len); }
        want = shift_clmul(want, k) ^ e[r];
      }
      if (crc_hw(0, b + o[i], (size_t)o[j - 1] + l[j - 1] - o[i]) == want) { i = j; continue; }
    }
#endif
    for (; i < j; i++) {
      uint32_t c = crc32c_raw(b + o[i], l[i]);
      if (c != e[i]) { *bad = c; return i; }
    }
  }
  return end;
}

/* The read of crc32cReadInto / crc32cReadCheck: a chunk at a time, then the ranges that end in it
 * (in order, as a read's runs are), their bytes summed hot in cache. Returns errno, or 0. */
static int read_ranges(read_args_t *a, int32_t *good, uint32_t *bad) {
  int32_t i = 0, n = a->n;
  *good = n;
  for (size_t done = 0; done < (size_t)a->len || i < n;) {
    size_t take = (size_t)a->len - done < READ_CHUNK ? (size_t)a->len - done : READ_CHUNK;
    if (a->stop && atomic_load(a->stop)) return ECANCELED;
    int err = take ? read_all(a->fd, a->dst + done, take, (off_t)a->pos + (off_t)done) : 0;
    if (err) return err;
    done += take;
    int32_t k = i;
    while (k < n && (take == 0 || (size_t)a->o[k] + a->l[k] <= done)) k++;
    if (!a->e) sum_ranges(a->dst, a->o, a->l, i, k, a->out);
    else if ((*good = check_ranges(a->dst, a->o, a->l, a->e, i, k, bad)) < k) return 0;
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
  napi_create_string_utf8(env, have_mix ? "fold+crc32" : have_fold ? "fold" : have_sse42 ? "crc32" : "table", NAPI_AUTO_LENGTH, &s);
  return s;
}

void crc32c_init(napi_env env, napi_value exports) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
#if defined(__x86_64__)
  __builtin_cpu_init();
  have_sse42 = __builtin_cpu_supports("sse4.2");
  if (have_sse42) shift_tables();
  have_fold = have_sse42 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("vpclmulqdq") && __builtin_cpu_supports("pclmul") && !getenv("PRAM_CRC_NO_FOLD");
  if (have_fold) fold_constants();
  have_mix = have_fold && !getenv("PRAM_CRC_NO_MIX");
  if (have_mix) mix_constants();
#endif
  napi_value f;
  napi_create_function(env, "crc32cMany", NAPI_AUTO_LENGTH, js_crc32c_many, NULL, &f);
  napi_set_named_property(env, exports, "crc32cMany", f);
  napi_create_function(env, "crc32cFile", NAPI_AUTO_LENGTH, js_crc32c_file, NULL, &f);
  napi_set_named_property(env, exports, "crc32cFile", f);
  napi_create_function(env, "crc32cRanges", NAPI_AUTO_LENGTH, js_crc32c_ranges, NULL, &f);
  napi_set_named_property(env, exports, "crc32cRanges", f);
  napi_create_function(env, "crc32cReadInto", NAPI_AUTO_LENGTH, js_crc32c_read_into, NULL, &f);
  napi_set_named_property(env, exports, "crc32cReadInto", f);
  napi_create_function(env, "crc32cReadCheck", NAPI_AUTO_LENGTH, js_crc32c_read_check, NULL, &f);
  napi_set_named_property(env, exports, "crc32cReadCheck", f);
  napi_create_function(env, "crc32cImpl", NAPI_AUTO_LENGTH, js_crc32c_impl, NULL, &f);
  napi_set_named_property(env, exports, "crc32cImpl", f);
}
