// The files the systemd test's service writes: generation G is a directory /gG with one file
// per size, each a deterministic function of (G, size), so any later boot can check every
// byte without a copy. Shared by service.mjs (writes, verifies) and nothing else.
export const SIZES = [0, 1, 4095, 4096, 4097, 65536, 1048576 + 123];
export const ARENA_BYTES = 64 * 1024 * 1024;

export const fileOf = (gen, size) => `/g${gen}/f-${size}.bin`;

/** xorshift32 bytes seeded by (gen, size): cheap, and different for every file. */
export function content(gen, size) {
  const b = Buffer.alloc(size);
  let x = (Math.imul(gen, 0x9e3779b1) ^ Math.imul(size + 1, 0x85ebca6b)) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}
