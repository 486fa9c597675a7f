// curves.svg of a run, drawn from its metrics.jsonl at each evaluation: the training loss terms, the test
// bits/dim, the KL and the VAE's reconstruction PSNR against the step.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { chartSvg, type Panel } from './svg.js';

export interface MetricsRecord {
  type: 'train' | 'eval';
  step: number;
  [key: string]: unknown;
}

/** The records of a metrics.jsonl file (lines that do not parse are skipped: a run killed mid-write). */
export function readMetrics(path: string): MetricsRecord[] {
  if (!existsSync(path)) return [];
  const out: MetricsRecord[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as MetricsRecord;
      if ((r.type === 'train' || r.type === 'eval') && typeof r.step === 'number') out.push(r);
    } catch {
      // a torn last line
    }
  }
  return out;
}

/** Mean over a trailing window, so noisy per-step losses read as a curve. */
export function smooth(points: [number, number][], window: number): [number, number][] {
  if (window <= 1) return points;
  let sum = 0;
  return points.map(([x, y], i) => {
    sum += y;
    if (i >= window) sum -= points[i - window]![1];
    return [x, sum / Math.min(i + 1, window)];
  });
}

function series(records: MetricsRecord[], type: 'train' | 'eval', key: string): [number, number][] {
  return records.filter((r) => r.type === type && typeof r[key] === 'number').map((r) => [r.step, r[key] as number]);
}

export function curvesPanels(records: MetricsRecord[]): Panel[] {
  // Later records of the same step replace earlier ones (a resumed run redoes steps).
  const last = new Map<string, MetricsRecord>();
  for (const r of records) last.set(`${r.type}:${r.step}`, r);
  const recs = [...last.values()].sort((a, b) => a.step - b.step);
  const nTrain = recs.filter((r) => r.type === 'train').length;
  const w = Math.max(1, Math.round(nTrain / 50));
  const avg = w > 1 ? ` (mean of ${w} steps)` : '';
  return [
    {
      title: 'training loss terms',
      xLabel: 'step',
      yLabel: 'bits/dim',
      series: [
        { name: `PixelCNN NLL${avg}`, points: smooth(series(recs, 'train', 'pixelcnn'), w) },
        { name: `aux NLL${avg}`, points: smooth(series(recs, 'train', 'aux'), w) },
      ],
    },
    {
      title: 'test bits/dim (EMA weights)',
      xLabel: 'step',
      yLabel: 'bits/dim',
      series: [
        { name: 'test -log p(x|z) + KL', points: series(recs, 'eval', 'testBitsPerDim'), markers: true },
        { name: 'aux NLL (VAE decoder)', points: series(recs, 'eval', 'aux'), markers: true },
      ],
    },
    {
      title: 'KL(q(z|x) || p(z))',
      xLabel: 'step',
      yLabel: 'bits/dim',
      logY: true,
      series: [
        { name: `train${avg}`, points: smooth(series(recs, 'train', 'kl'), w) },
        { name: 'test', points: series(recs, 'eval', 'kl'), markers: true },
      ],
    },
    {
      title: 'VAE reconstruction f(z) vs y',
      xLabel: 'step',
      yLabel: 'PSNR (dB)',
      series: [{ name: 'test PSNR', points: series(recs, 'eval', 'psnr'), markers: true }],
    },
  ];
}

/** (Re)writes curves.svg from the metrics file (atomically: a viewer never sees half a file). */
export function writeCurves(metricsPath: string, svgPath: string, title: string): void {
  const svg = chartSvg(`training curves: ${title}`, curvesPanels(readMetrics(metricsPath)));
  const tmp = `${svgPath}.tmp-${process.pid}`;
  writeFileSync(tmp, svg);
  renameSync(tmp, svgPath);
}
