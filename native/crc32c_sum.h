/* crc32c sums over memory (crc32c_sum.c): the kernels the addon's threads and calls share. */
#ifndef PRAM_CRC32C_SUM_H
#define PRAM_CRC32C_SUM_H
#include <stddef.h>
#include <stdint.h>

/* Picks the code for this CPU and computes its tables and constants; once, before any sum. */
void crc32c_setup(void);
/* Which code sums: "fold+crc32", "fold", "crc32" or "table". */
const char *crc32c_impl_name(void);
/* crc32c(0, p[0..n)). */
uint32_t crc32c_raw(const uint8_t *p, size_t n);
/* r[k] = crc32c of b[o[k], o[k] + l[k]) for k in [i, end). */
void crc32c_sum_ranges(const uint8_t *b, const uint32_t *o, const uint32_t *l, int32_t i, int32_t end, uint32_t *r);
/* Checks ranges [i, end) of b against e: the first whose crc32c differs (its crc in *bad), or end. */
int32_t crc32c_check_ranges(const uint8_t *b, const uint32_t *o, const uint32_t *l, const uint32_t *e, int32_t i, int32_t end, uint32_t *bad);
/* crc32c_copy.c's constants; after crc32c_setup, once (crc32c.c's init). */
void crc32c_copy_setup(void);
/* Copies src[0, len) to dst and sums ranges dst[o[i], + l[i]) of it on the way (each read once from src;
 * src 64-byte aligned where a range starts for the fast way). Without e: out[i] = each sum, returns n. With e:
 * returns the first range whose sum differs from e[i] (its sum in *bad; the copy stops after that range),
 * or n. */
int32_t crc32c_copy_ranges(uint8_t *dst, const uint8_t *src, size_t len, const uint32_t *o, const uint32_t *l, const uint32_t *e, int32_t n, uint32_t *out, uint32_t *bad);

#endif
