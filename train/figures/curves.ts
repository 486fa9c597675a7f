// curves.svg of a run, drawn from its metrics.jsonl at each evaluation (Node): the panels are
// train/figures/curve-panels.ts, which a page draws live from the same records.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { curvesSvg, type MetricsRecord } from './curve-panels.js';

export { curvesPanels, curvesSvg, smooth, type MetricsRecord } from './curve-panels.js';

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

/** (Re)writes curves.svg from the metrics file (atomically: a viewer never sees half a file). */
export function writeCurves(metricsPath: string, svgPath: string, title: string): void {
  const svg = curvesSvg(title, readMetrics(metricsPath));
  const tmp = `${svgPath}.tmp-${process.pid}`;
  writeFileSync(tmp, svg);
  renameSync(tmp, svgPath);
}
