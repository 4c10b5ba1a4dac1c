import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memparse, parseBootParams, parseHexPfn, withPramPfn } from './params.js';

const MiB = 1n << 20n;

function parse(cmdline: string, pageSize = 4096) {
  const log: string[] = [];
  return { params: parseBootParams(cmdline, pageSize, (l) => log.push(l)), log };
}

test('memparse: decimal, hex, octal like Linux base 0, with suffixes in either case', () => {
  assert.deepEqual(memparse('128M'), { value: 128n * MiB, rest: '' });
  assert.deepEqual(memparse('128m'), { value: 128n * MiB, rest: '' });
  assert.deepEqual(memparse('0x1000'), { value: 4096n, rest: '' });
  assert.deepEqual(memparse('0X10k'), { value: 16n * 1024n, rest: '' });
  assert.deepEqual(memparse('010'), { value: 8n, rest: '' });         // octal, as simple_strtoull base 0
  assert.deepEqual(memparse('4G-5G'), { value: 4n << 30n, rest: '-5G' });
  assert.deepEqual(memparse('1T'), { value: 1n << 40n, rest: '' });
  assert.deepEqual(memparse('1p'), { value: 1n << 50n, rest: '' });
  assert.deepEqual(memparse('2E'), { value: 2n << 60n, rest: '' });
  assert.deepEqual(memparse('0'), { value: 0n, rest: '' });
  assert.deepEqual(memparse('0x'), { value: 0n, rest: 'x' });        // "0x" without a hex digit is octal 0
  assert.deepEqual(memparse('12Q'), { value: 12n, rest: 'Q' });      // unknown suffix left in rest
  assert.equal(memparse(''), null);
  assert.equal(memparse('M'), null);
  assert.equal(memparse('-1'), null);
});

test('pram=: kstrtoul base 16, optional 0x, hex digits only', () => {
  assert.equal(parseHexPfn('1a2b'), 0x1a2b);
  assert.equal(parseHexPfn('0x1A2B'), 0x1a2b);
  assert.equal(parseHexPfn('12g'), null);
  assert.equal(parseHexPfn(''), null);
  assert.equal(parseHexPfn('0x'), null);
  assert.equal(parse('ro pram=7f3 quiet').params.pramPfn, 0x7f3);
  assert.equal(parse('pram=10 pram=20').params.pramPfn, 0x20, 'the last pram= wins');
  assert.equal(parse('pram=0').params.pramPfn, null, 'pram=0 means no image');
  const bad = parse('pram=xyz');
  assert.equal(bad.params.pramPfn, null);
  assert.match(bad.log[0]!, /Malformed early option 'pram'/);
  assert.equal(parse('root=/dev/sda').params.pramPfn, null);
});

test('pram_banned=: bytes to pfns, start rounded down, end exclusive', () => {
  const { params, log } = parse('pram_banned=0-128M');
  assert.deepEqual(params.banned, [{ start: 0, end: 32767 }]);
  assert.deepEqual(log, []);
  // 4097 rounds down to pfn 1; end 8193 rounds up to pfn 3, minus one: 2
  assert.deepEqual(parse('pram_banned=4097-8193').params.banned, [{ start: 1, end: 2 }]);
  assert.deepEqual(parse('pram_banned=1M-2M,0x400000-8M').params.banned,
    [{ start: 256, end: 511 }, { start: 1024, end: 2047 }]);
  assert.deepEqual(parse('pram_banned=0-1M pram_banned=2M-3M').params.banned,
    [{ start: 0, end: 255 }, { start: 512, end: 767 }]);
  assert.deepEqual(parse('pram_banned=0-64K', 65536).params.banned, [{ start: 0, end: 0 }]);
});

test('pram_banned=: every malformed form is logged with the RFC wording and ignored', () => {
  const cases: [string, string][] = [
    ['pram_banned=', 'pram_banned: Memory value expected'],
    ['pram_banned=abc-1M', 'pram_banned: Memory value expected'],
    ['pram_banned=1M', "pram_banned: '-' expected"],
    ['pram_banned=1M+2M', "pram_banned: '-' expected"],
    ['pram_banned=1M-', 'pram_banned: Memory value expected'],
    ['pram_banned=1M-x', 'pram_banned: Memory value expected'],
    ['pram_banned=2M-1M', 'pram_banned: end <= start'],
    ['pram_banned=1M-1M', 'pram_banned: end <= start'],
    ['pram_banned=0-1M,', 'pram_banned: Memory value expected'],
    ['pram_banned=0-1M,4M-3M', 'pram_banned: end <= start'],
    ['pram_banned=0-1Mjunk', "pram_banned: ',' expected"],
  ];
  for (const [cmdline, line] of cases) {
    const { params, log } = parse(`ro ${cmdline} pram=5`);
    assert.deepEqual(log, [line], cmdline);
    assert.deepEqual(params.banned, [], `${cmdline}: the whole parameter is ignored`);
    assert.equal(params.pramPfn, 5, `${cmdline}: the boot goes on`);
  }
});

test('withPramPfn removes every pram= word and appends the new one', () => {
  assert.equal(withPramPfn('ro pram=10 pram_banned=0-128M pram=20 quiet', 0xabc),
    'ro pram_banned=0-128M quiet pram=abc');
  assert.equal(withPramPfn('ro', 1), 'ro pram=1');
  assert.equal(withPramPfn('pram=5 ro', null), 'ro');
});
