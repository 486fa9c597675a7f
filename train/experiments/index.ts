// The paper's experiments as commands: `node train.js experiment <name> [--preset quick|paper] [--out DIR]`.
// An experiment is a table entry: the runs it trains (each an ordinary run folder under OUT, so it resumes
// like any run: a finished run is skipped, an interrupted one continues from its checkpoint) and a report
// that turns their metrics and grids into figure.svg, figures as PNG and results.md. The quick presets are
// sized for a 2-core CPU with lavapipe; the paper presets are the paper's settings, for a GPU, and print
// their expected cost before they start.
// One file per experiment in this folder (its runs and its report); common.ts holds what they share, folder.ts
// the experiment folder's rules (which runs may be reused).
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CONFIGS, type ModelConfig } from '../../model/config.js';
import { writeFileAtomic } from '../common/files.js';
import { readCheckpointStep } from '../run/checkpoint-file.js';
import { loadDataset } from '../data/datasets.js';
import { dataFingerprint, describeData, type DataFingerprint } from '../data/fingerprint.js';
import { formatDuration } from '../run/metrics.js';
import { CHECKPOINT_FILE, METRICS_FILE, StopRequested, type StopSignal } from '../run/folder.js';
import { configAt, modelImageSize, resolveRecipe, runSignature } from '../step/setup.js';
import { signalExitCode } from '../run/signals.js';
import { train, type Logger, type TrainOptions } from '../trainer.js';
import { AUX_IMAGES } from './aux-images.js';
import { AUX_REMOVAL } from './aux-removal.js';
import { BASELINES } from './baselines.js';
import { evalsOf, settingsTable, type Experiment, type PlannedRun, type PresetName, type RunOutcome } from './common.js';
import { figure2 } from './figure2.js';
import { hasCheckpoint, openExperimentFolder, recordExperiment, runState, type RunWanted } from './folder.js';
import { LAMBDA } from './lambda.js';
import { LEVELS } from './levels.js';
import { SAMPLES } from './samples.js';
import { TABLE1 } from './table1.js';

export type { PresetName } from './common.js';

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
 * (`stop`, from train/run/signals.ts: the current run finished its step and wrote a checkpoint; the same command
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
  const dataId = await dataFingerprint(data);
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
