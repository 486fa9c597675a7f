// The context of one forward pass (Ctx): what a layer needs besides its inputs. Its jobs, each a small part:
//   settings       init (data-dependent init pass), training (dropout on), seed (of every noise draw);
//   noise streams  nextStream(): a fresh Philox stream per dropout site or latent draw, from streamBase (the
//                  loop advances it per step, so masks and noise differ between steps and a resume repeats them);
//                  noiseOffset(): where a data-parallel rank's images sit in the global batch's draws;
//   weights        weight(): the effective weights of every weight-normed layer, materialised once per pass
//                  (engine WeightNorm) and made again when the parameters change;
//   frozen memo    freeze() / memo(): for autoregressive sampling, keep what does not change between passes
//                  (effective weights, the conditioning stream) until releaseFrozen().
import { WeightNorm, type EffectiveWeights, type Engine, type ParameterSet, type Tensor, type WeightNormLayer } from '../engine/index.js';

/** The parameter specs of a model, as registered by its layers (model/layers.ts ParamBuilder). */
export interface WeightNormSource {
  readonly weightNorms: WeightNormLayer[];
}

export interface CtxOptions {
  /** Seed of every noise draw of the pass (dropout masks, latent samples): the run's seed. */
  seed: number;
  /** Base of this pass's noise streams (default 0). */
  streamBase?: number;
  /** Data-dependent init pass (default false). */
  init?: boolean;
  /** Dropout on: a training pass (default false: evaluation). */
  training?: boolean;
  /**
   * Images of the whole batch before this pass's images (default 0): a data-parallel rank's part of a global
   * batch draws the dropout masks and latent noise those images get in the whole batch (train/distributed/).
   */
  batchOffset?: number;
}

/** One WeightNorm (channel table) per parameter set and model. */
const weightNormOf = new WeakMap<ParameterSet, Map<WeightNormSource, WeightNorm>>();

/** The effective weights of the current pass, and whether they were made while the tape recorded. */
interface MadeWeights {
  w: EffectiveWeights;
  builder: WeightNormSource;
  version: string;
  generation: number;
  recorded: boolean;
}

export class Ctx {
  readonly init: boolean;
  readonly training: boolean;
  readonly seed: number;
  readonly streamBase: number;
  readonly batchOffset: number;
  private stream = 0;
  private readonly scope: object | null;
  private weights: MadeWeights | null = null;
  private cache: Map<string, Tensor> | null = null;
  private frozenWeights: EffectiveWeights[] = [];

  constructor(
    readonly engine: Engine,
    readonly params: ParameterSet,
    options: CtxOptions,
  ) {
    this.init = options.init ?? false;
    this.training = options.training ?? false;
    this.seed = options.seed;
    this.streamBase = options.streamBase ?? 0;
    this.batchOffset = options.batchOffset ?? 0;
    this.scope = engine.currentScope();
  }

  p(name: string): Tensor {
    const t = this.params.get(name);
    if (!t) throw new Error(`model: parameter '${name}' is not in the parameter set`);
    return t;
  }

  /**
   * The noise counter offset of a draw of `shape` (batch first): the elements of the images before this pass's
   * images (batchOffset), so the draw equals that part of the whole batch's draw.
   */
  noiseOffset(shape: readonly number[]): number {
    if (this.batchOffset === 0) return 0;
    return this.batchOffset * shape.slice(1).reduce((a, d) => a * d, 1);
  }

  /** A fresh noise stream number for one dropout site / sampling call. */
  nextStream(): number {
    return this.streamBase + this.stream++;
  }

  /**
   * The effective weight of a weight-normed layer. Outside data-dependent init (which changes g between layers)
   * all layers' weights come from one materialisation per pass: made again when the parameters changed, after
   * a backward(), or when a recorded pass needs weights first made without recording. They belong to the scope
   * the context was created in.
   */
  weight(builder: WeightNormSource, v: string): Tensor {
    if (this.init) throw new Error('Ctx.weight: not in data-dependent init (layers use the composite weight norm there)');
    const e = this.engine;
    const c = this.weights;
    const recording = e.tape.recording && !this.cache;
    if (c && c.builder === builder && (this.cache || (c.version === this.params.version && c.generation === e.tape.generation && (c.recorded || !recording)))) return c.w.get(v);
    let perSet = weightNormOf.get(this.params);
    if (!perSet) weightNormOf.set(this.params, (perSet = new Map()));
    let wn = perSet.get(builder);
    if (!wn) perSet.set(builder, (wn = WeightNorm.create(this.params, builder.weightNorms)));
    const made = this.cache ? e.noGrad(() => wn!.materialise().keep()) : e.inScope(this.scope, () => wn!.materialise());
    if (this.cache) this.frozenWeights.push(made);
    this.weights = { w: made, builder, version: this.params.version, generation: e.tape.generation, recorded: recording };
    return made.get(v);
  }

  /**
   * Freeze the parameters and the conditioning for many passes (autoregressive sampling): from now on memo()
   * keeps what it computes (effective weights, the conditioning stream and its injections), so the next
   * passes reuse it. Release with releaseFrozen().
   */
  freeze(): this {
    if (this.init || this.training) throw new Error('Ctx.freeze: only for evaluation passes (no init, no dropout)');
    this.cache ??= new Map();
    this.weights = null;
    return this;
  }

  get frozen(): boolean {
    return this.cache !== null;
  }

  /** fn() once per key while frozen (the result is kept); plain fn() otherwise. */
  memo(key: string, fn: () => Tensor): Tensor {
    if (!this.cache) return fn();
    let t = this.cache.get(key);
    if (!t) {
      t = this.engine.noGrad(fn).keep();
      this.cache.set(key, t);
    }
    return t;
  }

  releaseFrozen(): void {
    for (const t of this.cache?.values() ?? []) t.dispose();
    for (const w of this.frozenWeights.splice(0)) w.dispose();
    this.weights = null;
    this.cache = null;
  }
}
