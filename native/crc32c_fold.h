/* The folding primitives crc32c_sum.c and crc32c_copy.c share (x86-64 with AVX-512 VPCLMULQDQ): internal to
 * the crc32c parts, no Node-API. */
#ifndef PRAM_CRC32C_FOLD_H
#define PRAM_CRC32C_FOLD_H
#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__)
#include <immintrin.h>

/* D = 256, 64, 16 bytes: {x^(8D+31), x^(8D-33)} mod P, bit-reflected (crc32c_setup computes them). */
extern uint64_t crc32c_k_fold[3][2];
/* The CPU folds (and PRAM_CRC_NO_FOLD is unset). */
extern int crc32c_have_fold;
/* x^(8 len - 33) mod P (bit-reflected), len >= 5: the constant shift_clmul takes to carry a sum past len bytes. */
uint32_t crc32c_shift_constant(size_t len);

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
  const __m128i k16 = _mm_set_epi64x((long long)crc32c_k_fold[2][1], (long long)crc32c_k_fold[2][0]);
  __m128i l = _mm512_extracti32x4_epi32(z, 0);
  l = fold128(l, k16, _mm512_extracti32x4_epi32(z, 1));
  l = fold128(l, k16, _mm512_extracti32x4_epi32(z, 2));
  l = fold128(l, k16, _mm512_extracti32x4_epi32(z, 3));
  uint64_t r = _mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(l));
  return (uint32_t)_mm_crc32_u64(r, (uint64_t)_mm_extract_epi64(l, 1));
}

/* A sum carried past the bytes whose constant k is (crc32c_shift_constant): crc(A || B) = shift(crc(A), k_|B|) ^ crc(B). */
__attribute__((target("avx512f,vpclmulqdq,sse4.2,pclmul")))
static inline uint32_t shift_clmul(uint32_t c, uint32_t k) {
  __m128i r = _mm_clmulepi64_si128(_mm_cvtsi32_si128((int)c), _mm_cvtsi32_si128((int)k), 0x00);
  return (uint32_t)_mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(r));
}

#endif
#endif
