// Reads a pram map with a real XML parser (python3's xml.etree, an independent
// oracle rather than our own regexes): throws when the SVG is not well-formed,
// else returns the <desc> summary, every cell's [first pfn, pages] and the
// overlay counts.
import { spawnSync } from 'node:child_process';

const PY = `
import sys, json, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.buffer.read())
ns = '{http://www.w3.org/2000/svg}'
assert root.tag == ns + 'svg', root.tag
desc = root.find(ns + 'desc')
cells = [[int(g.get('data-s')), int(g.get('data-n'))] for g in root.iter(ns + 'g') if g.get('data-s') is not None]
titled = sum(1 for g in root.iter(ns + 'g') if g.get('data-s') is not None and g.find(ns + 'title') is not None)
banned = sum(1 for r in root.iter(ns + 'rect') if r.get('data-banned') is not None)
marks = sorted(set(r.get('data-mark') for r in root.iter(ns + 'rect') if r.get('data-mark') is not None))
print(json.dumps({'summary': json.loads(desc.text), 'cells': cells, 'titled': titled, 'bannedRects': banned, 'marks': marks}))
`;

/** Parse an SVG document (or the inline <svg> of an HTML page). */
export function readMap(text) {
  const svg = text.startsWith('<!DOCTYPE html') ? text.slice(text.indexOf('<svg'), text.indexOf('</svg>') + 6) : text;
  const r = spawnSync('python3', ['-c', PY], { input: svg, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`not a well-formed SVG: ${r.stderr.toString().trim().split('\n').pop()}`);
  return JSON.parse(r.stdout.toString());
}

/** The invariant: cells tile [0, pageCount) in order, and class counts add up to pageCount. */
export function accountedPages(map) {
  let next = 0;
  for (const [s, n] of map.cells) {
    if (s !== next || n < 1) throw new Error(`cell at pfn ${s} (${n} pages) does not follow pfn ${next}`);
    next = s + n;
  }
  return { cellPages: next, classPages: map.summary.classes.reduce((a, c) => a + c.pages, 0) };
}
