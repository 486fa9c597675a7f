// Health checks of a parameter set's arenas: the gradient's L2 norm and NaN/Inf count (one strided reduction
// per chunk), and the first non-finite element of the whole training state (parameters, EMA, Adamax v and u,
// those that exist) from one fused kernel per chunk into four u32 flags: a 16-byte readback names the
// parameter and element of each arena's first bad value. A pipelined loop records the check with its step and
// reads the flags back with the step's other values.
import type { Tensor } from '../tensor.js';
import { KERNELS } from '../kernels.js';
import { ADAMAX_STATE } from './adamax.js';
import { EMA_STATE } from './ema.js';
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

/** The arenas of the training state, in the order nonFiniteCheck() examines them. */
export const STATE_ARENAS = ['params', 'ema', 'adamax.v', 'adamax.u'] as const;
export type StateArena = (typeof STATE_ARENAS)[number];

/** The first non-finite element of one arena. */
export interface NonFiniteHit extends ArenaPlace {
  arena: StateArena;
}

export interface FinitenessReport {
  /** true when every element of the parameters, the EMA and the Adamax state (those that exist) is finite. */
  finite: boolean;
  /** The first non-finite element of each arena that has one, in STATE_ARENAS order. */
  hits: NonFiniteHit[];
}

const STATS_GROUPS = 512;

export async function gradientStats(set: ParameterArenas): Promise<GradientStats> {
  const e = set.engine;
  const chunks = set.layout.chunks;
  if (chunks.length === 0) return { norm: 0, finite: true, nonFinite: 0 };
  const partials = e.empty([chunks.length * 2 * STATS_GROUPS], 'gradientStats');
  const used = chunks.map((c) => Math.min(STATS_GROUPS, Math.ceil(c.size / 256)));
  try {
    chunks.forEach((c, k) => {
      e.dispatch({
        kernel: KERNELS.grad_stats,
        params: { n: c.size, out_offset: k * 2 * STATS_GROUPS },
        inputs: { g: set.gradWindows[k]! },
        outputs: { out: partials },
        workgroups: used[k]!,
        label: 'gradientStats',
      });
    });
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

/** Records the fused check (see the top of this file); `emaReady`: whether the EMA arena holds an average. */
export function recordNonFiniteCheck(set: ParameterArenas, emaReady: boolean): { flags: Tensor; report(bits: Uint32Array): FinitenessReport } {
  const e = set.engine;
  const { arenaSize, chunks } = set.layout;
  if (arenaSize >= 0x7f800000) throw new Error(`ParameterSet.nonFiniteCheck: ${arenaSize} elements per arena exceed what the flags encode (< 0x7f800000)`);
  const ema = emaReady ? set.existingStateArena(EMA_STATE) : null;
  const v = set.existingStateArena(ADAMAX_STATE.v);
  const u = set.existingStateArena(ADAMAX_STATE.u);
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
  const report = (bits: Uint32Array): FinitenessReport => {
    const hits: NonFiniteHit[] = [];
    STATE_ARENAS.forEach((arena, k) => {
      if (!present[k] || bits[k] === 0) return;
      hits.push({ arena, ...set.layout.locate(arenaSize - bits[k]!) });
    });
    return { finite: hits.length === 0, hits };
  };
  return { flags, report };
}
