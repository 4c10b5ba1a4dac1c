// Drawing a memory map (model.ts) as SVG, or as a self-contained HTML page
// with the SVG inline and a hover panel. One <g data-s data-n> per cell (its
// first pfn and page count) holding one band per class, tallest first, so a
// mixed cell shows its composition; a <title> per cell gives the hover text
// in any viewer. The counts travel in <desc> as JSON, so tests and tools can
// check that the drawing accounts for every page exactly once.
import { buildModel, type MapInput, type MapModel, type ClassKind, type PfnRange } from './model.js';

const COLS_MAX = 128;
const CELL_PX = 8;          // cell pitch; the square is CELL_PX - 1
const LEFT_PX = 150;        // row labels
const TOP_PX = 44;
const LEGEND_ROW_PX = 16;

const KIND_COLOR: Record<ClassKind, string> = {
  free: '#eef0f2', 'banned-free': '#f6d5d5', hole: '#6b6b6b', header: '#111111', link: '#d62728',
  meta: '#ff7f0e', data: '#1f77b4', file: '#1f77b4', held: '#b5179e', kernel: '#8c564b', reserved: '#a89a85',
};
// Distinct hues for files (none of the fixed colours above).
const FILE_PALETTE = ['#1f77b4', '#2ca02c', '#9467bd', '#17becf', '#bcbd22', '#393b79', '#637939', '#3182bd',
  '#31a354', '#756bb1', '#0e6655', '#5254a3', '#6baed6', '#74c476', '#9e9ac8', '#1a9850', '#4575b4', '#8c6d31',
  '#00a6a6', '#7b4173', '#2b8cbe', '#41ab5d', '#807dba', '#006d2c'];
// Reservations people look for get a fixed colour; the rest share the brown palette.
const NAMED_COLOR: Record<string, string> = {
  'reserved: kernel image': '#8c564b', 'reserved: initrd': '#e377c2', 'reserved: low memory': '#c49c94',
  'reserved: early allocations': '#ad494a', 'reserved: injected reservation': '#ff00ff',
};
const RESERVED_PALETTE = ['#a89a85', '#c7b299', '#8d7b68', '#bfa58a', '#9c8c74', '#d2c2ab', '#7d6e5d', '#b39f86',
  '#e0d3c0', '#6f6252', '#cbb79e', '#978672', '#a5a5a5'];

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Text content needs only &, < and > escaped; keeps the <desc> JSON readable. */
export function escapeText(s: string): string {
  return s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
}

export function humanBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes, i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${v} B` : `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)} ${units[i]}`;
}

const hex = (n: number) => `0x${n.toString(16)}`;

function colors(model: MapModel): string[] {
  let files = 0, reserved = 0;
  return model.classes.map((c) => {
    if (c.kind === 'file') return c.name === 'other files' ? '#9ecae1' : FILE_PALETTE[files++ % FILE_PALETTE.length]!;
    if (c.kind === 'reserved') return NAMED_COLOR[c.name] ?? RESERVED_PALETTE[reserved++ % RESERVED_PALETTE.length]!;
    return KIND_COLOR[c.kind];
  });
}

/** The JSON in <desc>: what a checker needs to confirm every page is drawn once. */
export function mapSummary(model: MapModel) {
  const { input } = model;
  return {
    pageSize: input.pageSize, pageCount: input.pageCount, pagesPerCell: model.pagesPerCell, cells: model.cells.length,
    classes: model.classes.filter((c) => c.pages > 0).map((c) => ({ name: c.name, kind: c.kind, pages: c.pages })),
    bannedPages: model.bannedPages, banned: input.banned ?? [], marks: input.marks ?? [],
  };
}

/** Per-row rectangles covering the cells of a pfn range (a range may span rows). */
function rangeRects(r: PfnRange, ppc: number, cols: number, cellCount: number): { x: number; y: number; w: number }[] {
  const first = Math.floor(r.start / ppc), last = Math.min(cellCount - 1, Math.floor(r.end / ppc));
  const out: { x: number; y: number; w: number }[] = [];
  for (let c = first; c <= last;) {
    const row = Math.floor(c / cols), endInRow = Math.min(last, (row + 1) * cols - 1);
    out.push({ x: LEFT_PX + (c % cols) * CELL_PX, y: TOP_PX + row * CELL_PX, w: (endInRow - c + 1) * CELL_PX });
    c = endInRow + 1;
  }
  return out;
}

function cellTitle(model: MapModel, i: number): string {
  const cell = model.cells[i]!, ps = model.input.pageSize;
  const lines = [`pfn ${hex(cell.start)}-${hex(cell.start + cell.pages - 1)} (${cell.pages} page${cell.pages > 1 ? 's' : ''}, ${humanBytes(cell.pages * ps)} at ${hex(cell.start * ps)})`];
  for (const [c, n] of cell.comp) lines.push(`${model.classes[c]!.name}: ${n}`);
  if (cell.files.length) lines.push(`files: ${cell.files.join(', ')}`);
  return lines.join('\n');
}

function drawCells(model: MapModel, cols: number, fill: string[]): string[] {
  const out: string[] = [];
  const side = CELL_PX - 1;
  model.cells.forEach((cell, i) => {
    const x = LEFT_PX + (i % cols) * CELL_PX, y = TOP_PX + Math.floor(i / cols) * CELL_PX;
    const parts = [`<g data-s="${cell.start}" data-n="${cell.pages}"><title>${escapeText(cellTitle(model, i))}</title>`];
    let off = 0;
    for (const [c, n] of cell.comp) {
      const h = (side * n) / cell.pages;
      parts.push(`<rect x="${x}" y="${+(y + off).toFixed(2)}" width="${side}" height="${+h.toFixed(2)}" fill="${fill[c]}"/>`);
      off += h;
    }
    parts.push('</g>');
    out.push(parts.join(''));
  });
  return out;
}

function drawOverlays(model: MapModel, cols: number): string[] {
  const out: string[] = ['<g class="overlay" pointer-events="none">'];
  const ppc = model.pagesPerCell, n = model.cells.length;
  for (const r of model.input.banned ?? []) {
    for (const b of rangeRects(r, ppc, cols, n)) {
      out.push(`<rect x="${b.x - 0.5}" y="${b.y - 0.5}" width="${b.w}" height="${CELL_PX}" fill="url(#banned)" stroke="#c00" stroke-width="1" data-banned="${r.start}-${r.end}"/>`);
    }
  }
  for (const m of model.input.marks ?? []) {
    for (const b of rangeRects({ start: m.start, end: m.start + m.pages - 1 }, ppc, cols, n)) {
      out.push(`<rect x="${b.x - 1}" y="${b.y - 1}" width="${b.w + 1}" height="${CELL_PX + 1}" fill="none" stroke="#0050d0" stroke-width="1.5" stroke-dasharray="3 2" data-mark="${escapeXml(m.what)}"/>`);
    }
  }
  out.push('</g>');
  return out;
}

function drawRowLabels(model: MapModel, cols: number, rows: number): string[] {
  const out: string[] = [];
  const every = Math.max(1, Math.ceil(rows / 32)); // at most ~32 labels
  for (let row = 0; row < rows; row += every) {
    const pfn = row * cols * model.pagesPerCell;
    out.push(`<text x="${LEFT_PX - 6}" y="${TOP_PX + row * CELL_PX + 7}" text-anchor="end">${hex(pfn)} · ${escapeXml(humanBytes(pfn * model.input.pageSize))}</text>`);
  }
  return out;
}

function drawLegend(model: MapModel, fill: string[], y0: number): { svg: string[]; height: number } {
  const ps = model.input.pageSize;
  const items: { swatch: string; label: string }[] = [];
  model.classes.forEach((c, i) => {
    if (c.pages > 0) items.push({ swatch: `<rect width="11" height="11" fill="${fill[i]}" stroke="#999" stroke-width="0.5"/>`, label: `${c.name} — ${c.pages} pages, ${humanBytes(c.pages * ps)}` });
  });
  const banned = model.input.banned ?? [];
  if (banned.length) {
    items.push({ swatch: '<rect width="11" height="11" fill="url(#banned)" stroke="#c00"/>',
      label: `banned regions (${banned.length}) — ${model.bannedPages} pages, ${humanBytes(model.bannedPages * ps)} (outlined, not counted)` });
  }
  for (const what of new Set((model.input.marks ?? []).map((m) => m.what))) {
    items.push({ swatch: '<rect width="11" height="11" fill="none" stroke="#0050d0" stroke-dasharray="3 2"/>', label: `${what} (outlined)` });
  }
  const perCol = Math.ceil(items.length / 3), colW = 340;
  const svg = items.map((it, k) => {
    const x = 10 + Math.floor(k / perCol) * colW, y = y0 + (k % perCol) * LEGEND_ROW_PX;
    return `<g transform="translate(${x},${y})">${it.swatch}<text x="16" y="10">${escapeXml(it.label)}</text></g>`;
  });
  return { svg, height: perCol * LEGEND_ROW_PX };
}

function svgOf(model: MapModel): string {
  const fill = colors(model);
  const n = model.cells.length;
  const cols = Math.min(COLS_MAX, n), rows = Math.ceil(n / cols);
  const gridBottom = TOP_PX + rows * CELL_PX;
  const legend = drawLegend(model, fill, gridBottom + 16);
  const width = Math.max(LEFT_PX + cols * CELL_PX + 20, 1030), height = gridBottom + 16 + legend.height + 10;
  const { input } = model;
  const title = input.title ?? 'pram memory map';
  const subtitle = `${input.pageCount} pages of ${input.pageSize} B (${humanBytes(input.pageCount * input.pageSize)}), ` +
    `${model.pagesPerCell} page${model.pagesPerCell > 1 ? 's' : ''} per cell, ${n} cells`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace" font-size="10">`,
    `<title>${escapeXml(title)}</title>`,
    `<desc id="pram-map">${escapeText(JSON.stringify(mapSummary(model)))}</desc>`,
    '<defs><pattern id="banned" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
      '<line x1="0" y1="0" x2="0" y2="4" stroke="#c00" stroke-width="0.8" opacity="0.4"/></pattern></defs>',
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="16" font-size="13" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="10" y="32">${escapeXml(subtitle)}</text>`,
    ...drawRowLabels(model, cols, rows),
    '<g class="cells">', ...drawCells(model, cols, fill), '</g>',
    ...drawOverlays(model, cols),
    ...legend.svg,
    '</svg>',
  ].join('\n');
}

const HTML_SCRIPT = `
const panel = document.getElementById('detail');
document.querySelector('svg .cells').addEventListener('mouseover', (e) => {
  const g = e.target.closest('g[data-s]');
  if (g) panel.textContent = g.querySelector('title').textContent;
});`;

function htmlOf(model: MapModel): string {
  const title = escapeXml(model.input.title ?? 'pram memory map');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:monospace;margin:12px}#detail{white-space:pre;border:1px solid #ccc;padding:6px;min-height:5em;position:sticky;top:0;background:#fafafa}
svg g[data-s]:hover rect{stroke:#000;stroke-width:1}</style></head>
<body><div id="detail">Point at a cell: pfn range, owners, files.</div>
${svgOf(model)}
<script>${HTML_SCRIPT}</script>
</body></html>
`;
}

/** Draw the memory described by `input` (an SVG document, or a self-contained HTML page) and say what it counts. */
export function drawMap(input: MapInput, opts: { format?: 'svg' | 'html'; cellsMax?: number } = {}): { text: string; summary: MapSummary } {
  const model = buildModel(input, opts.cellsMax);
  const text = opts.format === 'html' ? htmlOf(model) : `<?xml version="1.0" encoding="UTF-8"?>\n${svgOf(model)}\n`;
  return { text, summary: mapSummary(model) };
}

/** The picture only: what `pram sim --map` and other callers need. */
export function renderMap(input: MapInput, opts: { format?: 'svg' | 'html'; cellsMax?: number } = {}): string {
  return drawMap(input, opts).text;
}

export type MapSummary = ReturnType<typeof mapSummary>;
export type { MapInput } from './model.js';
