// Line charts as standalone SVG files, written by the project itself (no plotting library): the training
// curves of a run (curves.svg) and the experiments' figures. A chart is a set of panels; each panel has an
// x axis, a y axis (linear or log) and named series of (x, y) points, with a legend.

export interface Series {
  name: string;
  points: [number, number][];
  /** Draw markers at the points (for sparse series such as evaluations or sweeps). */
  markers?: boolean;
  dashed?: boolean;
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logY?: boolean;
  /** Label x ticks with these values instead of nice numbers (e.g. the lambdas of a sweep). */
  xTicks?: number[];
  logX?: boolean;
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Round tick values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten. */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi === lo) return [lo];
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(0);
  return String(Number(v.toPrecision(4)));
}

function panelSvg(p: Panel, x0: number, y0: number, w: number, h: number): string {
  const left = 62, right = 12, top = 26, bottom = 42;
  const pw = w - left - right, ph = h - top - bottom;
  const ty = (v: number): number => (p.logY ? Math.log10(Math.max(v, 1e-12)) : v);
  const tx = (v: number): number => (p.logX ? Math.log10(Math.max(v, 1e-12)) : v);
  const pts = p.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!p.logY || y > 0) && (!p.logX || x > 0));
  const out: string[] = [`<g transform="translate(${x0},${y0})">`];
  out.push(`<text x="${left + pw / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${esc(p.title)}</text>`);
  out.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${left + pw / 2}" y="${h - 6}" text-anchor="middle" font-size="11">${esc(p.xLabel)}</text>`);
  out.push(`<text transform="translate(13,${top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="11">${esc(p.yLabel)}</text>`);
  if (pts.length === 0) {
    out.push(`<text x="${left + pw / 2}" y="${top + ph / 2}" text-anchor="middle" font-size="11" fill="#888">no data yet</text></g>`);
    return out.join('\n');
  }
  let xmin = Math.min(...pts.map((q) => tx(q[0]))), xmax = Math.max(...pts.map((q) => tx(q[0])));
  let ymin = Math.min(...pts.map((q) => ty(q[1]))), ymax = Math.max(...pts.map((q) => ty(q[1])));
  if (xmax === xmin) { xmin -= 0.5; xmax += 0.5; }
  if (ymax === ymin) { const d = Math.abs(ymin) * 0.1 || 0.5; ymin -= d; ymax += d; }
  const ypad = (ymax - ymin) * 0.05;
  ymin -= ypad; ymax += ypad;
  const sx = (v: number): number => left + ((tx(v) - xmin) / (xmax - xmin)) * pw;
  const sy = (v: number): number => top + ph - ((ty(v) - ymin) / (ymax - ymin)) * ph;
  const xt = p.xTicks ? p.xTicks : p.logX ? niceTicks(xmin, xmax).map((e) => 10 ** e) : niceTicks(xmin, xmax);
  for (const v of xt) {
    const X = sx(v);
    if (X < left - 0.5 || X > left + pw + 0.5) continue;
    out.push(`<line x1="${X.toFixed(1)}" y1="${top}" x2="${X.toFixed(1)}" y2="${top + ph}" stroke="#eee"/>`);
    out.push(`<text x="${X.toFixed(1)}" y="${top + ph + 14}" text-anchor="middle" font-size="10">${fmt(v)}</text>`);
  }
  const yt = p.logY ? logTicks(ymin, ymax) : niceTicks(ymin, ymax);
  for (const v of yt) {
    const Y = sy(v);
    if (Y < top - 0.5 || Y > top + ph + 0.5) continue;
    out.push(`<line x1="${left}" y1="${Y.toFixed(1)}" x2="${left + pw}" y2="${Y.toFixed(1)}" stroke="#eee"/>`);
    out.push(`<text x="${left - 4}" y="${(Y + 3).toFixed(1)}" text-anchor="end" font-size="10">${fmt(v)}</text>`);
  }
  p.series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const good = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!p.logY || y > 0) && (!p.logX || x > 0));
    if (good.length > 1) {
      const d = good.map(([x, y], j) => `${j ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join('');
      out.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="5,3"' : ''}/>`);
    }
    if (s.markers || good.length === 1) for (const [x, y] of good) out.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${colour}"/>`);
  });
  // The legend on a translucent white box over the lines, so its text stays readable.
  const longest = Math.max(0, ...p.series.map((s) => s.name.length));
  if (p.series.length) out.push(`<rect x="${left + 4}" y="${top + 3}" width="${(30 + longest * 5.6).toFixed(0)}" height="${p.series.length * 13 + 3}" fill="white" fill-opacity="0.85" stroke="#ddd"/>`);
  p.series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const ly = top + 12 + i * 13;
    out.push(`<line x1="${left + 8}" y1="${ly - 3}" x2="${left + 24}" y2="${ly - 3}" stroke="${colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5,3"' : ''}/>`);
    out.push(`<text x="${left + 28}" y="${ly}" font-size="10">${esc(s.name)}</text>`);
  });
  out.push('</g>');
  return out.join('\n');
}

function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) for (const m of [1, 2, 5]) {
    const v = m * 10 ** e;
    if (Math.log10(v) >= lo && Math.log10(v) <= hi) out.push(v);
  }
  return out;
}

/** An SVG document with the panels laid out in `cols` columns. */
export function chartSvg(title: string, panels: Panel[], cols = 2, panelWidth = 420, panelHeight = 260): string {
  const c = Math.max(1, Math.min(cols, panels.length));
  const rows = Math.ceil(panels.length / c);
  const width = c * panelWidth, height = 30 + rows * panelHeight;
  const body = panels.map((p, i) => panelSvg(p, (i % c) * panelWidth, 30 + Math.floor(i / c) * panelHeight, panelWidth, panelHeight));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
