// What every experiment shares: the plan of a run, the experiment's table entry, the outcome of its runs and
// the helpers its report draws with (sweep panels, grids of several runs, the results tables).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readCheckpointMeta } from '../run/checkpoint-file.js';
import { validateCheckpointMeta } from '../run/checkpoint-state.js';
import { readMetrics } from '../figures/curves.js';
import { loadRows, writeLabelledRows } from '../evaluate/images.js';
import { formatDuration } from '../run/metrics.js';
import { CHECKPOINT_FILE, METRICS_FILE } from '../run/folder.js';
import type { Panel, Series } from '../figures/svg.js';
import type { EvalRecord, Logger, TrainOptions } from '../types.js';

export type PresetName = 'quick' | 'paper';

export interface PlannedRun {
  /** Folder name under OUT and the label in tables and figures. */
  name: string;
  label: string;
  options: Partial<TrainOptions>;
  /** Start from another run's checkpoint at this step (the run is trained there first). */
  fork?: { from: string; step: number };
}

export interface Experiment {
  name: string;
  title: string;
  /** What the paper shows, for results.md. */
  paper: string;
  quickSteps: number;
  runs(p: PresetName, steps: number, imageSize: number): PlannedRun[];
  /** Extra work after training (samples, bounds) and the report. */
  report(x: ReportContext): Promise<void>;
}

export interface RunOutcome {
  run: PlannedRun;
  dir: string;
  evals: EvalRecord[];
  final: EvalRecord;
  wallSeconds: number;
}

export interface ReportContext {
  exp: Experiment;
  preset: PresetName;
  out: string;
  outcomes: RunOutcome[];
  base: Omit<TrainOptions, 'out'>;
  log: Logger;
  /** The lines of results.md so far (settings, runs); reports add their tables. */
  md: string[];
}

export const fix = (v: number | null | undefined, d = 3): string => (v === undefined || v === null || !Number.isFinite(v) ? '-' : v.toFixed(d));

export function evalsOf(dir: string): EvalRecord[] {
  return readMetrics(join(dir, METRICS_FILE)).filter((r) => r.type === 'eval') as unknown as EvalRecord[];
}

/** The panels of a sweep: one x per run, several y keys per panel. */
export function sweepPanel(title: string, xLabel: string, xs: number[], outcomes: RunOutcome[], lines: { name: string; value: (e: EvalRecord) => number | null }[], logX = false, yLabel = 'bits/dim'): Panel {
  // A term a run's model kind lacks (null) leaves its point out.
  const series: Series[] = lines.map((l) => ({ name: l.name, markers: true, points: outcomes.flatMap((o, i) => { const v = l.value(o.final); return v === null ? [] : [[xs[i]!, v] as [number, number]]; }) }));
  return { title, xLabel, yLabel, series, xTicks: xs, logX };
}

/** One PNG of several runs' final grids: for each run its label row then its rows (the test row only once). */
export function composeGrids(path: string, outcomes: RunOutcome[], pick: (label: string) => boolean): void {
  let size = 0;
  let channels = 0;
  let cols = 0;
  const rows: { label: string; images: Uint8Array }[] = [];
  outcomes.forEach((o, i) => {
    const g = join(o.dir, 'grid-latest.json');
    if (!existsSync(g)) return;
    const r = loadRows(g);
    size = r.size;
    channels = r.channels;
    cols = r.cols;
    for (const row of r.rows) {
      if (row.label === 'test x') {
        if (i === 0) rows.push(row);
        continue;
      }
      if (pick(row.label)) rows.push({ label: `${o.run.label}: ${row.label}`, images: row.images });
    }
    const a = join(o.dir, 'agave-samples.json');
    if (existsSync(a) && pick('AGAVE x')) {
      const s = loadRows(a);
      const x = s.rows.find((q) => q.label === 'AGAVE x');
      if (x && s.cols === cols) rows.push({ label: `${o.run.label}: AGAVE x`, images: x.images });
      else if (x) rows.push({ label: `${o.run.label}: AGAVE x`, images: padRow(x.images, s.cols, cols, size * size * channels) });
    }
  });
  if (rows.length) writeLabelledRows(path, rows, cols, size, channels);
}

export function padRow(images: Uint8Array, have: number, want: number, one: number): Uint8Array {
  const out = new Uint8Array(want * one);
  out.set(images.subarray(0, Math.min(have, want) * one));
  return out;
}

export function runsTable(outcomes: RunOutcome[]): string[] {
  return [
    '| run | steps | test bits/dim | PixelCNN -log p(x\\|z) | KL | aux NLL (bits/dim of y) | recon PSNR (dB) | active latents | wall time |',
    '|---|---|---|---|---|---|---|---|---|',
    ...outcomes.map((o) => `| ${o.run.label} | ${o.final.step} | ${fix(o.final.testBitsPerDim)} | ${fix(o.final.pixelcnn)} | ${fix(o.final.kl, 4)} | ${fix(o.final.aux)} | ${fix(o.final.psnr, 1)} | ${o.final.activeLatents ?? '-'}/${o.final.latentChannels ?? '-'} | ${o.wallSeconds > 0 ? formatDuration(o.wallSeconds) : '(earlier)'} |`),
  ];
}

/** One row per run: the settings its checkpoint records (what really produced its numbers). */
export function settingsTable(outcomes: RunOutcome[]): string[] {
  const rows = outcomes.map((o) => {
    const path = join(o.dir, CHECKPOINT_FILE);
    const s = validateCheckpointMeta(readCheckpointMeta(path), path).signature;
    const v = (k: string): string => (s[k] === null || s[k] === undefined ? '-' : String(s[k]));
    return `| ${o.run.label} | ${v('kind')} | ${v('config')} | ${v('imageSize')}x${v('imageSize')} | ${v('aux')} | ${v('levels')} | ${v('lambda')} | ${v('batch')} | ${v('lr')} | ${v('dropAuxAt')} | ${v('seed')} |`;
  });
  return ['| run | model | config | image size | aux image | levels | lambda | batch | lr | aux dropped at | seed |', '|---|---|---|---|---|---|---|---|---|---|---|', ...rows];
}

/** Short names of the model kinds in figures. */
export const KIND_LABEL = { agave: 'AGAVE', pixelcnn: 'PixelCNN++', vae: 'IAF-VAE' } as const;
