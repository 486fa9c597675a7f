// The flags of `node train.js` and their help text (train/cli.ts runs them; tests parse them).
import { parseArgs } from 'node:util';
import { CONFIGS, configTable, type ConfigName } from '../model/config.js';
import type { AuxVariant } from '../engine/generative/index.js';
import { MODEL_KINDS, type ModelKind } from '../model/agave.js';
import { SAMPLER_KINDS, type SamplerKind } from '../model/sampler.js';
import { checkKindOptions } from './step/setup.js';
import type { TrainOptions } from './types.js';
import { newRunFolder } from './run/folder.js';
import { TUNE_MODES, type TuneMode } from '../engine/index.js';

export const HELP = `usage: node train.js [options]
       node train.js experiment <name> [--preset quick|paper] [--out DIR]   (the paper's experiments; --help there)

Train and evaluate AGAVE (Lucas & Verbeek 2018): an IAF-VAE whose decoder reconstructs an auxiliary image,
and a PixelCNN++ conditioned on that decoder output, on WebGPU. With no options it trains the 'quick' config
on the bundled CIFAR-10 sample (2,000 train / 500 test images, pooled to 16x16) with its recipe (400 steps,
about 4 minutes with lavapipe on 2 cores; a 9-minute time limit guards the default run, then the final
evaluation), printing the bits/dim as it goes, and writes metrics, curves.svg, PNG grids and a checkpoint to
a new run folder runs/<time> (runs/latest points to it). Why 16x16: at the end the run draws PixelCNN
reconstructions autoregressively (one network pass per pixel: 256 at 16x16, 1,024 at 32x32), and the VAE
learns visibly within the minutes a CPU gives it; '--config small' trains the same model at 32x32.

data and model
  --model KIND          agave (default) | pixelcnn | vae: AGAVE, or one of the paper's baselines from the same
                        code: pixelcnn = PixelCNN++ alone as in its paper (no conditioning stream, no VAE; the
                        DMOL likelihood, exact: bits/dim without KL); vae = the IAF-VAE alone, its decoder
                        modelling x with the discretized logistic (K = 256), trained on -log p(x|z) + lambda * KL
                        (lambda 1 by default, free bits) and evaluated like AGAVE (-log p(x|z) + KL, single-sample
                        and importance-weighted). Same config sizes, data, checkpoints (a resume with another
                        kind is refused), grids and samples. AGAVE-only flags (--aux, --levels, the phases,
                        --drop-aux-at; --lambda for pixelcnn) are refused for the baselines
  --data DIR            CIFAR-10 binary batches (data_batch_*.bin[.gz] + test_batch.bin[.gz]) or the four
                        Fashion-MNIST IDX files (.gz or raw). Default: the bundled sample. The model is built for
                        the data's own size (Fashion-MNIST: 28x28), or the config's size when that pools the data
                        by an integer factor (CIFAR-10 32x32 -> 16x16 for 'quick'); never padded, so bits/dim
                        count real pixels only
  --config NAME         tiny | quick | small | paper (default quick):
${configTable()}
  --aux VARIANT         auxiliary image y: identity | levels | RxR (a lower resolution dividing the image's:
                        16x16 or 8x8 for 32x32 images, 14x14 or 7x7 for 28x28) | gray4 (4-bit grayscale)
                        (default identity)
  --levels K            colour levels of the auxiliary likelihood (with --aux levels; 2 <= K, 256 % K == 0)
  --lambda L            weight of the KL term (default: the config's recipe; 2 = the sum of two ELBOs; the
                        paper's best used 12, the 'paper' recipe)
  --dropout P           override the PixelCNN++ dropout of the config
  --image-size N        build the model for N x N (a multiple of 4 dividing the data's size: the data is
                        average-pooled to it; bits/dim count N*N*C dimensions)
  --aux-scale-init M    data (default): the aux decoder's per-channel log-scale starts at the logistic that
                        matches the residuals y - f(z) of the init batch (about -2 on CIFAR), so the VAE learns
                        from the first step; zero: the IAF code's log-scale 0 (scale 1 against data in
                        (-0.5, 0.5): the reconstruction term is nearly flat and the posterior collapses)

optimisation
  --steps N             training steps (default: the config's recipe)
  --batch N             batch size (default: the config's recipe)
  --lr LR               Adamax learning rate, > 0 (default: the recipe's 0.002, no decay)
  --ema DECAY           one Polyak averaging decay for all evaluation weights (default: the recipe's 0.999 for
                        the VAE, 0.9995 for the PixelCNN; warmed up as min(DECAY, (1 + step) / (10 + step)))
  --pretrain N          the paper's pre-training: the first N steps (after any sequential phases) train the VAE
                        and the PixelCNN at once but independently (the PixelCNN conditioned on the detached
                        f(z)), then the joint objective (default: the config's recipe)
  --seed N              seed of the initialisation, data order, dropout and latent noise (default 1)
  --vae-pretrain N      sequential pre-training: first N steps train the VAE alone (aux recon + lambda * KL) (default 0)
  --pixelcnn-pretrain N next N steps train the PixelCNN alone, conditioned on the detached VAE output (default 0)
  --drop-aux-at N       control experiment: from step N on, the auxiliary loss is dropped from the objective
  --train-images N      use only the first N training images
  --agave-samples N     after training, draw N samples of the model: AGAVE: z from the prior, then H*W PixelCNN
                        pixels drawn conditioned on f(z) (agave-samples.png; see --sampler);
                        --model pixelcnn: H*W unconditional passes (pixelcnn-samples.png); --model vae: z from the
                        prior, the decoder mean f(z) and a draw x ~ p(x|z) (vae-samples.png). With --resume and
                        --steps equal to the checkpoint's step it only samples. --samples N is the same flag.
  --sampler KIND        autoregressive PixelCNN sampling (samples, reconstructions, figures): cached (default:
                        after each pixel only the activations it changes are recomputed) or naive (a full network
                        pass per pixel, the reference); the same seed draws the same images either way

output and control
  --out DIR             run folder: metrics.jsonl, samples-step*.png, checkpoint.agave, run.lock (default: a
                        new runs/<time> per run, runs/latest pointing to it; with --resume: runs/latest).
                        One run per folder: a folder holding a checkpoint or metrics is refused without
                        --resume or --overwrite; a folder in use by a live run is refused (its lock names it)
  --eval-every N        evaluate every N steps and at the end (default 40)
  --eval-images N       test images per evaluation (default 96)
  --pixelcnn-recon N    the final evaluation's grid adds PixelCNN reconstructions: N test images sampled
                        autoregressively given their f(z), H*W network passes (default 8; 0: off); for
                        --model pixelcnn, N unconditional PixelCNN++ samples
  --iw-samples K        the final evaluation also reports the importance-weighted bound with K samples
                        (docs/MODEL.md §4; the paper used 150; costs K evaluations) (default 1: off)
  --checkpoint-every N  write a checkpoint every N steps and at the end (default 40)
  --resume              continue from OUT/checkpoint.agave (same settings and same data required; --steps may
                        grow); metrics.jsonl is trimmed to the checkpoint's step
  --overwrite           start afresh in an OUT that holds a run: its files are moved into OUT/replaced-<time>/
  --time-limit MIN      stop after MIN minutes with a checkpoint (continue with --resume); default 9 when
                        no --steps is given (the quick default run), none otherwise; 0 disables
  --log-every N         progress line every N steps (default 10)
  --check-gpu           print the WebGPU adapter and exit
  --tune MODE           kernel choices by measurement on this device: on (default; the environment variable
                        AGAVE_TUNE sets another default): before the first step, the kernel variants of each op's
                        problem are raced on the GPU (checked against the static choice first), within a budget,
                        and the winners cached; cached: only winners cached earlier; off: the built-in static
                        choices (measured on lavapipe)
  --tune-cache DIR      where tuned winners are cached (default $XDG_CACHE_HOME/agave-webgpu, else
                        ~/.cache/agave-webgpu)
  --precision P         f32 (default) | mixed: matmuls and convolutions hold their operands in f16 and accumulate
                        in f32 (needs the adapter feature shader-f16); master weights, Adamax state, the loss and
                        the likelihoods stay f32; dynamic loss scaling, a step whose gradients overflow is skipped
                        (logged). Part of the run's settings (a resume keeps it)
  --tune-budget S       seconds tuning may take at the start of a run (default 90); buckets left over keep the
                        static choice and are tuned by a later run

data-parallel training over several GPUs and machines (docs/DISTRIBUTED.md)
  --distributed mpi     run as one rank of  mpirun -np N node train.js --distributed mpi [flags]  (or srun
                        --mpi=pmix): each rank trains on its own GPU, --batch (and the recipe's batch) is per
                        rank, the global batch N times it (the learning rate is not scaled); gradients are
                        averaged with MPI_Allreduce; rank 0 alone writes the run folder. Needs Open MPI
                        (apt-get install openmpi-bin) and koffi (npm install koffi@3), loaded only by this flag
  --checksum-every K    verify every K steps (and before every checkpoint) that all ranks hold the same
                        parameters, EMA and Adamax state; a mismatch stops the run (default 100)
  --collective-timeout S  a rank that does not reach a collective within S seconds ends the job, named
                        (default 600)
  --rescale-batch HOW   resume on another number of ranks (or one process) than the checkpoint's: global
                        (keep its global batch: per-rank batch = global / N; without --batch it is derived) or
                        per-rank (keep --batch per rank: the global batch changes)
  Ctrl-C / SIGTERM      finish the current step, write a checkpoint, print how to continue, exit 130 / 143;
                        a second one exits at once (the last checkpoint is intact)
  -h, --help            this help

Evaluation reports the single-sample bound -log p(x|z) + KL (lambda = 1, true KL, PixelCNN NLL, EMA weights,
no dropout) in bits/dim over the test images, and writes a PNG grid of test images, VAE reconstructions and
VAE samples. Requires a WebGPU adapter: a GPU driver, or Mesa >= 24 lavapipe (see README).
`;

// Numbers are parsed strictly: decimal notation only (no hex, binary, octal, 'Infinity' or empty strings, which
// Number() would accept), finite, integers where integers are meant; every error names the flag.
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
/** The largest finite float32: values sent to the GPU as f32 uniforms must stay below it. */
const F32_MAX = 3.4028234663852886e38;

function decimal(name: string, v: string): number {
  if (!DECIMAL.test(v)) throw new Error(`--${name} must be a decimal number, got '${v}'`);
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a finite number, got '${v}'`);
  return n;
}

function int(name: string, v: string | undefined, def: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return def;
  const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`;
  if (!DECIMAL.test(v)) throw new Error(`--${name} must be an integer ${range} (decimal digits), got '${v}'`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer ${range}, got '${v}'`);
  return n;
}

interface Range {
  /** Lower bound, exclusive when `gt`. */
  min?: number;
  gt?: boolean;
  /** Upper bound, exclusive when `lt`. */
  max?: number;
  lt?: boolean;
}

function num(name: string, v: string | undefined, def: number, r: Range = {}): number {
  if (v === undefined) return def;
  const n = decimal(name, v);
  const min = r.min ?? -F32_MAX;
  const max = r.max ?? F32_MAX;
  const lo = r.gt ? n > min : n >= min;
  const hi = r.lt ? n < max : n <= max;
  if (!lo || !hi) {
    const bound = (x: number): string => (Math.abs(x) === F32_MAX ? `${x < 0 ? '-' : ''}3.4e38 (the largest float32)` : String(x));
    const parts: string[] = [];
    if (r.min !== undefined || !lo) parts.push(`${r.gt ? '>' : '>='} ${bound(min)}`);
    if (r.max !== undefined || !hi) parts.push(`${r.lt ? '<' : '<='} ${bound(max)}`);
    throw new Error(`--${name} must be a number ${parts.join(' and ')}, got '${v}'`);
  }
  return n;
}

/**
 * `--flag -1` reaches parseArgs as an option followed by something that looks like another option ("argument is
 * ambiguous"); join such a pair into `--flag=-1` so the value gets a range error naming the flag.
 */
function joinNegativeValues(argv: readonly string[], stringFlags: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (a.startsWith('--') && !a.includes('=') && stringFlags.has(a.slice(2)) && next !== undefined && /^-(\d|\.\d|inf|nan)/i.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

const AUX = ['identity', 'levels', 'gray4'];

const OPTIONS = {
  model: { type: 'string' },
  data: { type: 'string' },
  config: { type: 'string' },
  aux: { type: 'string' },
  levels: { type: 'string' },
  lambda: { type: 'string' },
  dropout: { type: 'string' },
  steps: { type: 'string' },
  batch: { type: 'string' },
  lr: { type: 'string' },
  ema: { type: 'string' },
  seed: { type: 'string' },
  'vae-pretrain': { type: 'string' },
  pretrain: { type: 'string' },
  'image-size': { type: 'string' },
  'aux-scale-init': { type: 'string' },
  'pixelcnn-recon': { type: 'string' },
  'pixelcnn-pretrain': { type: 'string' },
  'drop-aux-at': { type: 'string' },
  'train-images': { type: 'string' },
  'agave-samples': { type: 'string' },
  samples: { type: 'string' },
  sampler: { type: 'string' },
  'iw-samples': { type: 'string' },
  out: { type: 'string' },
  'eval-every': { type: 'string' },
  'eval-images': { type: 'string' },
  'checkpoint-every': { type: 'string' },
  resume: { type: 'boolean' },
  'time-limit': { type: 'string' },
  'log-every': { type: 'string' },
  overwrite: { type: 'boolean' },
  'check-gpu': { type: 'boolean' },
  tune: { type: 'string' },
  'tune-cache': { type: 'string' },
  'tune-budget': { type: 'string' },
  precision: { type: 'string' },
  distributed: { type: 'string' },
  'checksum-every': { type: 'string' },
  'collective-timeout': { type: 'string' },
  'rescale-batch': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const STRING_FLAGS = new Set(Object.entries(OPTIONS).filter(([, d]) => d.type === 'string').map(([k]) => k));

/** The CLI's default run folder root: each run without --out writes to runs/<time>, runs/latest points to it. */
export const RUNS_ROOT = 'runs';

export function parseOptions(argv: string[]): TrainOptions | 'help' | 'check-gpu' {
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv, STRING_FLAGS), allowPositionals: true, options: OPTIONS });
  } catch (e) {
    // Node's messages are about parsing; keep them, but say where to look.
    throw new Error(`${(e as Error).message.split('\n')[0]} (see --help)`);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (values['check-gpu']) return 'check-gpu';
  if (positionals.length) throw new Error(`unexpected argument '${positionals[0]}' (see --help)`);
  const config = (values.config ?? 'quick') as ConfigName;
  if (!Object.hasOwn(CONFIGS, config)) throw new Error(`--config must be one of ${Object.keys(CONFIGS).join(', ')}, got '${values.config}'`);
  const aux = (values.aux ?? 'identity') as AuxVariant;
  const res = /^([1-9]\d*)x([1-9]\d*)$/.exec(aux);
  if (!AUX.includes(aux) && !(res && res[1] === res[2])) throw new Error(`--aux must be one of ${AUX.join(', ')} or a square resolution RxR (e.g. 16x16), got '${values.aux}'`);
  if (aux === 'levels' && values.levels === undefined) throw new Error('--aux levels needs --levels K');
  const resume = values.resume ?? false;
  const overwrite = values.overwrite ?? false;
  if (resume && overwrite) throw new Error('--resume and --overwrite contradict each other: --resume continues the run in --out, --overwrite replaces it');
  if (values.out !== undefined && values.out.trim() === '') throw new Error(`--out must name a folder, got '${values.out}'`);
  const o: TrainOptions = {
    config,
    aux,
    seed: int('seed', values.seed, 1),
    // Without --out: a new folder per run (runs/<time>, with runs/latest pointing to it); --resume: runs/latest.
    out: values.out ?? (resume ? `${RUNS_ROOT}/latest` : newRunFolder(RUNS_ROOT)),
    evalEvery: int('eval-every', values['eval-every'], 40, 1),
    evalImages: int('eval-images', values['eval-images'], 96, 1),
    checkpointEvery: int('checkpoint-every', values['checkpoint-every'], 40, 1),
    resume,
    vaePretrain: int('vae-pretrain', values['vae-pretrain'], 0),
    pixelcnnPretrain: int('pixelcnn-pretrain', values['pixelcnn-pretrain'], 0),
    pixelcnnRecon: int('pixelcnn-recon', values['pixelcnn-recon'], 8),
    logEvery: int('log-every', values['log-every'], 10, 1),
  };
  if (overwrite) o.overwrite = true;
  if (values.out === undefined && !resume) o.linkLatest = true;
  if (values.data !== undefined) {
    if (values.data.trim() === '') throw new Error(`--data must name a folder, got '${values.data}' (without --data: the bundled CIFAR-10 sample)`);
    o.data = values.data;
  }
  // Recipe entries: absent flags take the config's recipe (model/config.ts).
  if (values.steps !== undefined) o.steps = int('steps', values.steps, 1, 1);
  if (values.lambda !== undefined) o.lambda = num('lambda', values.lambda, 2, { min: 0 });
  if (values.lr !== undefined) o.lr = num('lr', values.lr, 0.002, { min: 0, gt: true });
  if (values.ema !== undefined) o.emaDecay = num('ema', values.ema, 0.999, { min: 0, max: 1, lt: true });
  if (values.pretrain !== undefined) o.pretrain = int('pretrain', values.pretrain, 0);
  if (values['image-size'] !== undefined) {
    o.imageSize = int('image-size', values['image-size'], 32, 8, 4096);
    if (o.imageSize % 4 !== 0) throw new Error(`--image-size must be a multiple of 4 (the PixelCNN++'s three stages), got '${values['image-size']}'`);
  }
  if (values['aux-scale-init'] !== undefined) {
    const m = values['aux-scale-init'];
    if (m !== 'data' && m !== 'zero') throw new Error(`--aux-scale-init must be data or zero, got '${m}'`);
    o.auxScaleInit = m;
  }
  if (values.levels !== undefined) {
    o.levels = int('levels', values.levels, 256, 2, 256);
    if (256 % o.levels !== 0) throw new Error(`--levels must divide 256 (2, 4, 8, 16, 32, 64, 128 or 256), got '${values.levels}'`);
  }
  if (values.batch !== undefined) o.batch = int('batch', values.batch, 1, 1);
  if (values['drop-aux-at'] !== undefined) o.dropAuxAt = int('drop-aux-at', values['drop-aux-at'], 0);
  if (values.dropout !== undefined) o.dropout = num('dropout', values.dropout, 0, { min: 0, max: 1, lt: true });
  const limit = values['time-limit'] !== undefined ? num('time-limit', values['time-limit'], 0, { min: 0 }) : values.steps === undefined ? 9 : 0;
  if (limit > 0) o.timeLimitMinutes = limit;
  if (values['train-images'] !== undefined) o.trainImages = int('train-images', values['train-images'], 1, 1);
  if (values['iw-samples'] !== undefined) o.iwSamples = int('iw-samples', values['iw-samples'], 1, 1);
  if (values['agave-samples'] !== undefined && values.samples !== undefined) throw new Error('--samples and --agave-samples are the same flag: give one');
  if (values['agave-samples'] !== undefined) o.agaveSamples = int('agave-samples', values['agave-samples'], 0, 0);
  if (values.samples !== undefined) o.agaveSamples = int('samples', values.samples, 0, 0);
  if (values.sampler !== undefined) {
    if (!(SAMPLER_KINDS as readonly string[]).includes(values.sampler)) throw new Error(`--sampler must be one of ${SAMPLER_KINDS.join(', ')}, got '${values.sampler}'`);
    o.sampler = values.sampler as SamplerKind;
  }
  if (values.model !== undefined) {
    if (!(MODEL_KINDS as readonly string[]).includes(values.model)) throw new Error(`--model must be one of ${MODEL_KINDS.join(', ')}, got '${values.model}'`);
    if (values.model !== 'agave') o.kind = values.model as ModelKind;
  }
  // The CLI tunes by default; AGAVE_TUNE changes that default (the test suite sets it to off), --tune overrides both.
  const envTune = process.env.AGAVE_TUNE;
  const tune = values.tune ?? (envTune !== undefined && envTune !== '' ? envTune : 'on');
  const what = values.tune !== undefined ? '--tune' : 'AGAVE_TUNE';
  if (!(TUNE_MODES as readonly string[]).includes(tune)) throw new Error(`${what} must be one of ${TUNE_MODES.join(', ')}, got '${tune}'`);
  o.tune = tune as TuneMode;
  if (values['tune-cache'] !== undefined) {
    if (values['tune-cache'].trim() === '') throw new Error(`--tune-cache must name a folder, got '${values['tune-cache']}'`);
    o.tuneCache = values['tune-cache'];
  }
  if (values.precision !== undefined) {
    if (values.precision !== 'f32' && values.precision !== 'mixed') throw new Error(`--precision must be f32 or mixed, got '${values.precision}'`);
    if (values.precision === 'mixed') o.precision = 'mixed';
  }
  if (values['tune-budget'] !== undefined) o.tuneBudgetSeconds = num('tune-budget', values['tune-budget'], 90, { min: 0, gt: true });
  if (values.distributed !== undefined) {
    if (values.distributed !== 'mpi') throw new Error(`--distributed must be mpi (the only backend), got '${values.distributed}'`);
    o.distributed = {
      backend: 'mpi',
      checksumEvery: int('checksum-every', values['checksum-every'], 100, 1),
      timeoutSeconds: num('collective-timeout', values['collective-timeout'], 600, { min: 1 }),
    };
  } else {
    for (const f of ['checksum-every', 'collective-timeout'] as const) if (values[f] !== undefined) throw new Error(`--${f} only applies with --distributed mpi`);
  }
  if (values['rescale-batch'] !== undefined) {
    const v = values['rescale-batch'];
    if (v !== 'global' && v !== 'per-rank') throw new Error(`--rescale-batch must be global or per-rank, got '${v}'`);
    if (!resume) throw new Error('--rescale-batch only applies with --resume (a checkpoint trained on another number of ranks)');
    o.rescaleBatch = v;
  }
  checkKindOptions(o);
  return o;
}

