// Boot parameters: `pram=<hex pfn>` (where the saved chain starts) and
// `pram_banned=START-END[,START-END...]` (memory pram must not store data in).
// Parsing follows Linux (memparse, kstrtoul base 16); a malformed value is
// logged with the RFC's wording and ignored — the boot always goes on.
// What the values mean (reserving the chain, banning) is left to the caller.

export interface BootParams {
  /** Head pfn of the saved chain, or null (absent, zero or malformed). */
  pramPfn: number | null;
  /** Regions from pram_banned=, in pfns, both ends inclusive, in command-line order. */
  banned: { start: number; end: number }[];
}

const SHIFT: Record<string, bigint> = { k: 10n, m: 20n, g: 30n, t: 40n, p: 50n, e: 60n };

/**
 * Linux memparse: an integer in base 0 (0x.. hex, 0.. octal, else decimal)
 * with an optional K/M/G/T/P/E suffix (either case). Returns the value and the
 * unparsed rest, or null when no digit was found (Linux: endptr == start).
 */
export function memparse(s: string): { value: bigint; rest: string } | null {
  let i = 0, base = 10n;
  if (s[0] === '0' && (s[1] === 'x' || s[1] === 'X') && isDigit(s[2], 16n)) { base = 16n; i = 2; }
  else if (s[0] === '0') base = 8n;
  const first = i;
  let value = 0n;
  while (i < s.length && isDigit(s[i], base)) { value = value * base + BigInt(parseInt(s[i]!, 16)); i++; }
  if (i === first) return null;
  const shift = SHIFT[(s[i] ?? '').toLowerCase()];
  if (shift !== undefined) { value <<= shift; i++; }
  return { value, rest: s.slice(i) };
}

function isDigit(c: string | undefined, base: bigint): boolean {
  if (c === undefined) return false;
  const d = parseInt(c, 16);
  return !Number.isNaN(d) && BigInt(d) < base;
}

/** Linux kstrtoul(s, 16): optional 0x, hex digits only, one trailing newline allowed. */
export function parseHexPfn(s: string): number | null {
  const m = /^(?:0x)?([0-9a-f]+)\n?$/i.exec(s);
  if (!m) return null;
  const v = BigInt('0x' + m[1]);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : null;
}

/**
 * pram_banned=START-END[,...]: byte addresses; START rounds down to its pfn,
 * END is exclusive (PFN_UP(END) - 1). All-or-nothing: one malformed region
 * and the whole parameter is ignored.
 */
export function parseBanned(arg: string, pageSize: number, log: (line: string) => void): { start: number; end: number }[] | null {
  const out: { start: number; end: number }[] = [];
  const page = BigInt(pageSize);
  let cur = arg;
  for (;;) {
    const start = memparse(cur);
    if (!start) { log('pram_banned: Memory value expected'); return null; }
    if (!start.rest.startsWith('-')) { log("pram_banned: '-' expected"); return null; }
    const end = memparse(start.rest.slice(1));
    if (!end) { log('pram_banned: Memory value expected'); return null; }
    if (end.value <= start.value) { log('pram_banned: end <= start'); return null; }
    const startPfn = start.value / page;
    const endPfn = (end.value + page - 1n) / page - 1n;
    const max = BigInt(Number.MAX_SAFE_INTEGER);
    out.push({ start: Number(startPfn > max ? max : startPfn), end: Number(endPfn > max ? max : endPfn) });
    if (end.rest === '') return out;
    if (!end.rest.startsWith(',')) { log("pram_banned: ',' expected"); return null; }
    cur = end.rest.slice(1);
  }
}

/** Every `pram=` and `pram_banned=` of a kernel command line; later pram= words win, as in Linux. */
export function parseBootParams(cmdline: string, pageSize: number, log: (line: string) => void): BootParams {
  const params: BootParams = { pramPfn: null, banned: [] };
  for (const word of cmdlineWords(cmdline)) {
    if (word.startsWith('pram=')) {
      const pfn = parseHexPfn(word.slice(5));
      if (pfn === null) log(`Malformed early option 'pram': '${word.slice(5)}' is not a hex pfn`);
      else params.pramPfn = pfn === 0 ? null : pfn; // pram=0: no image (the RFC tests !pfn)
    } else if (word.startsWith('pram_banned=')) {
      const regions = parseBanned(word.slice(12), pageSize, log);
      if (regions) params.banned.push(...regions);
    }
  }
  return params;
}

/**
 * Words of a kernel command line the way Linux's next_arg() splits them: on
 * blanks, except inside double quotes (`foo="a b"` is one word).
 */
export function cmdlineWords(cmdline: string): string[] {
  return cmdline.match(/(?:[^\s"]+|"[^"]*"?)+/g) ?? [];
}

/**
 * The next kernel's command line: `current` with every `pram=` dropped, the
 * `extra` words added (a key=value there replaces the same key in `current`;
 * a bare word is added once), then `pram=<hex pfn>` (none when null). All of
 * it goes before a `--`: the words after it are arguments for init, which
 * the kernel does not parse.
 */
export function nextCmdline(current: string, headPfn: number | null, extra = ''): string {
  const words = cmdlineWords(current);
  const dashes = words.indexOf('--');
  const kernel = dashes < 0 ? words : words.slice(0, dashes);
  const init = dashes < 0 ? [] : words.slice(dashes);
  const add = cmdlineWords(extra).filter((w) => !w.startsWith('pram='));
  const key = (w: string) => (w.includes('=') ? w.slice(0, w.indexOf('=') + 1) : w);
  const replaced = new Set(add.map(key));
  const kept = kernel.filter((w) => !w.startsWith('pram=') && !replaced.has(key(w)));
  const pram = headPfn === null ? [] : [`pram=${headPfn.toString(16)}`];
  return [...kept, ...add, ...pram, ...init].join(' ');
}

/** `cmdline` with every `pram=` word removed, then `pram=<hex pfn>` added (none when null). */
export function withPramPfn(cmdline: string, pfn: number | null): string {
  return nextCmdline(cmdline, pfn);
}
