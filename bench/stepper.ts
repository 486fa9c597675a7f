// Why: `npm run bench -- step` and `--compare REV` need the training loop's step as a function that two builds of
// the engine (this tree and an older commit, bundled separately) both provide, so one process can alternate
// them. This file is also bundled on its own against an older commit's engine/ and model/ (bench/compare.ts), so
// it only uses APIs that existed before issue 11 and detects the newer ones (ReadbackRing,
// recordNonFiniteCheck) at run time: with them the step is pipelined as train/step/loop.ts does it, without them it
// is the old loop's step (await the loss, update, await the NaN/Inf check).
import * as E from '../engine/index.js';
import { Engine, ParameterSet, type FinitenessReport, type KernelTiming, type Tensor } from '../engine/index.js';
import { Agave, Ctx } from '../model/agave.js';
import { forwardBackward as stepForwardBackward, update as stepUpdate, type StepModel } from '../train/step/step.js';
import { CONFIGS, type ConfigName } from '../model/config.js';

/** Bumped when the interface below changes: bench/compare.ts refuses a bundle of another version. */
export const STEPPER_API = 1;

export interface StepperOptions {
  config: ConfigName;
  batch?: number;
  /** Per-kernel GPU timing (timestamp queries; one compute pass per dispatch, so steps are slower). */
  profile?: boolean;
  /** false: the old loop's step (two awaited readbacks) even where pipelining exists. Default true. */
  pipeline?: boolean;
  /** Create the step's pipelines first, asynchronously (Engine.preparePipelines; ignored where it is missing). */
  prepare?: boolean;
  /** Count the dispatches of run() by label (census()). */
  census?: boolean;
  /** Kernel choices: 'off' (static, the default here), 'cached', or 'on': tune the step's buckets after init (Engine.tune; ignored where it is missing). */
  tune?: 'off' | 'cached' | 'on';
  /** The tuning cache folder; null: none (a fresh measurement). */
  tuneCache?: string | null;
  /** Time budget of one bucket's race, ms (Engine.tune). */
  tuneBucketMs?: number;
}

export interface StepperInfo {
  config: string;
  batch: number;
  params: number;
  /** 'pipelined, 2 in flight' or 'sequential (2 readbacks/step)'. */
  mode: string;
  /** Data-dependent init (including the pipelines it creates; after prepareMs). */
  initMs: number;
  /** preparePipelines: wall ms and pipelines created (absent without --prepare). */
  prepare?: { ms: number; created: number };
  /** What tuning did (tune 'on' or 'cached'; absent otherwise or where the engine has no tuner). */
  tune?: E.TuneReport;
}

export interface Stepper {
  readonly info: StepperInfo;
  /** Runs n training steps as the loop does (the last one's values awaited); wall ms and dispatches per step. */
  run(n: number): Promise<{ msPerStep: number; dispatchesPerStep: number; submitsPerStep: number }>;
  /** Peak bytes of live tensors since creation (after init), and bytes the buffer pool holds. */
  memory(): { peakBytes: number; poolBytes: number };
  /** Per-kernel GPU time since the last call (profile only). */
  timings(): Promise<KernelTiming[]>;
  /** Dispatches by label (the op that made them, split-K suffixes dropped) since the last call (census only). */
  census?(): [string, number][];
  adapter(): string;
  dispose(): void;
}

interface RingLike {
  read(parts: readonly Tensor[]): Promise<Float32Array[]>;
  destroy(): void;
}
type RingCtor = new (engine: Engine, depth: number) => RingLike;
type Recordable = { recordNonFiniteCheck?: () => { flags: Tensor; report(bits: Uint32Array): FinitenessReport } };

const STREAMS_PER_STEP = 1 << 16;

/**
 * A forward context: this tree's Ctx takes an options object; older revisions' (bundled by bench/compare.ts)
 * took (engine, params, init, training, { p, seed }, streamBase), six parameters.
 */
function makeCtx(engine: Engine, params: ParameterSet, o: { seed: number; streamBase?: number; init?: boolean; training?: boolean }): Ctx {
  const Old = Ctx as unknown as { length: number; new (...args: unknown[]): Ctx };
  if (Old.length > 3) return new Old(engine, params, o.init ?? false, o.training ?? false, { p: 0, seed: o.seed }, o.streamBase ?? 0);
  return new Ctx(engine, params, o);
}
/** As train/step/loop.ts STEPS_IN_FLIGHT. */
const IN_FLIGHT = 2;

export async function createStepper(opts: StepperOptions): Promise<Stepper> {
  const cfg = CONFIGS[opts.config];
  if (!cfg) throw new Error(`unknown config '${opts.config}'`);
  const engine = await Engine.create({ seed: 1, timing: opts.profile ?? false, tune: opts.tune ?? 'off', ...(opts.tuneCache !== undefined ? { tuneCache: opts.tuneCache } : {}) });
  const batch = opts.batch ?? cfg.batch;
  const model = new Agave(cfg, { variant: 'identity' });
  const params = ParameterSet.create(engine, model.builder.specs, 1);
  const S = cfg.imageSize;
  const data = Float32Array.from({ length: batch * S * S * 3 }, (_, i) => (i * 7919) % 256);
  const initPass = (): void => {
    const x = engine.tensor(data, [batch, S, S, 3]);
    const ctx = makeCtx(engine, params, { seed: 1, init: true, training: true });
    engine.noGrad(() => model.loss(ctx, x, { lambda: 1, phase: 'joint', useAux: true }));
  };
  const prepareFn = (engine as unknown as { preparePipelines?: (record: () => void) => Promise<{ created: number; ms: number }> }).preparePipelines?.bind(engine);
  let prepared: { ms: number; created: number } | undefined;
  if (opts.prepare && prepareFn) {
    // The init pass and one step's forward and backward, as a dry run: their pipelines, all at once.
    const tp = performance.now();
    const r = await prepareFn(() => {
      initPass();
      params.zeroGrad();
      const x = engine.tensor(data, [batch, S, S, 3]);
      const t = model.loss(makeCtx(engine, params, { seed: 1, training: true }), x, { lambda: 1, phase: 'joint', useAux: true });
      engine.backward(t.loss);
    });
    prepared = { ms: performance.now() - tp, created: r.created };
  }
  const t0 = performance.now();
  engine.scope(initPass);
  params.initEma();
  await engine.sync();
  const initMs = performance.now() - t0;
  // Tuning (Engine.tune, where this engine has it): the buckets of one step's forward and backward, all raced now.
  const tuneFn = (engine as unknown as { tune?: (record: () => void, budget?: { bucketMs?: number; totalMs?: number }) => Promise<E.TuneReport> }).tune?.bind(engine);
  let tuned: E.TuneReport | undefined;
  if (tuneFn && (opts.tune ?? 'off') !== 'off') {
    tuned = await tuneFn(() => {
      params.zeroGrad();
      const x = engine.tensor(data, [batch, S, S, 3]);
      const t = model.loss(makeCtx(engine, params, { seed: 1, training: true }), x, { lambda: 1, phase: 'joint', useAux: true });
      engine.backward(t.loss);
    }, { totalMs: 1e9, ...(opts.tuneBucketMs !== undefined ? { bucketMs: opts.tuneBucketMs } : {}) });
    // With a cache, the buckets read from it are reported too (their times as cached).
    const withResults = engine as unknown as { tuner?: { results(): E.BucketResult[] } };
    if (withResults.tuner) tuned = { ...tuned, results: withResults.tuner.results() };
  }
  if (opts.profile) await engine.timings(true);
  engine.resetPeak();

  const Ring = (E as unknown as { ReadbackRing?: RingCtor }).ReadbackRing;
  const record = (params as unknown as Recordable).recordNonFiniteCheck?.bind(params);
  const pipelined = (opts.pipeline ?? true) && Ring !== undefined && record !== undefined;
  const ring = pipelined ? new Ring!(engine, IN_FLIGHT + 1) : null;
  const decayOf = (name: string, cap: number): number => Math.min(cap, Agave.partOf(name) === 'pixelcnn' ? 0.9995 : 0.999);
  const stepModel: StepModel = { params, model, lr: 0.002, lambda: 1, emaDecayOf: decayOf };
  let step = 0;

  /** Forward and backward of one step (train/step/step.ts); returns the packed loss terms (kept). */
  const forwardBackward = (s: number): Promise<Tensor> => {
    const x = engine.tensor(data, [batch, S, S, 3]);
    return stepForwardBackward(stepModel, makeCtx(engine, params, { seed: 1, streamBase: (s + 1) * STREAMS_PER_STEP, training: true }), x, 'joint', true);
  };
  const update = (s: number): void => stepUpdate(stepModel, s);
  const check = (terms: ArrayLike<number>, report: FinitenessReport | null, s: number): void => {
    // A benchmark of steps that went NaN would time something else: refuse.
    for (let i = 0; i < 5; i++) if (!Number.isFinite(terms[i]!)) throw new Error(`bench step ${s + 1} (${opts.config} batch ${batch}): non-finite loss term ${i} (${terms[i]})`);
    if (report && !report.finite) throw new Error(`bench step ${s + 1} (${opts.config} batch ${batch}): non-finite state after the update`);
  };

  async function sequentialStep(): Promise<void> {
    const s = step++;
    await engine.asyncScope(async () => {
      const packed = await forwardBackward(s);
      const v = await packed.read();
      packed.dispose();
      update(s);
      check(v, await params.nonFiniteCheck(), s);
    });
  }

  const labels = new Map<string, number>();
  if (opts.census) {
    engine.runner.onDispatch = (kernel, label) => {
      const key = (label ?? kernel).replace(/:split\d+$/, '');
      labels.set(key, (labels.get(key) ?? 0) + 1);
    };
  }

  return {
    info: { config: opts.config, batch, params: params.count, mode: pipelined ? `pipelined, ${IN_FLIGHT} in flight` : 'sequential (2 readbacks/step)', initMs, ...(prepared ? { prepare: prepared } : {}), ...(tuned ? { tune: tuned } : {}) },
    async run(n: number) {
      const d0 = engine.runner.dispatchCount;
      const sub0 = engine.runner.submitCount;
      const t1 = performance.now();
      if (!pipelined) {
        for (let i = 0; i < n; i++) await sequentialStep();
      } else {
        const inFlight: { s: number; values: Promise<Float32Array[]>; report(bits: Uint32Array): FinitenessReport }[] = [];
        const settle = async (): Promise<void> => {
          const f = inFlight.shift()!;
          const [terms, flags] = (await f.values) as [Float32Array, Float32Array];
          check(terms, f.report(new Uint32Array(flags.buffer, flags.byteOffset, 4)), f.s);
        };
        for (let i = 0; i < n; i++) {
          const s = step++;
          inFlight.push(await engine.asyncScope(async () => {
            const packed = await forwardBackward(s);
            update(s);
            const c = record!();
            const values = ring!.read([packed, c.flags]);
            packed.dispose();
            c.flags.dispose();
            return { s, values, report: c.report };
          }));
          while (inFlight.length > IN_FLIGHT - 1) await settle();
        }
        while (inFlight.length > 0) await settle();
      }
      const ms = performance.now() - t1;
      return { msPerStep: ms / n, dispatchesPerStep: (engine.runner.dispatchCount - d0) / n, submitsPerStep: (engine.runner.submitCount - sub0) / n };
    },
    memory: () => ({ peakBytes: engine.memory().peakBytes, poolBytes: engine.memory().poolAllocatedBytes }),
    timings: () => engine.timings(true),
    census() {
      const out = [...labels].sort((a, b) => b[1] - a[1]);
      labels.clear();
      return out;
    },
    adapter: () => engine.description,
    dispose() {
      ring?.destroy();
      params.dispose();
      engine.dispose();
    },
  };
}
