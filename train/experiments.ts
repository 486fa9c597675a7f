// The paper's experiments as commands: `node train.js experiment <name> [--preset quick|paper] [--out DIR]`.
// An experiment is a table entry: the runs it trains (each an ordinary run folder under OUT, so it resumes
// like any run: a finished run is skipped, an interrupted one continues from its checkpoint) and a report
// that turns their metrics and grids into figure.svg, figures as PNG and results.md. The quick presets are
// sized for a 2-core CPU with lavapipe; the paper presets are the paper's settings, for a GPU, and print
// their expected cost before they start.
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ops } from '../engine/index.js';
import { Agave, Ctx, MODEL_KIND_NAMES, toPixels } from '../model/agave.js';
import { CONFIGS, type ModelConfig } from '../model/config.js';
import { readCheckpointMeta, writeFileAtomic } from './checkpoint-io.js';
import { readCheckpointStep, validateCheckpointMeta } from './checkpoint-state.js';
import { hasCheckpoint, openExperimentFolder, recordExperiment, runState, type RunWanted } from './experiment-folder.js';
import { CHECKPOINT_FILE, METRICS_FILE, StopRequested, type StopSignal } from './run-folder.js';
import { readMetrics } from './curves.js';
import { gatherBatch, loadDataset } from './data.js';
import { dataFingerprint, describeData, type DataFingerprint } from './fingerprint.js';
import { signalExitCode } from './signals.js';
import { auxToDisplay, evaluate, loadRows, modelSamples, samplePixelcnn, writeLabelledRows, type ImageRows } from './evaluate.js';
import { formatDuration } from './metrics.js';
import { configAt, modelImageSize, optionsOfCheckpoint, resolveRecipe, runSignature, setupRun } from './setup.js';
import { chartSvg, type Panel, type Series } from './svg.js';
import { train, type EvalRecord, type Logger, type TrainOptions } from './trainer.js';

export type PresetName = 'quick' | 'paper';

const COMMON = { aux: 'identity', seed: 1, resume: false, vaePretrain: 0, pixelcnnPretrain: 0, logEvery: 20 } as const;

/**
 * quick: the small model on CIFAR-10 pooled to 16x16 (every PixelCNN sample is 256 passes instead of 1,024),
 * batch 8; paper: the paper's model and recipe at 32x32 (model/config.ts 'paper'). What the runs really use
 * (after --config, --image-size and the data) is described by describeSettings().
 */
function preset(name: PresetName, steps: number): Omit<TrainOptions, 'out'> {
  if (name === 'quick') {
    return { ...COMMON, config: 'small', imageSize: 16, steps, evalEvery: Math.max(1, Math.round(steps / 4)), evalImages: 64, checkpointEvery: Math.max(1, Math.round(steps / 4)), pixelcnnRecon: 4, agaveSamples: 4 };
  }
  const r = CONFIGS.paper.recipe;
  return { ...COMMON, config: 'paper', steps: r.steps, evalEvery: 5000, evalImages: 10000, checkpointEvery: 1000, pixelcnnRecon: 8, agaveSamples: 8, logEvery: 100 };
}

/** The settings every run of this invocation shares, in words: the config and size really used, the data, batch, steps. */
function describeSettings(cfg: ModelConfig, data: DataFingerprint, batch: number, steps: number): string {
  return `${cfg.name} config (${cfg.description}) on ${describeData(data)}, batch ${batch}, ${steps} steps per run`;
}

interface PlannedRun {
  /** Folder name under OUT and the label in tables and figures. */
  name: string;
  label: string;
  options: Partial<TrainOptions>;
  /** Start from another run's checkpoint at this step (the run is trained there first). */
  fork?: { from: string; step: number };
}

interface Experiment {
  name: string;
  title: string;
  /** What the paper shows, for results.md. */
  paper: string;
  quickSteps: number;
  runs(p: PresetName, steps: number, imageSize: number): PlannedRun[];
  /** Extra work after training (samples, bounds) and the report. */
  report(x: ReportContext): Promise<void>;
}

interface RunOutcome {
  run: PlannedRun;
  dir: string;
  evals: EvalRecord[];
  final: EvalRecord;
  wallSeconds: number;
}

interface ReportContext {
  exp: Experiment;
  preset: PresetName;
  out: string;
  outcomes: RunOutcome[];
  base: Omit<TrainOptions, 'out'>;
  log: Logger;
  /** The lines of results.md so far (settings, runs); reports add their tables. */
  md: string[];
}

const fix = (v: number | null | undefined, d = 3): string => (v === undefined || v === null || !Number.isFinite(v) ? '-' : v.toFixed(d));

function evalsOf(dir: string): EvalRecord[] {
  return readMetrics(join(dir, METRICS_FILE)).filter((r) => r.type === 'eval') as unknown as EvalRecord[];
}

/** The step of a run folder's checkpoint (0: none), from its header alone (a paper-config checkpoint is ~1.6 GB). */
function checkpointStep(dir: string): number {
  const p = join(dir, CHECKPOINT_FILE);
  return existsSync(p) ? readCheckpointStep(p) : 0;
}

/**
 * Trains one planned run to `w.steps`: skipped when finished with these settings, resumed from its checkpoint,
 * started again when it stopped before its first checkpoint, refused (runState) when it holds other settings.
 * `stopped`: a graceful stop (Ctrl-C) ended it with a checkpoint.
 */
async function ensureRun(run: PlannedRun, options: TrainOptions, w: RunWanted, log: Logger): Promise<{ wall: number; stopped: boolean }> {
  const st = runState(w);
  if (st.state === 'done') {
    log(`[${run.name}] already trained to step ${st.step}: skipped`);
    return { wall: 0, stopped: false };
  }
  const prefixed: Logger = (l) => log(`[${run.name}] ${l}`);
  if (st.state === 'restart') prefixed(`stopped before its first checkpoint: starting it again (its files moved to ${join(w.dir, 'replaced-<time>')}/)`);
  const t0 = performance.now();
  const r = await train({ ...options, steps: w.steps, resume: st.state === 'resume', overwrite: st.state === 'restart' }, prefixed);
  const wall = (performance.now() - t0) / 1000;
  if (r.stoppedEarly === 'nan') throw new Error(`experiment run ${run.name} stopped on a non-finite loss or evaluation; see ${options.out}`);
  if (r.stoppedEarly === 'signal') return { wall, stopped: true };
  if (r.stoppedEarly) throw new Error(`experiment run ${run.name} stopped early (${r.stoppedEarly}); run the experiment again to continue`);
  return { wall, stopped: false };
}

/** The panels of a sweep: one x per run, several y keys per panel. */
function sweepPanel(title: string, xLabel: string, xs: number[], outcomes: RunOutcome[], lines: { name: string; value: (e: EvalRecord) => number | null }[], logX = false, yLabel = 'bits/dim'): Panel {
  // A term a run's model kind lacks (null) leaves its point out.
  const series: Series[] = lines.map((l) => ({ name: l.name, markers: true, points: outcomes.flatMap((o, i) => { const v = l.value(o.final); return v === null ? [] : [[xs[i]!, v] as [number, number]]; }) }));
  return { title, xLabel, yLabel, series, xTicks: xs, logX };
}

/** One PNG of several runs' final grids: for each run its label row then its rows (the test row only once). */
function composeGrids(path: string, outcomes: RunOutcome[], pick: (label: string) => boolean): void {
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

function padRow(images: Uint8Array, have: number, want: number, one: number): Uint8Array {
  const out = new Uint8Array(want * one);
  out.set(images.subarray(0, Math.min(have, want) * one));
  return out;
}

function runsTable(outcomes: RunOutcome[]): string[] {
  return [
    '| run | steps | test bits/dim | PixelCNN -log p(x\\|z) | KL | aux NLL (bits/dim of y) | recon PSNR (dB) | active latents | wall time |',
    '|---|---|---|---|---|---|---|---|---|',
    ...outcomes.map((o) => `| ${o.run.label} | ${o.final.step} | ${fix(o.final.testBitsPerDim)} | ${fix(o.final.pixelcnn)} | ${fix(o.final.kl, 4)} | ${fix(o.final.aux)} | ${fix(o.final.psnr, 1)} | ${o.final.activeLatents ?? '-'}/${o.final.latentChannels ?? '-'} | ${o.wallSeconds > 0 ? formatDuration(o.wallSeconds) : '(earlier)'} |`),
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// The experiments

const LAMBDA: Experiment = {
  name: 'lambda',
  title: 'Figure 4 / Figure 3: the KL weight lambda',
  paper: 'As lambda grows the KL falls towards 0, the VAE reconstruction cost rises quickly and the PixelCNN reconstruction cost slowly; lambda 1 -> 2 gains ~0.2 bits/dim, larger lambda small further gains (best: lambda 12, 2.92 bits/dim).',
  quickSteps: 150,
  runs: (p) => (p === 'quick' ? [1, 2, 4, 8, 12] : [1, 2, 4, 8, 12]).map((l) => ({ name: `lambda-${l}`, label: `lambda ${l}`, options: { lambda: l } })),
  async report(x) {
    const xs = x.outcomes.map((o) => o.run.options.lambda!);
    const panels: Panel[] = [
      sweepPanel('PixelCNN decoder', 'lambda', xs, x.outcomes, [
        { name: 'total: -log p(x|z) + KL', value: (e) => e.testBitsPerDim },
        { name: 'reconstruction -log p(x|z)', value: (e) => e.pixelcnn },
        { name: 'KL', value: (e) => e.kl },
      ]),
      sweepPanel('VAE decoder', 'lambda', xs, x.outcomes, [
        { name: 'total: -log p(y|z) + KL', value: (e) => (e.aux === null ? null : e.aux + e.kl) },
        { name: 'reconstruction -log p(y|z)', value: (e) => e.aux },
        { name: 'KL', value: (e) => e.kl },
      ]),
      sweepPanel('KL (log scale)', 'lambda', xs, x.outcomes, [{ name: 'KL', value: (e) => e.kl }]),
      sweepPanel('VAE reconstruction quality', 'lambda', xs, x.outcomes, [{ name: 'PSNR of f(z) vs y', value: (e) => e.psnr }], false, 'dB'),
    ];
    panels[2]!.logY = true;
    writeFileSync(join(x.out, 'figure.svg'), chartSvg(`AGAVE: effect of lambda (${x.preset} preset)`, panels));
    composeGrids(join(x.out, 'reconstructions-and-samples.png'), x.outcomes, () => true);
    x.md.push('', '## Results', '', ...runsTable(x.outcomes), '');
    const kls = x.outcomes.map((o) => o.final.kl);
    const falls = kls.every((k, i) => i === 0 || k <= kls[i - 1]! * 1.05);
    x.md.push(`KL against lambda: ${kls.map((k) => fix(k, 4)).join(', ')} bits/dim: ${falls ? 'falls as lambda grows, as in the paper' : 'NOT monotone in this run'}.`, '');
    x.md.push('Figures: `figure.svg` (bits/dim of both decoders split into reconstruction and KL, against lambda), `reconstructions-and-samples.png` (per lambda: VAE reconstructions f(z), PixelCNN reconstructions given f(z), VAE samples, AGAVE samples).');
  },
};

const AUX_REMOVAL: Experiment = {
  name: 'aux-removal',
  title: 'Figure 7: removing the auxiliary loss',
  paper: 'Trained with the auxiliary loss the model keeps a non-zero KL; once the auxiliary loss is removed the KL collapses to zero within ~2,000 steps and the PixelCNN ignores z.',
  quickSteps: 300,
  runs: (_p, steps) => {
    const at = Math.round(steps / 2);
    return [
      { name: 'with-aux', label: 'with the aux loss', options: { agaveSamples: 0, pixelcnnRecon: 0 } },
      { name: 'aux-dropped', label: `aux loss dropped at step ${at}`, options: { dropAuxAt: at, agaveSamples: 0, pixelcnnRecon: 0 }, fork: { from: 'with-aux', step: at } },
    ];
  },
  async report(x) {
    const at = x.outcomes[1]!.run.options.dropAuxAt!;
    const panels: Panel[] = [];
    const trainKl = (dir: string): [number, number][] => readMetrics(join(dir, METRICS_FILE)).filter((r) => r.type === 'train').map((r) => [r.step, r.kl as number]);
    const evalKl = (o: RunOutcome): [number, number][] => o.evals.map((e) => [e.step, e.kl]);
    const marker: Series = { name: `aux loss dropped (step ${at})`, dashed: true, points: [] };
    const all = x.outcomes.flatMap((o) => evalKl(o).map((p) => p[1])).filter((v) => v > 0);
    if (all.length) marker.points = [[at, Math.min(...all)], [at, Math.max(...all)]];
    panels.push({ title: 'test KL (EMA weights)', xLabel: 'step', yLabel: 'bits/dim', logY: true, series: [...x.outcomes.map((o) => ({ name: o.run.label, markers: true, points: evalKl(o) })), marker] });
    panels.push({ title: 'training KL per step', xLabel: 'step', yLabel: 'bits/dim', logY: true, series: x.outcomes.map((o) => ({ name: o.run.label, points: trainKl(o.dir) })) });
    panels.push({ title: 'VAE reconstruction PSNR', xLabel: 'step', yLabel: 'dB', series: x.outcomes.map((o) => ({ name: o.run.label, markers: true, points: o.evals.map((e) => [e.step, e.psnr] as [number, number]) })) });
    panels.push({ title: 'test bits/dim', xLabel: 'step', yLabel: 'bits/dim', series: x.outcomes.map((o) => ({ name: o.run.label, markers: true, points: o.evals.map((e) => [e.step, e.testBitsPerDim] as [number, number]) })) });
    writeFileSync(join(x.out, 'figure.svg'), chartSvg(`AGAVE: KL after removing the auxiliary loss (${x.preset} preset)`, panels));
    // Reconstructions before the drop (the shared checkpoint's grid) and at the end of both runs.
    const before = join(x.out, 'with-aux', `grid-step${at}.json`);
    const rows: { label: string; images: Uint8Array }[] = [];
    let meta: ImageRows | null = null;
    if (existsSync(before)) {
      meta = loadRows(before);
      rows.push(...meta.rows.filter((r) => r.label === 'test x'), ...meta.rows.filter((r) => r.label === 'VAE f(z)').map((r) => ({ ...r, label: `step ${at}: f(z)` })));
    }
    for (const o of x.outcomes) {
      const g = join(o.dir, 'grid-latest.json');
      if (!existsSync(g)) continue;
      const r = loadRows(g);
      meta ??= r;
      if (!rows.length) rows.push(...r.rows.filter((q) => q.label === 'test x'));
      rows.push(...r.rows.filter((q) => q.label === 'VAE f(z)').map((q) => ({ ...q, label: `${o.run.name} end: f(z)` })));
    }
    if (meta) writeLabelledRows(join(x.out, 'reconstructions.png'), rows, meta.cols, meta.size, meta.channels);
    const klAt = (o: RunOutcome, step: number): number | undefined => o.evals.find((e) => e.step === step)?.kl;
    const [a, b] = x.outcomes as [RunOutcome, RunOutcome];
    const k0 = klAt(a, at);
    x.md.push('', '## Results', '', ...runsTable(x.outcomes), '');
    x.md.push('| step | KL with the aux loss | KL after dropping it at step ' + at + ' |', '|---|---|---|');
    const steps = [...new Set([...a.evals, ...b.evals].map((e) => e.step))].sort((p, q) => p - q);
    for (const s of steps) x.md.push(`| ${s} | ${fix(klAt(a, s), 4)} | ${s <= at ? '(same run)' : fix(klAt(b, s), 4)} |`);
    const kEndA = a.final.kl;
    const kEndB = b.final.kl;
    x.md.push('', `KL at the drop ${fix(k0, 4)} bits/dim; at the end ${fix(kEndA, 4)} with the aux loss and ${fix(kEndB, 4)} without it ` +
      `(${k0 !== undefined && kEndB < 0.5 * Math.min(k0, kEndA) ? 'collapses after the drop and not before, as in the paper' : 'no clear collapse in this run'}).`);
    x.md.push('', 'Figures: `figure.svg` (KL, PSNR and bits/dim against the step, both runs), `reconstructions.png` (f(z) at the drop and at the end of each run).');
  },
};

const LEVELS: Experiment = {
  name: 'levels',
  title: 'Figure 8: colour levels K of the auxiliary likelihood',
  paper: 'Fewer colour levels in the auxiliary image give small but consistent gains in bits/dim (Fig. 5b/8, lambda 8); the VAE then models only coarse colour and leaves detail to the PixelCNN.',
  quickSteps: 150,
  runs: () => [256, 64, 32, 16].map((k) => ({ name: `levels-${k}`, label: `K ${k}`, options: k === 256 ? { lambda: 8 } : { aux: 'levels' as const, levels: k, lambda: 8 } })),
  async report(x) {
    const xs = [256, 64, 32, 16];
    const panels: Panel[] = [
      sweepPanel('PixelCNN decoder (the model of x)', 'colour levels K of y', xs, x.outcomes, [
        { name: 'total: -log p(x|z) + KL', value: (e) => e.testBitsPerDim },
        { name: '-log p(x|z)', value: (e) => e.pixelcnn },
      ], true),
      sweepPanel('KL', 'colour levels K of y', xs, x.outcomes, [{ name: 'KL', value: (e) => e.kl }], true),
      sweepPanel('VAE decoder', 'colour levels K of y', xs, x.outcomes, [{ name: '-log p(y|z) (bits per dim of y)', value: (e) => e.aux }], true),
      sweepPanel('VAE reconstruction quality', 'colour levels K of y', xs, x.outcomes, [{ name: 'PSNR of f(z) vs y', value: (e) => e.psnr }], true, 'dB'),
    ];
    writeFileSync(join(x.out, 'figure.svg'), chartSvg(`AGAVE: colour levels of the auxiliary image (${x.preset} preset, lambda 8)`, panels));
    composeGrids(join(x.out, 'reconstructions-and-samples.png'), x.outcomes, () => true);
    x.md.push('', '## Results', '', ...runsTable(x.outcomes), '', 'Figures: `figure.svg` (bits/dim against K), `reconstructions-and-samples.png` (per K).');
  },
};

const AUX_IMAGES: Experiment = {
  name: 'aux-images',
  title: 'Figure 9 / section 4.5: low-resolution and grayscale auxiliary images',
  paper: 'Auxiliary images of 16x16 (2.94 bits/dim) and 8x8 (2.93) at 32x32 work almost as well as the full image (2.92); 4-bit grayscale: ECML version only (values not recovered).',
  quickSteps: 150,
  runs: (_p, _steps, size) => {
    const [half, quarter] = [`${size / 2}x${size / 2}`, `${size / 4}x${size / 4}`];
    return [
      { name: 'full', label: 'full image', options: { lambda: 8 } },
      { name: `res-${half}`, label: `${half} (half res.)`, options: { aux: half as TrainOptions['aux'], lambda: 8 } },
      { name: `res-${quarter}`, label: `${quarter} (quarter res.)`, options: { aux: quarter as TrainOptions['aux'], lambda: 8 } },
      { name: 'gray4', label: '4-bit gray', options: { aux: 'gray4', lambda: 8 } },
    ];
  },
  async report(x) {
    const xs = x.outcomes.map((_, i) => i + 1);
    const names = x.outcomes.map((o) => o.run.label).join(', ');
    const panels: Panel[] = [
      sweepPanel(`bits/dim per variant (${names})`, 'variant (1..4, see results.md)', xs, x.outcomes, [
        { name: 'total: -log p(x|z) + KL', value: (e) => e.testBitsPerDim },
        { name: '-log p(x|z)', value: (e) => e.pixelcnn },
      ]),
      sweepPanel('KL per variant', 'variant', xs, x.outcomes, [{ name: 'KL', value: (e) => e.kl }]),
    ];
    writeFileSync(join(x.out, 'figure.svg'), chartSvg(`AGAVE: auxiliary image variants (${x.preset} preset, lambda 8)`, panels));
    composeGrids(join(x.out, 'reconstructions-and-samples.png'), x.outcomes, () => true);
    x.md.push('', '## Results', '', ...runsTable(x.outcomes), '', 'Variants on the x axis of `figure.svg`: ' + x.outcomes.map((o, i) => `${i + 1} = ${o.run.label}`).join(', ') + '. `reconstructions-and-samples.png`: per variant the VAE output f(z) (at the aux resolution, shown enlarged), PixelCNN samples given it, VAE and AGAVE samples.');
  },
};

const SAMPLES: Experiment = {
  name: 'samples',
  title: 'Figures 5 and 6: samples for z from the prior, and latent interpolations',
  paper: 'Fig. 5 (lambda 8): each f(z) with several PixelCNN samples: they share the global structure and colours of f(z) and differ in detail. Fig. 6: interpolating z between encoded test images changes f(z) smoothly and the full model follows.',
  quickSteps: 300,
  runs: () => [{ name: 'model', label: 'lambda 8', options: { lambda: 8, agaveSamples: 0, pixelcnnRecon: 0 } }],
  async report(x) {
    const o = x.outcomes[0]!;
    const run = await setupRun({ ...x.base, ...o.run.options, out: o.dir, resume: true }, () => undefined);
    try {
      const { engine, model, params } = run;
      const S = model.cfg.imageSize;
      const C = model.channels;
      const nz = 4;
      const per = x.preset === 'quick' ? 6 : 10;
      const fig5 = await params.withEma(async () => {
        const ctx = new Ctx(engine, params, false, false, { p: 0, seed: 7 }, 0xb0000000);
        const fz = engine.noGrad(() => model.auxMean(model.vae.sample(ctx, nz)));
        const rep = engine.noGrad(() => ops.reshape(ops.broadcastTo(ops.reshape(fz, [nz, 1, ...fz.shape.slice(1)]), [nz, per, ...fz.shape.slice(1)]), [nz * per, ...fz.shape.slice(1)])).keep();
        const f = await engine.noGrad(() => toPixels(fz)).read();
        fz.dispose();
        try {
          const xs = await samplePixelcnn(run, rep, 0xb1000000, x.log, `Figure 5 samples (${nz} x ${per})`);
          return { f, xs };
        } finally {
          rep.dispose();
        }
      });
      // Figure 5: one row per z: f(z), then its samples.
      const one = S * S * C;
      const fShow = auxToDisplay(fig5.f, nz, model, S, C);
      const rows5 = Array.from({ length: nz }, (_, i) => {
        const row = new Uint8Array((per + 1) * one);
        row.set(fShow.subarray(i * one, (i + 1) * one), 0);
        for (let j = 0; j < per; j++) row.set(Uint8Array.from(fig5.xs.subarray((i * per + j) * one, (i * per + j + 1) * one), Math.round), (j + 1) * one);
        return { label: `z${i + 1}: f(z), x`, images: row };
      });
      writeLabelledRows(join(x.out, 'figure5-samples.png'), rows5, per + 1, S, C);
      // Figure 6: interpolations between pairs of encoded test images.
      const pairs: [number, number][] = [[0, 1], [2, 3]];
      const T = 7;
      const fig6 = await params.withEma(async () => {
        const ctx = new Ctx(engine, params, false, false, { p: 0, seed: 7 }, 0xb2000000);
        const idx = pairs.flat();
        const xb = engine.tensor(gatherBatch(run.testSet, idx), [idx.length, S, S, C]);
        const zs = engine.noGrad(() => model.vae.encodeLatents(ctx, Agave.vaeInput(xb)));
        const interp = engine.noGrad(() =>
          zs.map((z) => {
            const parts: ReturnType<typeof ops.add>[] = [];
            const shape = z.shape.slice(1);
            pairs.forEach((_, p) => {
              const a = ops.slice(z, [2 * p, 0, 0, 0], [2 * p + 1, ...shape]);
              const b = ops.slice(z, [2 * p + 1, 0, 0, 0], [2 * p + 2, ...shape]);
              for (let t = 0; t < T; t++) parts.push(ops.add(ops.mulScalar(a, 1 - t / (T - 1)), ops.mulScalar(b, t / (T - 1))));
            });
            return ops.concat(parts, 0);
          }),
        );
        const fz = engine.noGrad(() => model.auxMean(model.vae.decodeLatents(ctx, interp))).keep();
        const f = await engine.noGrad(() => toPixels(fz)).read();
        const originals = gatherBatch(run.testSet, idx);
        xb.dispose();
        for (const t of [...zs, ...interp]) t.dispose();
        try {
          const xs = await samplePixelcnn(run, fz, 0xb3000000, x.log, `Figure 6 interpolations (${pairs.length} x ${T})`);
          return { f, xs, originals };
        } finally {
          fz.dispose();
        }
      });
      const fShow6 = auxToDisplay(fig6.f, pairs.length * T, model, S, C);
      const rows6: { label: string; images: Uint8Array }[] = [];
      pairs.forEach((pr, p) => {
        const ends = new Uint8Array((T + 2) * one);
        ends.set(fig6.originals.subarray(2 * p * one, (2 * p + 1) * one), 0);
        ends.set(fig6.originals.subarray((2 * p + 1) * one, (2 * p + 2) * one), (T + 1) * one);
        const fRow = new Uint8Array((T + 2) * one);
        fRow.set(fShow6.subarray(p * T * one, (p + 1) * T * one), one);
        const xRow = new Uint8Array((T + 2) * one);
        xRow.set(Uint8Array.from(fig6.xs.subarray(p * T * one, (p + 1) * T * one), Math.round), one);
        rows6.push({ label: `test ${pr[0]}, ${pr[1]}`, images: ends }, { label: 'f(z_t)', images: fRow }, { label: 'x | f(z_t)', images: xRow });
      });
      writeLabelledRows(join(x.out, 'figure6-interpolations.png'), rows6, T + 2, S, C);
      x.md.push('', '## Results', '', ...runsTable(x.outcomes), '',
        `- \`figure5-samples.png\`: ${nz} draws z from the prior; each row is f(z) followed by ${per} PixelCNN samples conditioned on it.`,
        `- \`figure6-interpolations.png\`: for ${pairs.length} pairs of test images (first row: the two images at the ends), z of each encoded (one posterior sample), linearly interpolated in ${T} steps; rows f(z_t) and PixelCNN samples conditioned on f(z_t).`);
    } finally {
      run.dispose();
    }
  },
};

/** Short names of the model kinds in figures. */
const KIND_LABEL = { agave: 'AGAVE', pixelcnn: 'PixelCNN++', vae: 'IAF-VAE' } as const;

/**
 * The paper's Figure 2 from finished runs: `experiment samples --checkpoints DIR,DIR,...` (run folders or
 * their checkpoint.agave files, typically one per model kind: --model vae, pixelcnn, agave). Each run is
 * reopened with its own settings (from its checkpoint) and its EMA weights, and draws n samples
 * (train/evaluate.ts modelSamples: the VAE's decoder mean and a draw from p(x|z), the PixelCNN++'s
 * unconditional samples, AGAVE's f(z) and x); one PNG with a block of rows per run, and results.md with each
 * run's last test bits/dim.
 */
async function figure2(list: string[], out: string, n: number, data: string | undefined, log: Logger, stop?: StopSignal): Promise<void> {
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

const FIGURE2_PAPER = 'Fig. 2 shows samples of the IAF-VAE (blurry, globally coherent), PixelCNN++ (sharp, locally coherent) and AGAVE (sharp with global structure from f(z)); Table 1: PixelCNN++ 2.92, VAE-IAF <= 3.11, AGAVE <= 2.92 bits/dim.';

/** Draws Figure 2 (figure2-samples.png and .json in `out`) from finished runs; returns the lines of its results table. */
async function drawFigure2(list: string[], out: string, n: number, data: string | undefined, log: Logger, stop?: StopSignal): Promise<{ png: string; table: string[]; count: number }> {
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

const BASELINES: Experiment = {
  name: 'baselines',
  title: 'Table 1 and Figure 2: AGAVE beside its baselines PixelCNN++ alone and the IAF-VAE alone',
  paper: FIGURE2_PAPER,
  quickSteps: 300,
  runs: () => [
    { name: 'vae', label: 'IAF-VAE', options: { kind: 'vae', agaveSamples: 0, pixelcnnRecon: 0 } },
    { name: 'pixelcnn', label: 'PixelCNN++', options: { kind: 'pixelcnn', agaveSamples: 0, pixelcnnRecon: 0 } },
    { name: 'agave', label: 'AGAVE', options: { agaveSamples: 0, pixelcnnRecon: 0 } },
  ],
  async report(x) {
    const n = x.preset === 'quick' ? 8 : 16;
    const fig = await drawFigure2(x.outcomes.map((o) => o.dir), x.out, n, x.base.data, x.log, x.base.stopSignal);
    x.md.push('', '## Results', '', 'The same config, data, steps and evaluation for the three models (the baselines are parts of AGAVE trained alone: `--model vae`, `--model pixelcnn`). Test bits/dim: PixelCNN++ exact; IAF-VAE and AGAVE the single-sample bound -log p(x|z) + KL (for the IAF-VAE, -log p(x|z) is the `aux` column: its decoder models x).', '', ...runsTable(x.outcomes), '', ...fig.table);
  },
};

/** Table 1 of the paper (CIFAR-10 test bits/dim), printed beside ours. */
const PAPER_TABLE1: [string, string][] = [
  ['NICE', '4.48'], ['Conv. DRAW', '<= 3.58'], ['Real NVP', '3.49'], ['MatNet', '<= 3.24'], ['PixelCNN', '3.14'], ['VAE-IAF', '<= 3.11'],
  ['Gated PixelCNN', '3.03'], ['PixelRNN', '3.00'], ['Aux. PixelCNN', '2.98'], ['Lossy VAE', '<= 2.95'], ['PixelCNN++', '2.92'], ['AGAVE (lambda 12)', '<= 2.92'],
];

const TABLE1: Experiment = {
  name: 'table1',
  title: 'Table 1: the importance-weighted bound',
  paper: 'AGAVE (lambda 12, 32x32 aux image): <= 2.92 bits/dim on the CIFAR-10 test set with 150 importance samples.',
  quickSteps: 300,
  runs: () => [{ name: 'model', label: 'lambda 12', options: { lambda: 12, agaveSamples: 0, pixelcnnRecon: 0 } }],
  async report(x) {
    const o = x.outcomes[0]!;
    const K = 150;
    const images = x.preset === 'quick' ? 32 : 10000;
    const run = await setupRun({ ...x.base, ...o.run.options, out: o.dir, resume: true, evalImages: images }, () => undefined);
    let rec: EvalRecord;
    const t0 = performance.now();
    try {
      x.log(`importance-weighted bound: K=${K} samples on ${images} test images`);
      rec = await evaluate(run, run.startStep, x.log, { iw: K, pixelcnnRecon: 0 });
    } finally {
      run.dispose();
    }
    x.md.push('', '## Results', '', ...runsTable(x.outcomes), '',
      `Bounds of the trained model on ${rec.images} test images (${formatDuration((performance.now() - t0) / 1000)}):`, '',
      '| bound | bits/dim |', '|---|---|',
      `| single sample: -log p(x\\|z) + KL | ${fix(rec.testBitsPerDim)} |`,
      `| importance-weighted, K = ${K} | ${fix(rec.iwBitsPerDim)} |`, '',
      `The paper's Table 1 (CIFAR-10 test set, full models trained for days on GPUs; ${x.preset === 'quick' ? 'not comparable with the quick preset, whose model is tiny, trained for minutes on 16x16 images' : 'the paper preset is the comparable one'}):`, '',
      '| model | bits/dim |', '|---|---|', ...PAPER_TABLE1.map(([m, v]) => `| ${m} | ${v} |`));
  },
};

export const EXPERIMENTS: Experiment[] = [LAMBDA, AUX_REMOVAL, LEVELS, AUX_IMAGES, SAMPLES, TABLE1, BASELINES];

export const EXPERIMENT_HELP = `usage: node train.js experiment <name> [--preset quick|paper] [--out DIR] [--data DIR] [--steps N] [--overwrite]

Runs one of the paper's experiments: trains its runs (each a resumable run folder under OUT; run the same
command again to continue an interrupted experiment), then writes OUT/results.md (the command, settings,
steps, wall times, tables), OUT/figure.svg and PNG figures.

experiments
${EXPERIMENTS.map((e) => `  ${e.name.padEnd(12)} ${e.title}`).join('\n')}

options
  --preset P    quick (default): sized for a 2-core CPU with lavapipe (the small model, CIFAR-10 pooled to
                16x16, minutes per run); paper: the paper's model and recipe (a GPU; the expected cost is
                printed first)
  --out DIR     output folder (default runs/experiments/<name>-<preset>)
  --data DIR    data folder as for training (default: the bundled CIFAR-10 sample)
  --steps N     training steps per run (default: per experiment for quick, the recipe's for paper)
  --config C, --image-size N, --eval-images N
                override the preset's model config, image size and evaluation images (tests, small machines)
  --checkpoints DIR,DIR,...
                samples only: train nothing; draw samples of each finished run (run folders or their
                checkpoint.agave, e.g. one per --model kind: vae, pixelcnn, agave) and write the paper's
                Figure 2 as OUT/figure2-samples.png and OUT/results.md
  --samples N   with --checkpoints: samples per model (default 8)
  --overwrite   start afresh in an OUT that holds an earlier experiment: everything in it is moved into
                OUT/replaced-<time>/ (nothing is deleted)
  -h, --help    this help

A run already in OUT is reused only when its checkpoint was made with the settings and data this command asks
for (model, config, image size, recipe, aux image, lambda, evaluation images, not past --steps); otherwise the
command refuses and names the difference. Ctrl-C finishes the current step, writes a checkpoint and prints
the command that continues (the same one); results.md records the command that reproduces its table.
`;

/** Rough cost of the paper preset on a GPU: ~3x the forward FLOPs (docs/MODEL.md §7: ~79 GFLOP per image). */
function paperCost(runs: number, steps: number, batch: number): string {
  const flop = runs * steps * batch * 3 * 79e9;
  const hours = flop / 20e12 / 3600;
  return `${runs} run(s) x ${steps.toLocaleString('en-US')} steps x batch ${batch}: about ${(flop / 1e18).toFixed(1)} EFLOP, ~${hours.toFixed(0)} GPU-hours at a sustained 20 TFLOP/s`;
}

/** Arguments as one shell line (quoted where needed). */
function shellLine(args: readonly string[]): string {
  return args.map((a) => (/^[\w./=:,+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

const EXPERIMENT_OPTIONS = {
  preset: { type: 'string' },
  out: { type: 'string' },
  data: { type: 'string' },
  steps: { type: 'string' },
  config: { type: 'string' },
  'image-size': { type: 'string' },
  'eval-images': { type: 'string' },
  checkpoints: { type: 'string' },
  samples: { type: 'string' },
  overwrite: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * `node train.js experiment ...`. Returns the exit code: 0 done, 1 usage, 130 / 143 after a graceful stop
 * (`stop`, from train/signals.ts: the current run finished its step and wrote a checkpoint; the same command
 * continues). Throws (an Error naming the cause and the ways out) on bad flags or a refused folder.
 */
export async function runExperiment(argv: string[], log: Logger = console.log, stop?: StopSignal): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: EXPERIMENT_OPTIONS });
  } catch (e) {
    throw new Error(`${(e as Error).message.split('\n')[0]} (see node train.js experiment --help)`);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    log(EXPERIMENT_HELP);
    return values.help ? 0 : 1;
  }
  const exp = EXPERIMENTS.find((e) => e.name === positionals[0]);
  if (!exp) throw new Error(`unknown experiment '${positionals[0]}' (have ${EXPERIMENTS.map((e) => e.name).join(', ')})`);
  if (positionals.length > 1) throw new Error(`unexpected argument '${positionals[1]}' (see node train.js experiment --help)`);
  if (values.data !== undefined && values.data.trim() === '') throw new Error(`--data must name a folder, got '${values.data}' (without --data: the bundled CIFAR-10 sample)`);
  if (values.out !== undefined && values.out.trim() === '') throw new Error(`--out must name a folder, got '${values.out}'`);
  const overwrite = values.overwrite ?? false;
  // The command that continues after a stop: the same one, never with --overwrite (that would move the work aside).
  const continueLine = (): string => `node train.js ${shellLine(['experiment', ...argv.filter((a) => a !== '--overwrite')])}`;
  const stopped = (what: string): number => {
    log(`${stop?.signal ?? 'stop'}: ${what}`);
    log(`to continue: ${continueLine()}`);
    return signalExitCode(stop?.signal);
  };
  if (values.checkpoints !== undefined || values.samples !== undefined) {
    if (exp.name !== 'samples') throw new Error(`--checkpoints and --samples belong to the samples experiment, not ${exp.name}`);
    if (values.checkpoints === undefined) throw new Error('--samples needs --checkpoints DIR,DIR,...');
    const list = values.checkpoints.split(',').map((d) => d.trim()).filter((d) => d.length > 0);
    if (!list.length) throw new Error('--checkpoints must name at least one run folder');
    let n = 8;
    if (values.samples !== undefined) {
      if (!/^[1-9]\d*$/.test(values.samples)) throw new Error(`--samples must be a positive integer, got '${values.samples}'`);
      n = Number(values.samples);
    }
    const out = values.out ?? join('runs', 'experiments', 'figure2');
    const record = { experiment: 'samples --checkpoints', preset: '-', command: ['experiment', ...argv.filter((a) => a !== '--overwrite')] };
    const folder = openExperimentFolder(out, record, overwrite, log);
    try {
      recordExperiment(folder, record);
      await figure2(list, folder.dir, n, values.data, log, stop);
    } catch (e) {
      if (e instanceof StopRequested) return stopped(e.message);
      throw e;
    } finally {
      folder.release();
    }
    return 0;
  }
  const presetName = (values.preset ?? 'quick') as PresetName;
  if (presetName !== 'quick' && presetName !== 'paper') throw new Error(`--preset must be quick or paper, got '${values.preset}'`);
  const positive = (flag: string, v: string): number => {
    if (!/^[1-9]\d*$/.test(v)) throw new Error(`--${flag} must be a positive integer, got '${v}'`);
    return Number(v);
  };
  const steps = values.steps !== undefined ? positive('steps', values.steps) : presetName === 'quick' ? exp.quickSteps : CONFIGS.paper.recipe.steps;
  const base: Omit<TrainOptions, 'out'> = { ...preset(presetName, steps), steps, ...(values.data !== undefined ? { data: values.data } : {}) };
  if (values.config !== undefined) {
    if (!Object.hasOwn(CONFIGS, values.config)) throw new Error(`--config must be one of ${Object.keys(CONFIGS).join(', ')}, got '${values.config}'`);
    base.config = values.config as TrainOptions['config'];
  }
  if (values['image-size'] !== undefined) base.imageSize = positive('image-size', values['image-size']);
  if (values['eval-images'] !== undefined) base.evalImages = positive('eval-images', values['eval-images']);
  const out = values.out ?? join('runs', 'experiments', `${exp.name}-${presetName}`);
  // The command that reproduces this experiment's table: every flag that sets something, the defaults spelt out.
  const command = [
    'experiment', exp.name, '--preset', presetName,
    ...(values.config !== undefined ? ['--config', values.config] : []),
    ...(values['image-size'] !== undefined ? ['--image-size', values['image-size']] : []),
    ...(values['eval-images'] !== undefined ? ['--eval-images', values['eval-images']] : []),
    '--steps', String(steps),
    ...(values.data !== undefined ? ['--data', values.data] : []),
    '--out', out,
  ];
  // The data and the model size the runs will really have (checked against each run's checkpoint).
  const data = loadDataset(base.data);
  const dataId = dataFingerprint(data);
  const fit = modelImageSize(data.train.height, CONFIGS[base.config].imageSize, base.imageSize);
  const cfg = configAt(CONFIGS[base.config], fit.size);
  const runs = exp.runs(presetName, steps, fit.size);
  const recipe = resolveRecipe({ ...base, out });
  const record = { experiment: exp.name, preset: presetName, command, data: dataId };
  const folder = openExperimentFolder(out, record, overwrite, log);
  try {
    const settings = describeSettings(cfg, dataId, recipe.batch, steps);
    log(`experiment ${exp.name}: ${exp.title}`);
    log(`preset ${presetName}: ${settings}; ${runs.length} run(s) in ${out}`);
    if (presetName === 'paper') log(`expected cost: ${paperCost(runs.length, steps, recipe.batch)}`);
    // Every run of the plan is checked before any is trained: a refusal leaves everything as it was.
    const planned = runs.map((run) => {
      const options: TrainOptions = { ...base, ...run.options, out: join(folder.dir, run.name), ...(stop ? { stopSignal: stop } : {}), resumeHint: 'the same experiment command continues it' };
      const wanted = (target: number): RunWanted => ({
        dir: options.out, name: run.name, out, data: dataId, steps: target, evalImages: Math.min(options.evalImages, data.test.count),
        signature: runSignature(options, resolveRecipe(options), data.train.channels, fit.size),
      });
      return { run, options, wanted };
    });
    for (const p of planned) runState(p.wanted(p.options.steps!));
    recordExperiment(folder, record);
    const t0 = performance.now();
    const outcomes: RunOutcome[] = [];
    for (const { run, options, wanted } of planned) {
      let wall = 0;
      // Runs that fork from this one: train this one to the fork point first, then start each from a copy of
      // its checkpoint and metrics (so both share the steps before the fork exactly).
      for (const child of runs.filter((r) => r.fork?.from === run.name)) {
        const childDir = join(folder.dir, child.name);
        if (hasCheckpoint(childDir)) continue;
        const at = child.fork!.step;
        if (checkpointStep(options.out) > at) throw new Error(`${options.out} is already past step ${at}, where ${child.name} forks from it; add --overwrite to rerun this experiment (the earlier runs are moved aside)`);
        const r = await ensureRun(run, options, wanted(at), log);
        wall += r.wall;
        if (r.stopped) return stopped(`stopped ${run.name} before the fork point of ${child.name}`);
        mkdirSync(childDir, { recursive: true });
        for (const f of [CHECKPOINT_FILE, METRICS_FILE]) copyFileSync(join(options.out, f), join(childDir, f));
        if (existsSync(join(options.out, 'grid-latest.json'))) copyFileSync(join(options.out, 'grid-latest.json'), join(options.out, `grid-step${at}.json`));
      }
      const r = await ensureRun(run, options, wanted(options.steps!), log);
      wall += r.wall;
      if (r.stopped) return stopped(`experiment ${exp.name} stopped in run ${run.name} (its checkpoint is written)`);
      const evals = evalsOf(options.out);
      if (!evals.length) throw new Error(`run ${run.name} has no evaluation in ${options.out}/metrics.jsonl`);
      outcomes.push({ run, dir: options.out, evals, final: evals[evals.length - 1]!, wallSeconds: wall });
    }
    const md: string[] = [
      `# Experiment \`${exp.name}\`: ${exp.title}`,
      '',
      `Command: \`node train.js ${shellLine(command)}\``,
      '',
      `**The paper:** ${exp.paper}`,
      '',
      `**Settings:** ${settings}; Adamax lr ${recipe.lr}, EMA ${recipe.ema.vae} (VAE) / ${recipe.ema.pixelcnn} (PixelCNN), ` +
        `${recipe.pretrain} parallel pre-training steps, evaluation on ${Math.min(base.evalImages, data.test.count)} test images with the EMA weights; lambda and the auxiliary image per run as listed.`,
      '',
      'What each run really used (from its checkpoint):',
      '',
      ...settingsTable(outcomes),
    ];
    try {
      await exp.report({ exp, preset: presetName, out: folder.dir, outcomes, base: { ...base, ...(stop ? { stopSignal: stop } : {}) }, log, md });
    } catch (e) {
      if (e instanceof StopRequested) return stopped(`${e.message} (the runs are trained; the same command redoes the report)`);
      throw e;
    }
    const wall = (performance.now() - t0) / 1000;
    md.push('', `Wall time of this invocation: ${formatDuration(wall)} (runs trained earlier and skipped are not included).`, '');
    writeFileAtomic(join(folder.dir, 'results.md'), md.join('\n'));
    log(`experiment ${exp.name} done in ${formatDuration(wall)}: ${join(out, 'results.md')}`);
    return 0;
  } finally {
    folder.release();
  }
}

/** One row per run: the settings its checkpoint records (what really produced its numbers). */
function settingsTable(outcomes: RunOutcome[]): string[] {
  const rows = outcomes.map((o) => {
    const path = join(o.dir, CHECKPOINT_FILE);
    const s = validateCheckpointMeta(readCheckpointMeta(path), path).signature;
    const v = (k: string): string => (s[k] === null || s[k] === undefined ? '-' : String(s[k]));
    return `| ${o.run.label} | ${v('kind')} | ${v('config')} | ${v('imageSize')}x${v('imageSize')} | ${v('aux')} | ${v('levels')} | ${v('lambda')} | ${v('batch')} | ${v('lr')} | ${v('dropAuxAt')} | ${v('seed')} |`;
  });
  return ['| run | model | config | image size | aux image | levels | lambda | batch | lr | aux dropped at | seed |', '|---|---|---|---|---|---|---|---|---|---|---|', ...rows];
}
