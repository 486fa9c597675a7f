// The four panels of a run's training curves (curves.svg, and a page's live chart from the same records): the
// training loss terms, the test bits/dim, the KL and the VAE's reconstruction PSNR against the step.
import { chartSvg, type Panel } from './svg.js';

export interface MetricsRecord {
  type: 'train' | 'eval';
  step: number;
  [key: string]: unknown;
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

/** The whole curves.svg document of a run's records, titled `training curves: <title>`. */
export function curvesSvg(title: string, records: MetricsRecord[]): string {
  return chartSvg(`training curves: ${title}`, curvesPanels(records));
}
