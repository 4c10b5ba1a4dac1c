// Two hand-written SVG charts: (1) dd throughput as grouped bars with min–max
// whiskers, and (6) save/mount time against data size on a log time axis.
// Plain strings, no dependencies; the figures come from report.js's derive().
const COLORS = { pram: '#d9480f', tmpfs: '#1971c2', ramfs: '#2f9e44', save: '#d9480f', full: '#1971c2', lazy: '#2f9e44' };
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
const font = (size = 12) => `font-family="sans-serif" font-size="${size}"`;
const FONT = font();

function frame(w, h, title, body) {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">\n` +
    `<rect width="${w}" height="${h}" fill="white"/>\n<text x="${w / 2}" y="22" text-anchor="middle" ${font(15)} font-weight="bold">${esc(title)}</text>\n${body}</svg>\n`;
}

function niceMax(x) {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

/** dd: groups "write 4K", "write 1M", "read 4K", "read 1M"; one bar per target. */
export function ddChart(f, subtitle) {
  const W = 760, H = 420, L = 60, R = 130, T = 50, B = 60;
  const groups = [];
  for (const op of ['write', 'read']) for (const bs of [4096, 1 << 20]) groups.push({ op, bs, label: `${op} bs=${bs === 4096 ? '4K' : '1M'}` });
  const targets = ['pram', 'tmpfs', 'ramfs'];
  const cell = (t, g) => f.dd.find((x) => x.target === t && x.bs === g.bs)?.[g.op] ?? null;
  let max = 0;
  for (const g of groups) for (const t of targets) max = Math.max(max, cell(t, g)?.max ?? 0);
  max = niceMax(max);
  const pw = W - L - R, ph = H - T - B, gw = pw / groups.length, bw = gw / (targets.length + 1);
  const y = (v) => T + ph - (v / max) * ph;
  let s = '';
  for (let i = 0; i <= 5; i++) {
    const v = (max * i) / 5;
    s += `<line x1="${L}" x2="${L + pw}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="${L - 6}" y="${y(v) + 4}" text-anchor="end" ${FONT}>${+v.toFixed(2)}</text>\n`;
  }
  s += `<text x="16" y="${T + ph / 2}" transform="rotate(-90 16 ${T + ph / 2})" text-anchor="middle" ${FONT}>GB/s (median, whiskers min–max)</text>\n`;
  groups.forEach((g, gi) => {
    const x0 = L + gi * gw + bw / 2;
    targets.forEach((t, ti) => {
      const c = cell(t, g);
      const x = x0 + ti * bw;
      if (!c) { s += `<text x="${x + bw / 2}" y="${y(0) - 4}" text-anchor="middle" ${font(9)}>n/a</text>\n`; return; }
      s += `<rect x="${x}" y="${y(c.median)}" width="${bw - 2}" height="${y(0) - y(c.median)}" fill="${COLORS[t]}"><title>${t} ${g.label}: ${c.median.toFixed(3)} GB/s</title></rect>\n`;
      const cx = x + (bw - 2) / 2;
      s += `<line x1="${cx}" x2="${cx}" y1="${y(c.min)}" y2="${y(c.max)}" stroke="black"/><line x1="${cx - 4}" x2="${cx + 4}" y1="${y(c.max)}" y2="${y(c.max)}" stroke="black"/><line x1="${cx - 4}" x2="${cx + 4}" y1="${y(c.min)}" y2="${y(c.min)}" stroke="black"/>\n`;
      s += `<text x="${cx}" y="${y(c.max) - 4}" text-anchor="middle" ${font(9)}>${c.median.toFixed(2)}</text>\n`;
    });
    s += `<text x="${L + gi * gw + gw / 2}" y="${T + ph + 18}" text-anchor="middle" ${FONT}>${g.label}</text>\n`;
  });
  s += `<line x1="${L}" x2="${L + pw}" y1="${y(0)}" y2="${y(0)}" stroke="black"/>\n`;
  targets.forEach((t, i) => {
    s += `<rect x="${L + pw + 20}" y="${T + i * 22}" width="14" height="14" fill="${COLORS[t]}"/><text x="${L + pw + 40}" y="${T + i * 22 + 12}" ${FONT}>${t === 'pram' ? 'pram (FUSE)' : t}</text>\n`;
  });
  s += `<text x="${W / 2}" y="${H - 12}" text-anchor="middle" ${FONT} fill="#555">${esc(subtitle)}</text>\n`;
  return frame(W, H, 'dd throughput: pram (FUSE) vs tmpfs vs ramfs', s);
}

/** Scaling: x = data size (GiB, linear), y = ms (log10); series save, full mount, lazy mount. */
export function scalingChart(f, subtitle) {
  const W = 780, H = 420, L = 90, R = 150, T = 50, B = 60;
  const rows = f.persist.filter((x) => !x.unavailable && x.save && x.format !== 'extents').sort((a, b) => a.bytes - b.bytes);
  const series = [
    { key: 'save', label: 'save (unmount)', get: (x) => x.save },
    { key: 'full', label: 'mount, verify full', get: (x) => x.fullMount },
    { key: 'lazy', label: 'mount, verify lazy', get: (x) => x.lazyMount },
  ];
  const xs = rows.map((x) => x.bytes / 2 ** 30);
  const xmax = niceMax(Math.max(...xs, 0.25));
  let lo = Infinity, hi = 0;
  for (const x of rows) for (const se of series) { const v = se.get(x); if (v) { lo = Math.min(lo, v.min); hi = Math.max(hi, v.max); } }
  if (!rows.length) { lo = 1; hi = 1000; }
  const dlo = Math.floor(Math.log10(Math.max(lo, 0.01))), dhi = Math.ceil(Math.log10(Math.max(hi, 1)));
  const pw = W - L - R, ph = H - T - B;
  const X = (gib) => L + (gib / xmax) * pw;
  const Y = (ms) => T + ph - ((Math.log10(Math.max(ms, 10 ** dlo)) - dlo) / Math.max(1, dhi - dlo)) * ph;
  let s = '';
  for (let d = dlo; d <= dhi; d++) s += `<line x1="${L}" x2="${L + pw}" y1="${Y(10 ** d)}" y2="${Y(10 ** d)}" stroke="#ddd"/><text x="${L - 6}" y="${Y(10 ** d) + 4}" text-anchor="end" ${FONT}>${10 ** d >= 1 ? 10 ** d : (10 ** d).toFixed(-d)} ms</text>\n`;
  for (let i = 0; i <= 4; i++) { const g = (xmax * i) / 4; s += `<text x="${X(g)}" y="${T + ph + 18}" text-anchor="middle" ${FONT}>${+g.toFixed(2)}</text>\n`; }
  s += `<text x="${L + pw / 2}" y="${T + ph + 36}" text-anchor="middle" ${FONT}>data (GiB)</text>\n`;
  s += `<line x1="${L}" x2="${L + pw}" y1="${T + ph}" y2="${T + ph}" stroke="black"/><line x1="${L}" x2="${L}" y1="${T}" y2="${T + ph}" stroke="black"/>\n`;
  series.forEach((se, i) => {
    const pts = rows.map((x) => ({ gib: x.bytes / 2 ** 30, v: se.get(x) })).filter((p) => p.v);
    if (pts.length) s += `<polyline fill="none" stroke="${COLORS[se.key]}" stroke-width="2" points="${pts.map((p) => `${X(p.gib).toFixed(1)},${Y(p.v.median).toFixed(1)}`).join(' ')}"/>\n`;
    for (const p of pts) {
      s += `<line x1="${X(p.gib)}" x2="${X(p.gib)}" y1="${Y(p.v.min)}" y2="${Y(p.v.max)}" stroke="${COLORS[se.key]}"/>`;
      s += `<circle cx="${X(p.gib)}" cy="${Y(p.v.median)}" r="3.5" fill="${COLORS[se.key]}"><title>${se.label}, ${p.gib} GiB: ${p.v.median.toFixed(1)} ms</title></circle>\n`;
    }
    s += `<rect x="${L + pw + 20}" y="${T + i * 22}" width="14" height="14" fill="${COLORS[se.key]}"/><text x="${L + pw + 40}" y="${T + i * 22 + 12}" ${FONT}>${se.label}</text>\n`;
  });
  s += `<text x="${W / 2}" y="${H - 8}" text-anchor="middle" ${FONT} fill="#555">${esc(subtitle)}</text>\n`;
  return frame(W, H, 'pram save and mount time by data size', s);
}

/**
 * Latency against size, log-log, one panel per kind of image side by side (the
 * y axis shared): each series a line through its points' y (p50) with a
 * whisker up to hi (p99); each of `lines` (a reference such as tmpfs, a goal)
 * a dashed horizontal line in every panel.
 * panels: [{ xLabel, xName(x), series: [{ label, color, points: [{ x, y, hi }] }] }]; lines: [{ label, y, color }].
 */
export function latencyChart({ title, subtitle, panels, lines = [] }) {
  const PW = 330, H = 460, L = 70, GAP = 50, R = 200, T = 50, B = 70;
  const W = L + panels.length * PW + (panels.length - 1) * GAP + R, ph = H - T - B;
  const ys = panels.flatMap((p) => p.series.flatMap((s) => s.points.flatMap((q) => [q.y, q.hi ?? q.y]))).concat(lines.map((l) => l.y)).filter((v) => v > 0);
  const dlo = Math.floor(Math.log10(Math.min(...ys, 1))), dhi = Math.ceil(Math.log10(Math.max(...ys, 10)));
  const Y = (ms) => T + ph - ((Math.log10(Math.max(ms, 10 ** dlo)) - dlo) / Math.max(1, dhi - dlo)) * ph;
  let s = '';
  s += `<text x="16" y="${T + ph / 2}" transform="rotate(-90 16 ${T + ph / 2})" text-anchor="middle" ${FONT}>ms (log)</text>\n`;
  panels.forEach((p, pi) => {
    const x0 = L + pi * (PW + GAP);
    const xs = p.series.flatMap((se) => se.points.map((q) => q.x));
    const lo = Math.log10(Math.min(...xs, Infinity) || 1), hi = Math.log10(Math.max(...xs, 1));
    const X = (v) => (hi <= lo ? x0 + PW / 2 : x0 + 20 + ((Math.log10(v) - lo) / (hi - lo)) * (PW - 40));
    for (let d = dlo; d <= dhi; d++) s += `<line x1="${x0}" x2="${x0 + PW}" y1="${Y(10 ** d)}" y2="${Y(10 ** d)}" stroke="#ddd"/>` + (pi === 0 ? `<text x="${x0 - 6}" y="${Y(10 ** d) + 4}" text-anchor="end" ${FONT}>${10 ** d >= 1 ? 10 ** d : (10 ** d).toFixed(-d)}</text>` : '') + '\n';
    s += `<line x1="${x0}" x2="${x0 + PW}" y1="${T + ph}" y2="${T + ph}" stroke="black"/><line x1="${x0}" x2="${x0}" y1="${T}" y2="${T + ph}" stroke="black"/>\n`;
    for (const v of [...new Set(xs)]) s += `<text x="${X(v)}" y="${T + ph + 18}" text-anchor="middle" ${font(10)}>${esc(p.xName(v))}</text>\n`;
    s += `<text x="${x0 + PW / 2}" y="${T + ph + 38}" text-anchor="middle" ${FONT}>${esc(p.xLabel)} (log)</text>\n`;
    for (const l of lines) s += `<line x1="${x0}" x2="${x0 + PW}" y1="${Y(l.y)}" y2="${Y(l.y)}" stroke="${l.color}" stroke-dasharray="6 4"><title>${esc(l.label)}: ${l.y.toFixed(3)} ms</title></line>\n`;
    for (const se of p.series) {
      const pts = se.points.filter((q) => q.y > 0).sort((a, b) => a.x - b.x);
      if (pts.length > 1) s += `<polyline fill="none" stroke="${se.color}" stroke-width="2" points="${pts.map((q) => `${X(q.x).toFixed(1)},${Y(q.y).toFixed(1)}`).join(' ')}"/>\n`;
      for (const q of pts) {
        if (q.hi > q.y) s += `<line x1="${X(q.x)}" x2="${X(q.x)}" y1="${Y(q.y)}" y2="${Y(q.hi)}" stroke="${se.color}"/>`;
        s += `<circle cx="${X(q.x)}" cy="${Y(q.y)}" r="3.5" fill="${se.color}"><title>${esc(se.label)}, ${esc(p.xName(q.x))}: ${q.y.toFixed(3)} ms</title></circle>\n`;
      }
    }
  });
  const lx = L + panels.length * PW + (panels.length - 1) * GAP + 20;
  const legend = panels[0]?.series ?? [];
  legend.forEach((se, i) => { s += `<rect x="${lx}" y="${T + i * 22}" width="14" height="14" fill="${se.color}"/><text x="${lx + 20}" y="${T + i * 22 + 12}" ${FONT}>${esc(se.label)}</text>\n`; });
  lines.forEach((l, j) => { const y = T + (legend.length + j) * 22; s += `<line x1="${lx}" x2="${lx + 14}" y1="${y + 7}" y2="${y + 7}" stroke="${l.color}" stroke-dasharray="4 3" stroke-width="2"/><text x="${lx + 20}" y="${y + 12}" ${FONT}>${esc(l.label)}</text>\n`; });
  s += `<text x="${W / 2}" y="${H - 10}" text-anchor="middle" ${FONT} fill="#555">${esc(subtitle)}</text>\n`;
  return frame(W, H, title, s);
}
