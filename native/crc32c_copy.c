/*
 * A copy summed on the way (reads through the arena's mapping, mapread.c): the
 * source is read once, its crc32c folded as the copy stores it. No Node-API.
 */
#include "crc32c_sum.h"
#include "crc32c_fold.h"

#include <string.h>

/* Units of 4 KiB, each from a 64-byte-aligned source: the folding loads each
 * unit's lines aligned and the copy stores whole lines of dst, loading the
 * source at dst's offset (those lines are in L1 by then), so neither a split
 * store nor a second pass over memory: a read of the arena checked as it is
 * copied costs what the copy does (4 GiB of tmpfs in 1 MiB reads, populated
 * mapping: 59-63 ms a GiB copied and summed at dst offsets 0, 16 and 48, a
 * plain memcpy 59-63; summed after the copy: ~80). */
#define UNIT 4096
#if defined(__x86_64__)
static uint32_t k_unit;   /* the shift of a sum past one unit */
#endif

void crc32c_copy_setup(void) {
#if defined(__x86_64__)
  if (crc32c_have_fold) k_unit = crc32c_shift_constant(UNIT);
#endif
}

#if defined(__x86_64__)

__attribute__((target("avx512f,vpclmulqdq,sse4.2,pclmul")))
static void copy_units(uint8_t *d, const uint8_t *p, size_t n, uint32_t *out) {
  const __m512i k256 = _mm512_broadcast_i32x4(_mm_set_epi64x((long long)crc32c_k_fold[0][1], (long long)crc32c_k_fold[0][0]));
  const __m512i k64 = _mm512_broadcast_i32x4(_mm_set_epi64x((long long)crc32c_k_fold[1][1], (long long)crc32c_k_fold[1][0]));
  size_t len = n * UNIT, a = (64 - ((uintptr_t)d & 63)) & 63, last = a + ((len - a) & ~(size_t)63);   /* whole lines of d: [a, last) */
  if (a) memcpy(d, p, a);
  for (size_t u = 0; u < n; u++) {
    const uint8_t *s = p + u * UNIT;
    __m512i z[4];
    for (size_t i = 0; i < UNIT; i += 256) {
      for (int j = 0; j < 4; j++) {
        __m512i v = _mm512_load_si512(s + i + 64 * j);
        z[j] = i ? fold512(z[j], k256, v) : v;
        size_t y = u * UNIT + i + 64 * j;
        if (a + y + 64 <= last) _mm512_store_si512(d + a + y, _mm512_loadu_si512(p + a + y));
      }
    }
    out[u] = fold_finish(fold512(fold512(fold512(z[0], k64, z[1]), k64, z[2]), k64, z[3]));
  }
  if (last < len) memcpy(d + last, p + last, len - last);
}
#endif

/* A range copied and summed in one pass: a whole number of units from a 64-byte-aligned source. */
static int fusable(const uint8_t *src, uint32_t len) {
#if defined(__x86_64__)
  return crc32c_have_fold && len && len % UNIT == 0 && ((uintptr_t)src & 63) == 0;
#else
  (void)src; (void)len;
  return 0;
#endif
}

/* crc32c_copy_ranges: see crc32c_sum.h. Ranges out of order take the plain way: copy all, then sum. Neighbouring
 * fusable ranges (a read's lone pages) are copied as one stretch, 64 units a call, each range's sum joined from
 * its units' (a call per page paid dst's unaligned head and tail each time: 75 ms a GiB instead of 60). */
int32_t crc32c_copy_ranges(uint8_t *dst, const uint8_t *src, size_t len, const uint32_t *o, const uint32_t *l, const uint32_t *e, int32_t n, uint32_t *out, uint32_t *bad) {
  for (int32_t i = 1; i < n; i++) {
    if (o[i] < (size_t)o[i - 1] + l[i - 1]) {
      memcpy(dst, src, len);
      if (!e) { crc32c_sum_ranges(dst, o, l, 0, n, out); return n; }
      return crc32c_check_ranges(dst, o, l, e, 0, n, bad);
    }
  }
  size_t at = 0;
  for (int32_t i = 0; i < n;) {
    if (o[i] > at) memcpy(dst + at, src + at, o[i] - at);
    if (!fusable(src + o[i], l[i])) {
      memcpy(dst + o[i], src + o[i], l[i]);
      uint32_t c = crc32c_raw(dst + o[i], l[i]);
      if (!e) out[i] = c;
      else if (c != e[i]) { *bad = c; return i; }
      at = (size_t)o[i] + l[i];
      i++;
      continue;
    }
    int32_t j = i + 1;
    while (j < n && o[j] == o[j - 1] + l[j - 1] && fusable(src + o[j], l[j])) j++;
#if defined(__x86_64__)
    size_t from = o[i], bytes = (size_t)o[j - 1] + l[j - 1] - from, left = l[i] / UNIT;
    uint32_t sums[64], c = 0;
    int first = 1;
    for (size_t done = 0; done < bytes;) {
      size_t units = (bytes - done) / UNIT < 64 ? (bytes - done) / UNIT : 64;
      copy_units(dst + from + done, src + from + done, units, sums);
      done += units * UNIT;
      for (size_t u = 0; u < units; u++) {
        c = first ? sums[u] : shift_clmul(c, k_unit) ^ sums[u];
        first = 0;
        if (--left) continue;
        if (!e) out[i] = c;
        else if (c != e[i]) { *bad = c; return i; }
        if (++i < j) left = l[i] / UNIT;
        first = 1;
      }
    }
#endif
    at = (size_t)o[j - 1] + l[j - 1];
    i = j;
  }
  if (len > at) memcpy(dst + at, src + at, len - at);
  return n;
}

