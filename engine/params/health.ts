// Health checks of a parameter set's arenas: the gradient's L2 norm and NaN/Inf count (one strided reduction
// per chunk), the same norm turned into a clipping factor on the GPU (for the optimizers' clipNorm, no
// readback), and the first non-finite element of the whole training state (parameters, EMA, the optimizer's two
// state arenas, those that exist) from one fused kernel per chunk into four u32 flags: a 16-byte readback names
// the parameter and element of each arena's first bad value. A pipelined loop records the check with its step
// and reads the flags back with the step's other values.
import type { Tensor } from '../tensor.js';
import { KERNELS } from '../kernels.js';
import { EMA_STATE } from './ema.js';
import { OPTIMIZER_STATE, type OptimizerKind } from './optimizers.js';
import type { ArenaPlace } from './layout.js';
import type { ParameterArenas } from './arenas.js';

export interface GradientStats {
  /** L2 norm of the whole gradient arena (NaN when finite is false). */
  norm: number;
  /** false when any gradient element is NaN or +-Inf. */
  finite: boolean;
  /** Number of NaN/Inf elements. */
  nonFinite: number;
}

/**
 * The arenas nonFiniteCheck() examines when no optimizer but Adamax has stepped, in report order: the parameters,
 * the EMA, Adamax's v and u. After another optimizer stepped, its state arenas take the last two places.
 */
export const STATE_ARENAS = ['params', 'ema', ...OPTIMIZER_STATE.adamax.arenas] as const;
/** An arena a check may name: the parameters, the EMA or any optimizer's state arena. */
export type StateArena = 'params' | 'ema' | (typeof OPTIMIZER_STATE)[OptimizerKind]['arenas'][number];

/** The first non-finite element of one arena. */
export interface NonFiniteHit extends ArenaPlace {
  arena: StateArena;
}

export interface FinitenessReport {
  /** true when every element of the parameters, the EMA and the optimizer state (those that exist) is finite. */
  finite: boolean;
  /** The first non-finite element of each arena that has one: parameters, EMA, optimizer state, in that order. */
  hits: NonFiniteHit[];
}

const STATS_GROUPS = 512;

/** Per-workgroup sums of squares and non-finite counts of the gradient arena: pairs, chunk k's from k * 2 * STATS_GROUPS. */
function recordGradientPartials(set: ParameterArenas, partials: Tensor, label: string): number[] {
  const used = set.layout.chunks.map((c) => Math.min(STATS_GROUPS, Math.ceil(c.size / 256)));
  set.layout.chunks.forEach((c, k) => {
    set.engine.dispatch({
      kernel: KERNELS.grad_stats,
      params: { n: c.size, out_offset: k * 2 * STATS_GROUPS },
      inputs: { g: set.gradWindows[k]! },
      outputs: { out: partials },
      workgroups: used[k]!,
      label,
    });
  });
  return used;
}

/**
 * Records the global gradient norm and PyTorch's clipping factor min(1, maxNorm / (norm + 1e-6)) into a new
 * tensor [factor, norm, 0, 0] (NaN both when a gradient element is not finite), all on the GPU: the optimizer
 * pass multiplies the gradient by element 0. The caller owns the tensor.
 */
export function clipFactorPass(set: ParameterArenas, maxNorm: number): Tensor {
  if (!(typeof maxNorm === 'number' && maxNorm > 0 && Number.isFinite(maxNorm))) throw new Error(`clipNorm must be a finite number > 0, got ${maxNorm}`);
  const e = set.engine;
  const chunks = set.layout.chunks.length;
  const out = e.zeros([4]);
  if (chunks === 0) {
    e.write(out, [1, 0, 0, 0]);
    return out;
  }
  const partials = e.zeros([chunks * 2 * STATS_GROUPS]);
  recordGradientPartials(set, partials, 'clipGradNorm');
  e.dispatch({ kernel: KERNELS.clip_scale, params: { count: chunks * STATS_GROUPS, max_norm: maxNorm, nan_bits: 0x7fc00000 }, inputs: { partials }, outputs: { out }, workgroups: 1, label: 'clipGradNorm' });
  partials.dispose();
  return out;
}

export async function gradientStats(set: ParameterArenas): Promise<GradientStats> {
  const e = set.engine;
  const chunks = set.layout.chunks;
  if (chunks.length === 0) return { norm: 0, finite: true, nonFinite: 0 };
  const partials = e.empty([chunks.length * 2 * STATS_GROUPS], 'gradientStats');
  try {
    const used = recordGradientPartials(set, partials, 'gradientStats');
    const r = await partials.read();
    let sum = 0;
    let bad = 0;
    used.forEach((w, k) => {
      for (let i = 0; i < w; i++) {
        sum += r[k * 2 * STATS_GROUPS + 2 * i]!;
        bad += r[k * 2 * STATS_GROUPS + 2 * i + 1]!;
      }
    });
    return { norm: bad > 0 ? NaN : Math.sqrt(sum), finite: bad === 0, nonFinite: bad };
  } finally {
    partials.dispose();
  }
}

/**
 * Records the fused check (see the top of this file); `emaReady`: whether the EMA arena holds an average;
 * `optimizer`: whose state arenas to examine (the one that stepped last; Adamax's when none has).
 */
export function recordNonFiniteCheck(set: ParameterArenas, emaReady: boolean, optimizer: OptimizerKind | null): { flags: Tensor; report(bits: Uint32Array): FinitenessReport } {
  const e = set.engine;
  const { arenaSize, chunks } = set.layout;
  if (arenaSize >= 0x7f800000) throw new Error(`ParameterSet.nonFiniteCheck: ${arenaSize} elements per arena exceed what the flags encode (< 0x7f800000)`);
  const ema = emaReady ? set.existingStateArena(EMA_STATE) : null;
  const stateNames: readonly StateArena[] = OPTIMIZER_STATE[optimizer ?? 'adamax'].arenas;
  const v = stateNames[0] ? set.existingStateArena(stateNames[0]) : null;
  const u = stateNames[1] ? set.existingStateArena(stateNames[1]) : null;
  const flags = e.zeros([4]);
  chunks.forEach((c, k) => {
    const p = set.paramWindows[k]!;
    e.dispatch({
      kernel: KERNELS.nonfinite_check,
      params: { n: c.size, base: c.offset, total: arenaSize },
      inputs: { p, ema: ema?.windows[k] ?? p, v: v?.windows[k] ?? p, u: u?.windows[k] ?? p },
      outputs: { first: flags },
      workgroups: Math.min(STATS_GROUPS, Math.ceil(c.size / 256)),
      label: 'nonFiniteCheck',
    });
  });
  const present = [true, ema !== null, v !== null, u !== null];
  const names: StateArena[] = ['params', 'ema', stateNames[0] ?? 'params', stateNames[1] ?? 'params'];
  const report = (bits: Uint32Array): FinitenessReport => {
    const hits: NonFiniteHit[] = [];
    names.forEach((arena, k) => {
      if (!present[k] || bits[k] === 0) return;
      hits.push({ arena, ...set.layout.locate(arenaSize - bits[k]!) });
    });
    return { finite: hits.length === 0, hits };
  };
  return { flags, report };
}
