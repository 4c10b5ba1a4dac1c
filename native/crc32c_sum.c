/*
 * crc32c sums over memory, the fastest way this CPU has: AVX-512 VPCLMULQDQ
 * folding beside three crc32-instruction streams (PRAM_CRC_NO_MIX=1: folding
 * alone; PRAM_CRC_NO_FOLD=1: no folding), else SSE4.2's crc32 instruction in
 * three streams, else a byte table. Linux's convention, like src/format/crc.ts:
 * seed 0 as the raw register, no final inversion. No Node-API here: crc32c.c
 * and ahead.c call these.
 */
#include "crc32c_sum.h"
#include "crc32c_fold.h"

#include <stdlib.h>
#include <string.h>

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
uint64_t crc32c_k_fold[3][2];
int crc32c_have_fold;

/* x^n mod P, bit-reflected (bit 31 is x^0): 1 multiplied by x n times. */
static uint32_t xnmodp(unsigned n) {
  uint32_t a = 0x80000000u;
  while (n--) a = a & 1 ? (a >> 1) ^ 0x82F63B78u : a >> 1;
  return a;
}

static void fold_constants(void) {
  static const unsigned dist[3] = { 256, 64, 16 };
  for (int i = 0; i < 3; i++) { crc32c_k_fold[i][0] = xnmodp(8 * dist[i] + 31); crc32c_k_fold[i][1] = xnmodp(8 * dist[i] - 33); }
}

/* crc32c from seed c of p[0..*done), the longest multiple of 64 bytes in n >= 256: the rest is the caller's. */
__attribute__((target("avx512f,vpclmulqdq,sse4.2,pclmul")))
static uint32_t crc_fold(uint32_t c, const uint8_t *p, size_t n, size_t *done) {
  const __m512i k256 = _mm512_broadcast_i32x4(_mm_set_epi64x((long long)crc32c_k_fold[0][1], (long long)crc32c_k_fold[0][0]));
  const __m512i k64 = _mm512_broadcast_i32x4(_mm_set_epi64x((long long)crc32c_k_fold[1][1], (long long)crc32c_k_fold[1][0]));
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

#define MIX_WORD(q, s) do { uint64_t w_; memcpy(&w_, q, 8); s = _mm_crc32_u64(s, w_); q += 8; } while (0)

/* crc32c from seed c of p[0..m MIX_STEP), 2 <= m <= MIX_STEPS_MAX: the fold over the front, three streams behind it. */
__attribute__((target("avx512f,vpclmulqdq,sse4.2,pclmul")))
static uint32_t crc_mix(uint32_t c, const uint8_t *p, size_t m) {
  const __m512i k256 = _mm512_broadcast_i32x4(_mm_set_epi64x((long long)crc32c_k_fold[0][1], (long long)crc32c_k_fold[0][0]));
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
  const __m512i k64 = _mm512_broadcast_i32x4(_mm_set_epi64x((long long)crc32c_k_fold[1][1], (long long)crc32c_k_fold[1][0]));
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
  if (crc32c_have_fold && n >= FOLD_MIN) {
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

uint32_t crc32c_raw(const uint8_t *p, size_t n) {
#if defined(__x86_64__)
  if (have_sse42) return crc_hw(0, p, n);
#endif
  return crc_table(0, p, n);
}

#if defined(__x86_64__)
/* x^(8 len - 33) mod P (bit-reflected), len >= 5: the constant shift_clmul takes to carry a sum past len bytes. */
uint32_t crc32c_shift_constant(size_t len) {
  uint64_t e = 8 * (uint64_t)len - 33;
  uint32_t r = 0x80000000u, sq = xnmodp(1);   /* r = 1, sq = x^(2^i) */
  for (; e; e >>= 1, sq = mulmodp(sq, sq)) if (e & 1) r = mulmodp(r, sq);
  return r;
}
#endif

/* r[i] = crc32c of b[o[i], o[i] + l[i]) for i in [i, end): three ranges of one length in a row (lone pages) as three streams. */
void crc32c_sum_ranges(const uint8_t *b, const uint32_t *o, const uint32_t *l, int32_t i, int32_t end, uint32_t *r) {
#if defined(__x86_64__)
  if (have_sse42 && !crc32c_have_fold) {   /* folding sums one page faster than three crc32 streams do */
    for (; i + 3 <= end; i += 3) {
      if (l[i] == l[i + 1] && l[i] == l[i + 2] && l[i] <= 3 * BLOCK_SHORT * 8) crc_hw_three(b + o[i], b + o[i + 1], b + o[i + 2], l[i], r + i);
      else { r[i] = crc_hw(0, b + o[i], l[i]); r[i + 1] = crc_hw(0, b + o[i + 1], l[i + 1]); r[i + 2] = crc_hw(0, b + o[i + 2], l[i + 2]); }
    }
  }
#endif
  for (; i < end; i++) r[i] = crc32c_raw(b + o[i], l[i]);
}

/* Checks ranges [i, end) of b against e: returns the first whose crc32c differs (its crc in *bad), or end.
 * With folding, neighbouring ranges (one after another in b, as a read's pages are) are summed as one
 * buffer, the fast way, against their expected sums joined the same way (crc being linear): each
 * range on its own only when the joined sums differ, to find which. */
int32_t crc32c_check_ranges(const uint8_t *b, const uint32_t *o, const uint32_t *l, const uint32_t *e, int32_t i, int32_t end, uint32_t *bad) {
  size_t k_len = 0;
  uint32_t k = 0;
  while (i < end) {
    int32_t j = i + 1;
    while (j < end && o[j] == o[j - 1] + l[j - 1] && l[j] >= 8) j++;
#if defined(__x86_64__)
    if (crc32c_have_fold && j - i > 1) {
      uint32_t want = e[i];
      for (int32_t r = i + 1; r < j; r++) {
        if (l[r] != k_len) { k_len = l[r]; k = crc32c_shift_constant(k_len); }
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

const char *crc32c_impl_name(void) {
  return have_mix ? "fold+crc32" : crc32c_have_fold ? "fold" : have_sse42 ? "crc32" : "table";
}

void crc32c_setup(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
#if defined(__x86_64__)
  __builtin_cpu_init();
  have_sse42 = __builtin_cpu_supports("sse4.2");
  if (have_sse42) shift_tables();
  crc32c_have_fold = have_sse42 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("vpclmulqdq") && __builtin_cpu_supports("pclmul") && !getenv("PRAM_CRC_NO_FOLD");
  if (crc32c_have_fold) fold_constants();
  have_mix = crc32c_have_fold && !getenv("PRAM_CRC_NO_MIX");
  if (have_mix) mix_constants();
#endif
}
