// A hex dump for debugging pages and golden tests: 16 bytes per line, offset,
// hex, ASCII. Runs of identical all-zero lines collapse to '*' as in hexdump(1).

export function hexdump(buf: Uint8Array, start = 0, length = buf.length - start): string {
  const out: string[] = [];
  let lastZero = false;
  const end = Math.min(buf.length, start + length);
  for (let off = start; off < end; off += 16) {
    const row = buf.subarray(off, Math.min(off + 16, end));
    const zero = row.every((b) => b === 0);
    if (zero && lastZero) {
      if (out[out.length - 1] !== '*') out.push('*');
      continue;
    }
    lastZero = zero;
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    out.push(`${(off - start).toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  |${ascii}|`);
  }
  return out.join('\n');
}
