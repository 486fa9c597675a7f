// A run, on any platform: the recipe resolved from the config table and the flags, data fitted to the model,
// the engine and parameters, and either the data-dependent init or the state of a checkpoint. The loop
// (train/step/loop.ts) and the evaluation (train/evaluate/evaluate.ts) work on the `Run` openRun returns. What is
// Node-only or page-only comes in through RunIO: the data, already loaded and validated, and the RunStore its
// outputs go to (train/step/setup.ts opens a run in Node; studio/ in a page).
import { Engine, ParameterSet } from '../../engine/index.js';
import { Agave, Ctx, MODEL_KIND_NAMES, type ModelKind, type Phase } from '../../model/agave.js';
import { CONFIGS, type ModelConfig } from '../../model/config.js';
import { BatchOrder, gatherBatch, type Dataset, type ImageSet } from '../data/image-sets.js';
import { checkResumeData, dataFingerprint, describeData, sameData } from '../data/fingerprint.js';
import { validateRunCheckpoint, type CheckpointMeta } from '../run/checkpoint-state.js';
import type { RunPaths, RunStore } from '../run/store.js';
import type { Logger, TrainOptions } from '../types.js';
import { rankChangeAllowed } from '../distributed/rank-change.js';
import { LossScaler } from './loss-scale.js';

/** The settings of a run after the config's recipe is applied to the flags. */
export interface Resolved {
  batch: number;
  steps: number;
  lambda: number;
  lr: number;
  /** EMA decay of the VAE's parameters (aux log-scale included) and of the PixelCNN's. */
  ema: { vae: number; pixelcnn: number };
  pretrain: number;
}

export function resolveRecipe(o: TrainOptions): Resolved {
  const r = CONFIGS[o.config].recipe;
  const kind = o.kind ?? 'agave';
  return {
    batch: o.batch ?? CONFIGS[o.config].batch,
    steps: o.steps ?? r.steps,
    // The baselines: the VAE alone is trained on its ELBO (lambda 1, free bits); the PixelCNN alone has no KL.
    lambda: o.lambda ?? (kind === 'agave' ? r.lambda : 1),
    lr: o.lr ?? r.lr,
    ema: o.emaDecay !== undefined ? { vae: o.emaDecay, pixelcnn: o.emaDecay } : { ...r.ema },
    // AGAVE's parallel pre-training has no meaning for a model of one part.
    pretrain: kind === 'agave' ? (o.pretrain ?? r.pretrain) : 0,
  };
}

/**
 * The settings that only AGAVE has, refused by flag for the baselines (PixelCNN++ alone, IAF-VAE alone):
 * the auxiliary image, the phases, the aux-removal control and, for the PixelCNN alone, lambda and the
 * aux log-scale init.
 */
export function checkKindOptions(o: Pick<TrainOptions, 'kind' | 'aux' | 'levels' | 'vaePretrain' | 'pixelcnnPretrain' | 'pretrain' | 'dropAuxAt' | 'lambda' | 'auxScaleInit'>): void {
  const kind = o.kind ?? 'agave';
  if (kind === 'agave') return;
  const bad: string[] = [];
  if (o.aux !== 'identity') bad.push(`--aux ${o.aux}`);
  if (o.levels !== undefined && o.levels !== 256) bad.push(`--levels ${o.levels}`);
  if (o.vaePretrain) bad.push('--vae-pretrain');
  if (o.pixelcnnPretrain) bad.push('--pixelcnn-pretrain');
  if (o.pretrain) bad.push('--pretrain');
  if (o.dropAuxAt !== undefined) bad.push('--drop-aux-at');
  if (kind === 'pixelcnn' && o.lambda !== undefined) bad.push('--lambda');
  if (kind === 'pixelcnn' && o.auxScaleInit !== undefined) bad.push('--aux-scale-init');
  if (bad.length) throw new Error(`--model ${kind} (${MODEL_KIND_NAMES[kind]}) does not take ${bad.join(', ')}: ${bad.length > 1 ? 'they are' : 'it is'} AGAVE's`);
}

/** Phases in order: sequential VAE-only, sequential PixelCNN-only, the parallel pre-training, then joint. The baselines have one phase: their own part ('pixelcnn' or 'vae'). */
export function phaseAt(o: TrainOptions, r: Resolved, step: number): Phase {
  if (o.kind === 'pixelcnn' || o.kind === 'vae') return o.kind;
  let end = o.vaePretrain;
  if (step < end) return 'vae';
  end += o.pixelcnnPretrain;
  if (step < end) return 'pixelcnn';
  end += r.pretrain;
  if (step < end) return 'parallel';
  return 'joint';
}

/**
 * The settings a resume must match exactly (others, like steps or the output folder, may change). `batch` is
 * the global batch; a data-parallel run also records its number of ranks (absent: 1).
 */
export function runSignature(o: TrainOptions, r: Resolved, channels: number, size: number): Record<string, unknown> {
  const ranks = o.dataParallel?.size ?? 1;
  return {
    ...(ranks > 1 ? { ranks } : {}),
    kind: o.kind ?? 'agave',
    config: o.config,
    model: CONFIGS[o.config],
    aux: o.aux,
    levels: o.levels ?? null,
    lambda: r.lambda,
    batch: r.batch * ranks,
    lr: r.lr,
    seed: o.seed,
    vaePretrain: o.vaePretrain,
    pixelcnnPretrain: o.pixelcnnPretrain,
    pretrain: r.pretrain,
    dropAuxAt: o.dropAuxAt ?? null,
    ema: r.ema,
    dropout: o.dropout ?? null,
    auxScaleInit: o.auxScaleInit ?? 'data',
    channels,
    imageSize: size,
    trainImages: o.trainImages ?? null,
    precision: o.precision ?? 'f32',
  };
}

/**
 * The settings in which `stored` (a checkpoint's signature at `step`) differs from `wanted`, in signature order.
 * A setting that acts only after the checkpoint's step may differ: the resumed run is still the uninterrupted
 * run with the new setting (how the aux-removal experiment forks its control run).
 */
export function signatureDiffs(wanted: Record<string, unknown>, stored: Record<string, unknown>, step: number): string[] {
  const actsLater = (k: string): boolean => {
    if (k !== 'dropAuxAt') return false;
    const at = (v: unknown): number => (typeof v === 'number' ? v : Infinity);
    return at(wanted[k]) >= step && at(stored[k]) >= step;
  };
  return Object.keys(wanted).filter((k) => JSON.stringify(wanted[k]) !== JSON.stringify(stored[k]) && !actsLater(k));
}

/** Everything a running training job holds. */
export interface Run {
  /** The run's options (flags and defaults). */
  options: TrainOptions;
  /** The recipe resolved from the config and the flags (batch, steps, lambda, lr, EMA decays, pre-training). */
  recipe: Resolved;
  /** The model config, built for the run's image size. */
  config: ModelConfig;
  engine: Engine;
  model: Agave;
  params: ParameterSet;
  trainSet: ImageSet;
  testSet: ImageSet;
  order: BatchOrder;
  startStep: number;
  /** Where the outputs go (the store's paths, for messages). */
  paths: RunPaths;
  store: RunStore;
  /** Decay of the EMA by parameter name (VAE vs PixelCNN). */
  emaDecayOf: (name: string, cap: number) => number;
  /** --precision mixed: the dynamic loss scale (train/step/loss-scale.ts); null in f32. */
  lossScaler: LossScaler | null;
  save(step: number): Promise<void>;
  dispose(): void;
}

/**
 * The side the model is built for (docs/MODEL.md §2.1: the PixelCNN++'s three stages need a multiple of 4):
 * `--image-size` when given; else the config's size when the data's is that size or an integer multiple of it
 * (CIFAR-10's 32x32 average-pooled to the 'quick' config's 16x16 or the 'tiny' config's 8x8); else the data's
 * own size (Fashion-MNIST's 28x28 stays 28x28). Images are never padded, so bits/dim always count the pixels
 * the model predicts and nothing else.
 */
export function modelImageSize(dataSize: number, configSize: number, requested?: number): { size: number; why: string } {
  const check = (s: number, what: string): void => {
    if (!(Number.isInteger(s) && s >= 4 && s % 4 === 0)) {
      throw new Error(`${what} ${s}x${s}: the PixelCNN++'s two stride-2 stages (and the VAE) need a side that is a multiple of 4, at least 4`);
    }
  };
  if (requested !== undefined) {
    check(requested, 'image size');
    if (requested > dataSize || dataSize % requested !== 0) {
      throw new Error(`--image-size ${requested}: the ${dataSize}x${dataSize} images can only be average-pooled by an integer factor (to ${divisors(dataSize).join(', ')}); they are never padded, so bits/dim count real pixels only`);
    }
    return { size: requested, why: requested === dataSize ? 'the data\'s own size' : `--image-size: average-pooled ${dataSize / requested}x${dataSize / requested}` };
  }
  if (dataSize === configSize) return { size: configSize, why: 'the data\'s own size' };
  if (dataSize > configSize && dataSize % configSize === 0) return { size: configSize, why: `the config's size: average-pooled ${dataSize / configSize}x${dataSize / configSize}` };
  check(dataSize, 'the data\'s image size');
  return { size: dataSize, why: `the data's own size (the config's ${configSize}x${configSize} is not an integer pooling of it)` };
}

function divisors(n: number): number[] {
  const out: number[] = [];
  for (let s = n; s >= 4; s--) if (n % s === 0 && s % 4 === 0) out.push(s);
  return out;
}

/** `cfg` built for `size` x `size` images (its description says that size). */
export function configAt(cfg: ModelConfig, size: number): ModelConfig {
  if (size === cfg.imageSize) return cfg;
  return { ...cfg, imageSize: size, description: cfg.description.replace(/^\d+x\d+ images( \([^)]*\))?/, `${size}x${size} images`) };
}

/** Average-pool square images by an integer factor to `size` (the identity when they are that size already). */
export function fitImages(set: ImageSet, size: number): ImageSet {
  const { height: h, width: w, channels: c, count } = set;
  if (h === size && w === size) return set;
  if (h !== w || h < size || h % size !== 0) throw new Error(`images of ${h}x${w} cannot be average-pooled to ${size}x${size} by an integer factor`);
  const out = new Uint8Array(count * size * size * c);
  const f = h / size;
  for (let n = 0; n < count; n++)
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        for (let ch = 0; ch < c; ch++) {
          let s = 0;
          for (let dy = 0; dy < f; dy++) for (let dx = 0; dx < f; dx++) s += set.images[((n * h + y * f + dy) * w + x * f + dx) * c + ch]!;
          out[((n * size + y) * size + x) * c + ch] = Math.round(s / (f * f));
        }
  return { ...set, images: out, height: size, width: size, source: `${set.source} (pooled ${f}x${f} to ${size}x${size})` };
}

/** What a run is opened with besides its options: its data and where its outputs go. */
export interface RunIO {
  /** The data set, loaded and validated (train/data/datasets.ts in Node; a page's files or the bundled sample). */
  data: Dataset;
  store: RunStore;
  /**
   * A resume from a checkpoint trained on other data (by fingerprint): 'refuse' (the default, as `--resume`) or
   * 'allow' (logged: a page opening a checkpoint to sample it, where the data only gives the test images shown).
   */
  otherData?: 'refuse' | 'allow';
}

/** Opens a run: a fresh one (data-dependent init) or, with `o.resume`, the one in `io.store`'s checkpoint. */
export async function openRun(o: TrainOptions, log: Logger, io: RunIO): Promise<Run> {
  const base = CONFIGS[o.config] as ModelConfig;
  let cfg: ModelConfig = o.dropout === undefined ? base : { ...base, pixelcnn: { ...base.pixelcnn, dropout: o.dropout } };
  const r = resolveRecipe(o);
  const data = io.data;
  const dataId = await dataFingerprint(data); // stored in checkpoints, checked on resume
  if (data.train.height !== data.train.width || data.test.height !== data.train.height) throw new Error(`images must be square and the same size in train and test, got ${data.train.height}x${data.train.width} and ${data.test.height}x${data.test.width}`);
  const fit = modelImageSize(data.train.height, cfg.imageSize, o.imageSize);
  cfg = configAt(cfg, fit.size);
  let trainSet = fitImages(data.train, cfg.imageSize);
  const testSet = fitImages(data.test, cfg.imageSize);
  if (o.trainImages !== undefined) trainSet = { ...trainSet, count: Math.min(o.trainImages, trainSet.count) };
  if (r.batch > trainSet.count) throw new Error(`batch ${r.batch} is larger than the ${trainSet.count} training images`);
  const channels = trainSet.channels;
  checkKindOptions(o);
  const kind: ModelKind = o.kind ?? 'agave';
  const model = new Agave(cfg, { variant: o.aux, ...(o.levels !== undefined ? { levels: o.levels } : {}) }, channels, kind);
  const signature = runSignature(o, r, channels, cfg.imageSize);
  const paths = io.store.paths;

  const engine = await Engine.create({ seed: o.seed, tune: o.tune ?? 'off', precision: o.precision ?? 'f32', ...(o.tuneCache !== undefined ? { tuneCache: o.tuneCache } : {}) });
  const lossScaler = (o.precision ?? 'f32') === 'mixed' ? new LossScaler() : null;
  let params: ParameterSet | null = null;
  try {
    log(`WebGPU: ${engine.description}${lossScaler ? `; precision mixed: matmul and conv operands in f16 (f32 accumulation, master weights, Adamax state, loss), dynamic loss scale from ${lossScaler.scale}` : ''}`);
    log(`data: ${data.format}, ${trainSet.count} train / ${testSet.count} test images ${cfg.imageSize}x${cfg.imageSize}x${channels} (${data.train.source}); model size: ${fit.why}; bits/dim over ${cfg.imageSize}x${cfg.imageSize}x${channels} = ${cfg.imageSize * cfg.imageSize * channels} dimensions`);
    params = ParameterSet.create(engine, model.builder.specs, o.seed);
    const ps = params;
    const counts = model.parameterCounts();
    const fmt = (n: number): string => n.toLocaleString('en-US');
    const parts = kind === 'agave' ? ` (IAF-VAE ${fmt(counts.vae)} + PixelCNN++ ${fmt(counts.pixelcnn)})` : '';
    log(`model: ${MODEL_KIND_NAMES[kind]}; config ${cfg.name} (${cfg.description})${kind === 'agave' ? `; aux ${o.aux}, K=${model.levels}` : ''}; ${fmt(ps.count)} parameters${parts}`);
    if (kind === 'agave') {
      log(
        `recipe: batch ${r.batch}, lambda ${r.lambda}, Adamax lr ${r.lr}, EMA ${r.ema.vae} (VAE) / ${r.ema.pixelcnn} (PixelCNN), ` +
          `${o.vaePretrain ? `${o.vaePretrain} VAE-only + ` : ''}${o.pixelcnnPretrain ? `${o.pixelcnnPretrain} PixelCNN-only + ` : ''}${r.pretrain} parallel pre-training steps, ${r.steps} steps`,
      );
    } else {
      const ema = kind === 'vae' ? r.ema.vae : r.ema.pixelcnn;
      log(`recipe: batch ${r.batch}${kind === 'vae' ? `, lambda ${r.lambda} (free bits ${cfg.vae.klMin})` : ''}, Adamax lr ${r.lr}, EMA ${ema}, ${r.steps} steps`);
    }
    let order: BatchOrder;
    let startStep = 0;
    // A data-parallel rank other than 0 gets the state, step and order from rank 0 (DataParallel.attach).
    const fromRank0 = o.dataParallel !== undefined && !o.dataParallel.writes;
    if (fromRank0) {
      order = new BatchOrder(trainSet.count, o.seed);
    } else if (o.resume) {
      const stored = await io.store.readCheckpoint();
      if (stored === null) throw new Error(`--resume: no checkpoint at ${paths.checkpoint}`);
      const ck = validateRunCheckpoint(stored, paths.checkpoint);
      // Checkpoints from before the model kinds hold AGAVE.
      const ckKind = (ck.meta.signature.kind ?? 'agave') as ModelKind;
      if (ckKind !== kind) {
        throw new Error(`--resume: the checkpoint ${paths.checkpoint} holds a ${ckKind} model (${MODEL_KIND_NAMES[ckKind] ?? ckKind}), not ${kind}; resume it with --model ${ckKind}, or start a new run in another --out`);
      }
      // Checkpoints from before --precision were f32 runs.
      ck.meta.signature = { ...ck.meta.signature, kind: ckKind, precision: ck.meta.signature.precision ?? 'f32' };
      // Another number of data-parallel ranks: allowed by --rescale-batch (train/distributed/rescale.ts).
      const rescaled = rankChangeAllowed(ck.meta.signature, signature, o.rescaleBatch);
      const diffs = signatureDiffs(signature, ck.meta.signature, ck.meta.step).filter((k) => !rescaled.includes(k));
      if (diffs.length) {
        throw new Error(`--resume: the checkpoint was made with different settings: ${diffs.map((k) => `${k} (checkpoint ${JSON.stringify(ck.meta.signature[k])}, now ${JSON.stringify(signature[k])})`).join('; ')}`);
      }
      if (io.otherData === 'allow' && ck.meta.data !== undefined && !sameData(ck.meta.data, dataId)) {
        log(`note: ${paths.checkpoint} was trained on other data (${describeData(ck.meta.data)}); the test images now are ${describeData(dataId)}`);
      } else checkResumeData(ck.meta.data, dataId, paths.checkpoint, log);
      ps.load({ names: ck.meta.names, shapes: ck.meta.shapes, params: ck.arrays.params!, ...(ck.arrays.ema ? { ema: ck.arrays.ema } : {}), ...(ck.arrays.v ? { v: ck.arrays.v, u: ck.arrays.u! } : {}) });
      order = BatchOrder.restore(trainSet.count, ck.meta.order);
      if (lossScaler && ck.meta.lossScale) lossScaler.restore(ck.meta.lossScale);
      startStep = ck.meta.step;
      log(`resumed from ${paths.checkpoint} at step ${startStep}`);
    } else {
      order = new BatchOrder(trainSet.count, o.seed);
      const t0 = performance.now();
      // Data-dependent init on one batch, then the aux log-scale from the residuals of the initialised VAE,
      // then the EMA starts from the initialised weights (pitfall 1).
      const initIdx = new BatchOrder(trainSet.count, o.seed + 1).next(Math.min(trainSet.count, Math.max(r.batch, 16)));
      const logScale = await engine.asyncScope(async () => {
        const x = engine.tensor(gatherBatch(trainSet, initIdx), [initIdx.length, cfg.imageSize, cfg.imageSize, channels]);
        const ctx = new Ctx(engine, ps, { seed: o.seed, streamBase: 0xffff0000, init: true, training: true });
        engine.noGrad(() => model.loss(ctx, x, { lambda: r.lambda, phase: 'joint', useAux: true }));
        if (o.auxScaleInit === 'zero' || !model.hasVae) return null;
        return model.initAuxLogScale(new Ctx(engine, ps, { seed: o.seed, streamBase: 0xfffe0000 }), x);
      });
      ps.initEma();
      await engine.sync();
      log(
        `data-dependent init on ${initIdx.length} images: ${((performance.now() - t0) / 1000).toFixed(1)} s; aux log-scale ` +
          (logScale ? `from the residuals: ${[...logScale].map((v) => v.toFixed(2)).join(', ')}` : model.hasVae ? '0 (--aux-scale-init zero)' : 'none (no VAE)'),
      );
    }
    await tuneKernels(engine, o, r, startStep, () => {
      const idx = Array.from({ length: r.batch }, (_, i) => i % trainSet.count);
      const x = engine.tensor(gatherBatch(trainSet, idx), [r.batch, cfg.imageSize, cfg.imageSize, channels]);
      ps.zeroGrad();
      const t = model.loss(new Ctx(engine, ps, { seed: o.seed, streamBase: 0xfffd0000, training: true }), x, { lambda: r.lambda, phase: phaseAt(o, r, startStep), useAux: true });
      engine.backward(t.loss);
    }, log);
    const emaDecayOf = (name: string, cap: number): number => Math.min(cap, Agave.partOf(name) === 'pixelcnn' ? r.ema.pixelcnn : r.ema.vae);
    const run: Run = {
      options: o,
      recipe: r,
      config: cfg,
      engine,
      model,
      params: ps,
      trainSet,
      testSet,
      order,
      startStep,
      paths,
      store: io.store,
      emaDecayOf,
      lossScaler,
      async save(step: number): Promise<void> {
        const ck = await ps.serialize();
        const meta: CheckpointMeta = { version: 1, step, signature, order: run.order.state(), names: ck.names, shapes: ck.shapes, hasEma: !!ck.ema, hasState: !!ck.v, data: dataId, ...(lossScaler ? { lossScale: lossScaler.state() } : {}) };
        const arrays: Record<string, Float32Array> = { params: ck.params };
        if (ck.ema) arrays.ema = ck.ema;
        if (ck.v && ck.u) {
          arrays.v = ck.v;
          arrays.u = ck.u;
        }
        await io.store.saveCheckpoint({ meta: meta as unknown as Record<string, unknown>, arrays });
      },
      dispose(): void {
        ps.dispose();
        engine.dispose();
      },
    };
    return run;
  } catch (e) {
    params?.dispose();
    engine.dispose();
    throw e;
  }
}

/** The wall-time budget of tuning at the start of a run (--tune-budget; the buckets left over keep the static choice). */
export const TUNE_BUDGET_MS = 90_000;

/**
 * Tuning at the start of a run (--tune on): the kernel choices of one training step (its forward and backward at
 * the run's batch, in the starting phase, recorded as a dry run) are raced on this device within TUNE_BUDGET_MS
 * and cached; the log says how many buckets were raced, how long it took and what the cache held. --tune cached
 * reports the cached winners found; --tune off says nothing.
 */
async function tuneKernels(engine: Engine, o: TrainOptions, r: Resolved, startStep: number, record: () => void, log: Logger): Promise<void> {
  const mode = o.tune ?? 'off';
  if (mode === 'off') return;
  const budgetMs = o.tuneBudgetSeconds !== undefined ? o.tuneBudgetSeconds * 1000 : TUNE_BUDGET_MS;
  if (mode === 'on') log(`tuning the kernels for this device: racing the variants of one training step (at most ${budgetMs / 1000} s; the winners are cached for later runs; --tune off skips this)`);
  const rep = await engine.tune(record, { totalMs: budgetMs });
  const cached = `${rep.cached} bucket${rep.cached === 1 ? '' : 's'} from the tuning cache`;
  if (mode === 'cached') {
    log(`tuning: --tune cached: ${cached}; ${engine.tuner.winnerCount} winners cached for this device`);
    return;
  }
  const differ = rep.changed ? `, ${rep.changed} winner${rep.changed === 1 ? '' : 's'} differ from the static choice` : '';
  const left = rep.skipped ? `; ${rep.skipped} left on the static choice (the ${budgetMs / 1000} s budget ran out)` : '';
  log(`tuning: ${rep.tuned} bucket${rep.tuned === 1 ? '' : 's'} raced in ${(rep.ms / 1000).toFixed(1)} s${differ}${left}; ${cached} (batch ${r.batch}, from step ${startStep})`);
}

/**
 * The options that reopen the run of a checkpoint (its settings, from the checkpoint's run signature; `path`
 * names it in messages, `out` is the run's output place): a resume with them continues that run with the same
 * settings (the data must be the run's: it is checked by fingerprint). train/step/setup.ts optionsOfCheckpoint
 * reads the header of a run folder's checkpoint; a page, the checkpoint a user opens.
 */
export function optionsOfCheckpointMeta(meta: CheckpointMeta, path: string, out: string): TrainOptions {
  const s = meta.signature as Record<string, unknown>;
  const config = s.config as TrainOptions['config'];
  if (typeof config !== 'string' || !Object.hasOwn(CONFIGS, config)) throw new Error(`${path}: its settings name no known config (${JSON.stringify(s.config)})`);
  const kind = (s.kind ?? 'agave') as ModelKind;
  const ema = s.ema as Resolved['ema'];
  const recipe = CONFIGS[config].recipe;
  const o: TrainOptions = {
    config,
    aux: s.aux as TrainOptions['aux'],
    seed: s.seed as number,
    out,
    evalEvery: 1_000_000,
    evalImages: 96,
    checkpointEvery: 1_000_000,
    resume: true,
    vaePretrain: s.vaePretrain as number,
    pixelcnnPretrain: s.pixelcnnPretrain as number,
    logEvery: 1_000_000,
    steps: meta.step,
    batch: s.batch as number,
    lr: s.lr as number,
    imageSize: s.imageSize as number,
  };
  if (kind !== 'agave') o.kind = kind;
  if (kind !== 'pixelcnn') o.lambda = s.lambda as number;
  if (kind === 'agave') o.pretrain = s.pretrain as number;
  if (s.levels !== null && s.levels !== undefined) o.levels = s.levels as number;
  if (s.dropAuxAt !== null && s.dropAuxAt !== undefined) o.dropAuxAt = s.dropAuxAt as number;
  if (s.dropout !== null && s.dropout !== undefined) o.dropout = s.dropout as number;
  if (s.trainImages !== null && s.trainImages !== undefined) o.trainImages = s.trainImages as number;
  if (s.auxScaleInit === 'zero') o.auxScaleInit = 'zero';
  if (s.precision === 'mixed') o.precision = 'mixed';
  // A data-parallel run's checkpoint (`batch` is its global batch) reopens in one process with that batch.
  if (typeof s.ranks === 'number' && s.ranks > 1) o.rescaleBatch = 'global';
  if (ema && (ema.vae !== recipe.ema.vae || ema.pixelcnn !== recipe.ema.pixelcnn)) o.emaDecay = ema.vae;
  return o;
}
