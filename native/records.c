/*
 * A v3 record stream's framing and fields, read in C (docs/FORMAT.md §v3): a lazy mount frames and checks its
 * tail (10^4 records) and each group it loads (up to 10^5), and reads a few fields of each tail record to decide
 * which group it waits for. In JS those were loops over every record that V8 compiled (TurboFan, on a background
 * thread) while the mount ran: 10-25 ms of compile competing with a 20 ms mount on 2 cores. The rules are the JS
 * decoders' (src/format/v3.ts decodeInodeAt, decodeNameAt, decodeMapInto, decodePayload's DROP and UNMAP,
 * v3-span.ts decodeSpanInto and spanCrc): src/pram/tailrecords.test.ts and frames.test.ts hold them equal.
 * Every byte read is an arena's, untrusted: each offset and length is checked against the buffer before use.
 */
#include <node_api.h>
#include "napi_util.h"
#include "pram_native.h"
#include "crc32c_sum.h"

#include <stdint.h>
#include <string.h>

#define RECORD_HEADER 16u
#define RECORD_PAYLOAD_MAX (4u << 20)
enum { T_INODE = 1, T_DROP = 2, T_NAME = 3, T_MAP = 4, T_UNMAP = 5, T_SPAN = 6 };
#define INODE_FIXED 80u
#define NAME_FIXED 24u
#define MAP_SIZE 40u
#define UNMAP_SIZE 24u
#define DROP_SIZE 8u
#define SPAN_FIXED 40u
#define SPAN_CRCS_CRC_AT 32u
#define SPAN_BLOCK 4096u
#define GROUP_PAGES 32u
/* A u64's high word at most this: the value is under 2^53 (v3-base.ts u64 gives a number, not null). */
#define HI_MAX 0x1fffffu

/* Little-endian reads at any alignment (the caller checked p[0..n) lies in the buffer). */
static inline uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static inline uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static inline uint32_t align8(uint32_t n) { return (n + 7) & ~7u; }
static inline double u64_of(uint32_t hi, uint32_t lo) { return hi == 0 ? (double)lo : (double)hi * 4294967296.0 + (double)lo; }

/*
 * The records of b[0, len) framed: each header whole, its length at most RECORD_PAYLOAD_MAX, its padded payload within
 * b, its generation `log_id` when log_id >= 0. Their first bytes into offs while cap lasts; how many, or -1.
 */
static int64_t frames_of(const uint8_t *b, size_t len, int64_t log_id, uint32_t *offs, size_t cap) {
  int64_t n = 0;
  for (size_t at = 0; at < len;) {
    if (len - at < RECORD_HEADER) return -1;
    uint32_t length = le32(b + at + 8);
    if (length > RECORD_PAYLOAD_MAX) return -1;
    size_t total = RECORD_HEADER + align8(length);
    if (len - at < total || (log_id >= 0 && le32(b + at + 12) != (uint32_t)log_id)) return -1;
    if ((size_t)n < cap) offs[n] = (uint32_t)at;
    n++;
    at += total;
  }
  return n;
}

/*
 * The crcs of the framed record at b[at] (its bytes within b: frames_of): a record's covers bytes 4 to its padded end;
 * a SPAN's (payload of SPAN_FIXED bytes at least) covers bytes 4..55 and then the padding after its page crcs, and its
 * page crcs have a crc of their own, at payload byte SPAN_CRCS_CRC_AT (v3-span.ts spanCrc, spanCrcsDamage).
 */
static int crcs_check(const uint8_t *b, uint32_t at) {
  uint32_t type = le16(b + at + 4), length = le32(b + at + 8), total = RECORD_HEADER + align8(length);
  const uint8_t *r = b + at;
  if (type != T_SPAN || length < SPAN_FIXED) return crc32c_raw(r + 4, total - 4) == le32(r);
  uint8_t framed[RECORD_HEADER - 4 + SPAN_FIXED + 8];
  uint32_t pad = total - RECORD_HEADER - length;               /* 0..7: the bytes between the page crcs and the next record */
  memcpy(framed, r + 4, RECORD_HEADER - 4 + SPAN_FIXED);
  memcpy(framed + RECORD_HEADER - 4 + SPAN_FIXED, r + RECORD_HEADER + length, pad);
  if (crc32c_raw(framed, RECORD_HEADER - 4 + SPAN_FIXED + pad) != le32(r)) return 0;
  return crc32c_raw(r + RECORD_HEADER + SPAN_FIXED, length - SPAN_FIXED) == le32(r + RECORD_HEADER + SPAN_CRCS_CRC_AT);
}

/*
 * recordFrames(buf, logId, offs) -> n: the records of buf framed (logId >= 0: each of that generation) and every crc
 * checked, their first bytes in offs[0, n). -1: something does not frame or check. -2 - n: they frame but offs holds
 * fewer than n (no crc summed yet: the caller calls again with room).
 */
static napi_value js_record_frames(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *buf, *offs;
  size_t len = 0, cap = 0;
  int64_t log_id;
  if (argc < 3 || !pram_typed(env, argv[0], napi_uint8_array, &buf, &len) || !pram_typed(env, argv[2], napi_uint32_array, &offs, &cap))
    return type_error(env, "recordFrames: buf (Uint8Array), logId, offs (Uint32Array)");
  if (!get_i64(env, argv[1], &log_id, "recordFrames: logId must be an integer")) return NULL;
  if (log_id > UINT32_MAX) return type_error(env, "recordFrames: logId must be -1 or a u32");
  if (len > UINT32_MAX) { napi_throw_range_error(env, NULL, "recordFrames: a buffer of 4 GiB or more"); return NULL; }
  int64_t n = frames_of(buf, len, log_id < 0 ? -1 : log_id, offs, cap);
  if (n > (int64_t)cap) n = -2 - n;
  for (int64_t k = 0; k < n; k++) if (!crcs_check(buf, ((uint32_t *)offs)[k])) { n = -1; break; }
  napi_value v;
  napi_create_int64(env, n, &v);
  return v;
}

/*
 * The length in UTF-8 of p[0, n) once decoded as Buffer's toString('utf8') decodes (the WHATWG decoder): a valid
 * sequence is kept, each maximal part of a sequence that is not valid becomes U+FFFD (3 bytes), the byte that broke
 * it read again as the start of the next.
 */
static uint32_t utf8_decoded_length(const uint8_t *p, uint32_t n) {
  uint32_t out = 0;
  for (uint32_t i = 0; i < n;) {
    uint8_t c = p[i], lo = 0x80, hi = 0xbf;
    uint32_t need;
    if (c < 0x80) { out++; i++; continue; }
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) { need = 2; if (c == 0xe0) lo = 0xa0; if (c == 0xed) hi = 0x9f; }
    else if (c >= 0xf0 && c <= 0xf4) { need = 3; if (c == 0xf0) lo = 0x90; if (c == 0xf4) hi = 0x8f; }
    else { out += 3; i++; continue; }
    uint32_t j = 1;
    for (; j <= need && i + j < n && p[i + j] >= lo && p[i + j] <= hi; j++) { lo = 0x80; hi = 0xbf; }
    if (j > need) out += need + 1;
    else out += 3;
    i += j;
  }
  return out;
}

/* The columns recordFields fills, one slot a record. */
typedef struct { uint16_t *type; double *ino, *x; uint32_t *n, *m; } fields_t;

/* A NAME's bytes a path component (decodeNameAt): none NUL or '/', not '.' or '..'. */
static int name_ok(const uint8_t *s, uint32_t len) {
  if (memchr(s, 0, len) || memchr(s, '/', len)) return 0;
  return !(s[0] == '.' && (len == 1 || (len == 2 && s[1] == '.')));
}

/* Whether any byte of s[0, len) is not ASCII. */
static int any_high(const uint8_t *s, uint32_t len) {
  for (uint32_t i = 0; i < len; i++) if (s[i] & 0x80) return 1;
  return 0;
}

/*
 * Record k's payload q (length bytes, within the buffer) of one of the six kinds checked as its decoder checks it,
 * its fields into f's slot k (v3-peek.ts RecordFields says which): 0 when the decoder refuses it.
 */
static int fields_of(const uint8_t *q, uint32_t type, uint32_t length, fields_t *f, size_t k) {
  if (length < DROP_SIZE || le32(q + 4) > HI_MAX) return 0;
  f->ino[k] = u64_of(le32(q + 4), le32(q));
  switch (type) {
    case T_INODE:
      if (length < INODE_FIXED || le32(q + 28) > HI_MAX || le32(q + 36) > HI_MAX || le32(q + 76) > HI_MAX
          || (uint64_t)INODE_FIXED + le32(q + 64) + le32(q + 68) != length) return 0;
      f->x[k] = le32(q + 8); f->n[k] = le32(q + 64); f->m[k] = le32(q + 68);
      return 1;
    case T_UNMAP:
      return length >= UNMAP_SIZE && le32(q + 12) <= HI_MAX && le32(q + 20) <= HI_MAX;
    case T_NAME: {
      if (length < NAME_FIXED) return 0;
      uint32_t len = le32(q + 16);
      if (le32(q + 12) > HI_MAX || len < 1 || len > 255 || NAME_FIXED + len != length) return 0;
      const uint8_t *s = q + NAME_FIXED;
      if (!name_ok(s, len)) return 0;
      f->x[k] = u64_of(le32(q + 12), le32(q + 8));
      f->n[k] = any_high(s, len) ? utf8_decoded_length(s, len) : len;
      return 1;
    }
    case T_MAP: case T_SPAN: {
      /* Within one group (MAP) or block (SPAN) of `per` pages, a power of 2 dividing 2^32: the index's low word's remainder. */
      uint32_t per = type == T_MAP ? GROUP_PAGES : SPAN_BLOCK;
      if (length < (type == T_MAP ? MAP_SIZE : SPAN_FIXED) || le32(q + 12) > HI_MAX || le32(q + 20) > HI_MAX) return 0;
      uint32_t count = le32(q + 24);
      if (count < 1 || count > per || (le32(q + 8) & (per - 1)) + count > per) return 0;
      if (type == T_SPAN && (length != SPAN_FIXED + 4 * count || le32(q + 36) != 0)) return 0;
      f->x[k] = u64_of(le32(q + 20), le32(q + 16)); f->n[k] = count;
      return 1;
    }
    default: return 1;                                          /* DROP: its ino only */
  }
}

/*
 * recordFields(buf, at, count, type, ino, x, n, m, others) -> the first k whose payload its decoder refuses, or -1: the
 * fields of the records at buf[at[k]] for k < count into the columns (v3-peek.ts RecordFields), slots up to the refused
 * one. others (count + 1 slots): how many records of a kind other than the six (their type only) came before, then
 * their ks (the caller decodes those: a tail's few ATIMES_PAGES, without a JS loop over its thousands of records).
 * Each record's header and payload must lie in buf (framed by recordFrames): a RangeError otherwise.
 */
static napi_value js_record_fields(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *buf, *at, *type, *ino, *x, *n, *m, *others;
  size_t len, n_at, n_type, n_ino, n_x, n_n, n_m, n_others;
  int32_t count;
  if (argc < 9 || !pram_typed(env, argv[0], napi_uint8_array, &buf, &len) || !pram_typed(env, argv[1], napi_uint32_array, &at, &n_at)
      || !pram_typed(env, argv[3], napi_uint16_array, &type, &n_type) || !pram_typed(env, argv[4], napi_float64_array, &ino, &n_ino)
      || !pram_typed(env, argv[5], napi_float64_array, &x, &n_x) || !pram_typed(env, argv[6], napi_uint32_array, &n, &n_n)
      || !pram_typed(env, argv[7], napi_uint32_array, &m, &n_m) || !pram_typed(env, argv[8], napi_uint32_array, &others, &n_others))
    return type_error(env, "recordFields: buf (Uint8Array), at (Uint32Array), count, type (Uint16Array), ino, x (Float64Array), n, m, others (Uint32Array)");
  if (!get_i32(env, argv[2], &count, "recordFields: count must be an integer")) return NULL;
  if (count < 0 || (size_t)count > n_at || (size_t)count > n_type || (size_t)count > n_ino || (size_t)count > n_x
      || (size_t)count > n_n || (size_t)count > n_m || n_others < (size_t)count + 1) {
    napi_throw_range_error(env, NULL, "recordFields: count past the arrays");
    return NULL;
  }
  const uint8_t *b = buf;
  fields_t f = { type, ino, x, n, m };
  uint32_t other = 0, *ks = (uint32_t *)others + 1;
  int32_t bad = -1;
  for (int32_t k = 0; k < count; k++) {
    uint32_t a = ((uint32_t *)at)[k];
    if (a > len || len - a < RECORD_HEADER || len - a - RECORD_HEADER < le32(b + a + 8)) {
      napi_throw_range_error(env, NULL, "recordFields: a record past the buffer");
      return NULL;
    }
    uint32_t t = le16(b + a + 4);
    f.type[k] = (uint16_t)t; f.ino[k] = 0; f.x[k] = 0; f.n[k] = 0; f.m[k] = 0;
    if (t < T_INODE || t > T_SPAN) { ks[other++] = (uint32_t)k; continue; }
    if (!fields_of(b + a + RECORD_HEADER, t, le32(b + a + 8), &f, (size_t)k)) { bad = k; break; }
  }
  ((uint32_t *)others)[0] = other;
  napi_value v;
  napi_create_int32(env, bad, &v);
  return v;
}

void records_init(napi_env env, napi_value exports) {
  set_fn(env, exports, "recordFrames", js_record_frames);
  set_fn(env, exports, "recordFields", js_record_fields);
}
