// The paper's Figure 2 (samples of the IAF-VAE, PixelCNN++ and AGAVE from one code base) drawn from finished
// runs: `experiment samples --checkpoints DIR,...` and the baselines experiment's report.
import { writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { MODEL_KIND_NAMES } from '../../model/agave.js';
import { writeLabelledRows } from '../evaluate/images.js';
import { modelSamples } from '../evaluate/sampling.js';
import { formatDuration } from '../run/metrics.js';
import type { StopSignal } from '../run/folder.js';
import { optionsOfCheckpoint, setupRun } from '../step/setup.js';
import type { Logger } from '../types.js';
import { evalsOf, fix, KIND_LABEL } from './common.js';

/**
 * The paper's Figure 2 from finished runs: `experiment samples --checkpoints DIR,DIR,...` (run folders or
 * their checkpoint.agave files, typically one per model kind: --model vae, pixelcnn, agave). Each run is
 * reopened with its own settings (from its checkpoint) and its EMA weights, and draws n samples
 * (train/evaluate/sampling.ts modelSamples: the VAE's decoder mean and a draw from p(x|z), the PixelCNN++'s
 * unconditional samples, AGAVE's f(z) and x); one PNG with a block of rows per run, and results.md with each
 * run's last test bits/dim.
 */
export async function figure2(list: string[], out: string, n: number, data: string | undefined, log: Logger, stop?: StopSignal): Promise<void> {
  const t0 = performance.now();
  const { png, table, count } = await drawFigure2(list, out, n, data, log, stop);
  const md = [
    '# Figure 2: samples of the IAF-VAE, PixelCNN++ and AGAVE from one code base',
    '',
    `Command: \`node train.js experiment samples --checkpoints ${list.join(',')}\``,
    '',
    `**The paper:** ${FIGURE2_PAPER}`,
    '',
    ...table,
    '',
    `Wall time: ${formatDuration((performance.now() - t0) / 1000)}.`,
    '',
  ];
  writeFileSync(join(out, 'results.md'), md.join('\n'));
  log(`Figure 2 (${count} model(s)): ${png}; ${join(out, 'results.md')}`);
}

export const FIGURE2_PAPER = 'Fig. 2 shows samples of the IAF-VAE (blurry, globally coherent), PixelCNN++ (sharp, locally coherent) and AGAVE (sharp with global structure from f(z)); Table 1: PixelCNN++ 2.92, VAE-IAF <= 3.11, AGAVE <= 2.92 bits/dim.';

/** Draws Figure 2 (figure2-samples.png and .json in `out`) from finished runs; returns the lines of its results table. */
export async function drawFigure2(list: string[], out: string, n: number, data: string | undefined, log: Logger, stop?: StopSignal): Promise<{ png: string; table: string[]; count: number }> {
  const dirs = list.map((p) => (p.endsWith('.agave') ? dirname(p) : p));
  const rows: { label: string; images: Uint8Array }[] = [];
  const table: string[] = [];
  let shape: { size: number; channels: number } | null = null;
  const t0 = performance.now();
  for (const dir of dirs) {
    const o = { ...optionsOfCheckpoint(dir), ...(data !== undefined ? { data } : {}), ...(stop ? { stopSignal: stop } : {}) };
    const run = await setupRun(o, () => undefined);
    try {
      const kind = run.model.kind;
      const size = run.model.cfg.imageSize;
      const channels = run.model.channels;
      if (shape && (shape.size !== size || shape.channels !== channels)) {
        throw new Error(`${dir}: its images are ${size}x${size}x${channels}, the runs before it ${shape.size}x${shape.size}x${shape.channels}: one figure needs one image shape`);
      }
      shape = { size, channels };
      log(`[${basename(resolve(dir))}] ${MODEL_KIND_NAMES[kind]}, step ${run.startStep}: drawing ${n} samples`);
      const sm = await modelSamples(run, n, (l) => log(`[${basename(resolve(dir))}] ${l}`), 0xc0000000);
      for (const r of sm.rows) rows.push({ label: `${KIND_LABEL[kind]}: ${r.label}`, images: r.images });
      const ev = evalsOf(dir).at(-1);
      table.push(`| ${KIND_LABEL[kind]} | \`${dir}\` | ${run.startStep} | ${fix(ev?.testBitsPerDim)} | ${fix(ev?.iwBitsPerDim)} | ${sm.what.replace(/\|/g, '\\|')} |`);
    } finally {
      run.dispose();
    }
  }
  if (!shape) throw new Error('--checkpoints names no run');
  const png = join(out, 'figure2-samples.png');
  writeLabelledRows(png, rows, n, shape.size, shape.channels, join(out, 'figure2-samples.json'));
  return {
    png,
    count: dirs.length,
    table: [
      `\`figure2-samples.png\`: ${n} samples per model with its EMA weights (${formatDuration((performance.now() - t0) / 1000)}). IAF-VAE: the decoder mean f(z) for z from the prior and a draw x ~ p(x|z) (each pixel from its discretized logistic, K = 256); PixelCNN++: unconditional autoregressive samples; AGAVE: f(z) for z from the prior and x sampled by the PixelCNN conditioned on it.`,
      '',
      '| model | run | step | test bits/dim (last evaluation) | importance-weighted | drawn |',
      '|---|---|---|---|---|---|',
      ...table,
    ],
  };
}

