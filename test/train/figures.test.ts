// The project's own figure writers: SVG line charts (ticks, scales, well-formed XML, escaping, log axes, empty
// data), curves.svg from metrics.jsonl (torn lines, resumed steps, smoothing), and the labelled image rows
// behind every PNG grid (upscaling, aux-resolution display, JSON round trip).
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chartSvg, niceTicks, type Panel } from '../../train/figures/svg.js';
import { curvesPanels, readMetrics, smooth, writeCurves } from '../../train/figures/curves.js';
import { psnr } from '../../train/evaluate/evaluate.js';
import { loadRows, saveRows, upscale } from '../../train/evaluate/images.js';

/** Every opening tag is closed (or self-closing) in order: a minimal well-formedness check. */
function wellFormed(svg: string): boolean {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, close, name, self] = m;
    if (self) continue;
    if (close) {
      if (stack.pop() !== name) return false;
    } else stack.push(name!);
  }
  return stack.length === 0;
}

/** The (x, y) pixel pairs of the first <path d="M..L.."> in an SVG. */
function firstPath(svg: string): [number, number][] {
  const d = /<path d="([^"]+)"/.exec(svg)![1]!;
  return [...d.matchAll(/[ML](-?[\d.]+),(-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
}

describe('svg charts', () => {
  it('niceTicks gives round steps covering the range', () => {
    expect(niceTicks(0, 10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0.013, 0.048)).toEqual([0.02, 0.03, 0.04]);
    expect(niceTicks(-3, 7, 5)).toEqual([-2, 0, 2, 4, 6]);
    expect(niceTicks(5, 5)).toEqual([5]);
    expect(niceTicks(NaN, 1)).toEqual([]);
  });

  it('draws a well-formed document whose line maps the data linearly, increasing y upwards', () => {
    const panel: Panel = { title: 'a <b> & "c"', xLabel: 'step', yLabel: 'bits/dim', series: [{ name: 'loss', points: [[0, 1], [10, 2], [20, 3]] }] };
    const svg = chartSvg('t', [panel]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(wellFormed(svg), 'tags balance').toBe(true);
    expect(svg).toContain('a &lt;b&gt; &amp; &quot;c&quot;');
    const pts = firstPath(svg);
    expect(pts).toHaveLength(3);
    // Equal x steps -> equal pixel steps; larger y -> smaller pixel y (SVG y points down).
    expect(pts[1]![0] - pts[0]![0]).toBeCloseTo(pts[2]![0] - pts[1]![0], 0);
    expect(pts[1]![1] - pts[0]![1]).toBeCloseTo(pts[2]![1] - pts[1]![1], 0);
    expect(pts[1]![1]).toBeLessThan(pts[0]![1]);
  });

  it('log y axis: equal ratios map to equal distances; non-positive and non-finite points are dropped', () => {
    const svg = chartSvg('t', [{ title: 'kl', xLabel: 'x', yLabel: 'y', logY: true, series: [{ name: 's', points: [[1, 0.001], [2, 0.01], [3, 0.1], [4, 0], [5, NaN]] }] }]);
    const pts = firstPath(svg);
    expect(pts).toHaveLength(3);
    expect(pts[1]![1] - pts[0]![1]).toBeCloseTo(pts[2]![1] - pts[1]![1], 0);
    expect(wellFormed(svg)).toBe(true);
  });

  it('an empty panel says so instead of failing; several panels are laid out in columns', () => {
    const empty: Panel = { title: 'e', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: [] }] };
    const svg = chartSvg('t', [empty, empty, empty], 2, 400, 250);
    expect(svg).toContain('no data yet');
    expect(svg).toContain('width="800" height="530"');
    expect(wellFormed(svg)).toBe(true);
  });
});

describe('curves.svg', () => {
  it('reads metrics.jsonl, skipping torn lines; a resumed step replaces the earlier record', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agave-curves-'));
    const m = join(dir, 'metrics.jsonl');
    const lines = [
      { type: 'train', step: 1, pixelcnn: 9, aux: 8, kl: 0.1 },
      { type: 'train', step: 2, pixelcnn: 8, aux: 7, kl: 0.2 },
      { type: 'eval', step: 2, testBitsPerDim: 7.5, aux: 7, kl: 0.05, psnr: 15 },
      { type: 'train', step: 2, pixelcnn: 7.9, aux: 6.9, kl: 0.3 },
    ].map((r) => JSON.stringify(r));
    writeFileSync(m, lines.join('\n') + '\n{"type":"train","st');
    const recs = readMetrics(m);
    expect(recs).toHaveLength(4);
    const panels = curvesPanels(recs);
    expect(panels.map((p) => p.title)).toEqual(['training loss terms', 'test bits/dim (EMA weights)', 'KL(q(z|x) || p(z))', 'VAE reconstruction f(z) vs y']);
    expect(panels[0]!.series[0]!.points).toEqual([[1, 9], [2, 7.9]]);
    expect(panels[3]!.series[0]!.points).toEqual([[2, 15]]);
    writeCurves(m, join(dir, 'curves.svg'), 'x');
    expect(wellFormed(readFileSync(join(dir, 'curves.svg'), 'utf8'))).toBe(true);
    expect(readMetrics(join(dir, 'missing.jsonl'))).toEqual([]);
  });

  it('smooth is a trailing mean', () => {
    expect(smooth([[1, 1], [2, 3], [3, 5], [4, 7]], 2)).toEqual([[1, 1], [2, 2], [3, 4], [4, 6]]);
    expect(smooth([[1, 1]], 1)).toEqual([[1, 1]]);
  });
});

describe('image rows', () => {
  it('upscale repeats each pixel f x f', () => {
    const img = Uint8Array.from([1, 2, 3, 4]); // 2x2, 1 channel
    expect([...upscale(img, 1, 2, 2, 1, 2)]).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    expect(upscale(img, 1, 2, 2, 1, 1)).toBe(img);
  });

  it('rows survive the JSON round trip', () => {
    const dir = mkdtempSync(join(tmpdir(), 'agave-rows-'));
    const p = join(dir, 'g.json');
    const rows = { size: 2, channels: 3, cols: 2, rows: [{ label: 'test x', images: Uint8Array.from({ length: 24 }, (_, i) => i * 10) }] };
    saveRows(p, rows);
    expect(existsSync(p)).toBe(true);
    const back = loadRows(p);
    expect(back.size).toBe(2);
    expect(back.rows[0]!.label).toBe('test x');
    expect([...back.rows[0]!.images]).toEqual([...rows.rows[0]!.images]);
  });

  it('psnr of a mean squared error in 0..255 units', () => {
    expect(psnr(255 * 255)).toBeCloseTo(0, 10);
    expect(psnr(65.025)).toBeCloseTo(30, 3);
    expect(psnr(0)).toBe(Infinity);
  });
});
