// A parameter set's arenas to and from a checkpoint: the parameters, the EMA and every optimizer state arena,
// each packed in spec order (no alignment gaps; params/layout.ts), with the names and shapes they must match on
// load, and the optimizers' step counts. Adamax's arenas keep the fields 'v' and 'u' (what the trainer's
// checkpoints store); every other state arena goes under its own name in `state`.
import { clearTensor } from '../buffer_copy.js';
import { fmtShape } from '../tensor.js';
import { EMA_STATE } from './ema.js';
import { ADAMAX_STATE } from './optimizers.js';
import type { ParameterArenas } from './arenas.js';

export interface ParameterCheckpoint {
  names: string[];
  shapes: number[][];
  /** Parameters packed in spec order (no alignment gaps). */
  params: Float32Array;
  ema?: Float32Array;
  /** Adamax's state arenas 'adamax.v' and 'adamax.u'. */
  v?: Float32Array;
  u?: Float32Array;
  /** Every other optimizer state arena by its name ('adam.m', 'adam.v', 'sgd.momentum'), packed. */
  state?: Record<string, Float32Array>;
  /** Steps each optimizer has taken ('adam': 1200): bias correction and learning-rate schedules resume from them. */
  steps?: Record<string, number>;
}

/** What the set keeps besides its arenas that a checkpoint carries. */
export interface CheckpointExtras {
  emaReady: boolean;
  steps: ReadonlyMap<string, number>;
  /** Names of the state arenas made so far (EMA and Adamax's included). */
  stateNames: readonly string[];
}

const OWN_FIELDS = new Set<string>([EMA_STATE, ADAMAX_STATE.v, ADAMAX_STATE.u]);

/** Reads back the arenas that exist (the EMA only when `emaReady`), packed. */
export async function serializeSet(set: ParameterArenas, extras: CheckpointExtras): Promise<ParameterCheckpoint> {
  const { layout } = set;
  const ck: ParameterCheckpoint = {
    names: [...layout.names],
    shapes: layout.shapes.map((s) => [...s]),
    params: layout.pack(await set.paramArena.read()),
  };
  const ema = set.existingStateArena(EMA_STATE);
  if (extras.emaReady && ema) ck.ema = layout.pack(await ema.whole.read());
  const v = set.existingStateArena(ADAMAX_STATE.v);
  const u = set.existingStateArena(ADAMAX_STATE.u);
  if (v && u) {
    ck.v = layout.pack(await v.whole.read());
    ck.u = layout.pack(await u.whole.read());
  }
  for (const name of extras.stateNames) {
    if (OWN_FIELDS.has(name)) continue;
    (ck.state ??= {})[name] = layout.pack(await set.existingStateArena(name)!.whole.read());
  }
  for (const [name, n] of extras.steps) if (n > 0) (ck.steps ??= {})[name] = n;
  return ck;
}

/**
 * Writes a checkpoint into the set's arenas (names and shapes must match, in order); optimizer state it lacks
 * is zeroed. Everything is checked before anything is written. Returns whether the EMA arena now holds an
 * average (the checkpoint had one) and the step counts to take over.
 */
export function loadCheckpoint(set: ParameterArenas, ck: ParameterCheckpoint, stateNames: readonly string[]): { emaReady: boolean; steps: Map<string, number> } {
  const { layout, engine: e } = set;
  if (ck.names.length !== layout.names.length || ck.names.some((n, i) => n !== layout.names[i])) {
    throw new Error(`ParameterSet.load: checkpoint parameter names differ (${ck.names.length} vs ${layout.names.length} parameters)`);
  }
  ck.shapes.forEach((s, i) => {
    const mine = layout.shapes[i]!;
    if (s.length !== mine.length || s.some((d, j) => d !== mine[j])) {
      throw new Error(`ParameterSet.load: '${layout.names[i]}' has shape ${fmtShape(s)} in the checkpoint, ${fmtShape(mine)} here`);
    }
  });
  if ((ck.v === undefined) !== (ck.u === undefined)) throw new Error('ParameterSet.load: a checkpoint needs both v and u or neither');
  const arenas = new Map<string, Float32Array>([['params', layout.unpack(ck.params, 'params')]]);
  if (ck.ema) arenas.set(EMA_STATE, layout.unpack(ck.ema, 'ema'));
  if (ck.v && ck.u) {
    arenas.set(ADAMAX_STATE.v, layout.unpack(ck.v, 'v'));
    arenas.set(ADAMAX_STATE.u, layout.unpack(ck.u, 'u'));
  }
  for (const [name, packed] of Object.entries(ck.state ?? {})) {
    if (OWN_FIELDS.has(name) || name === 'params') throw new Error(`ParameterSet.load: state arena '${name}' belongs in its own field of the checkpoint, not in 'state'`);
    arenas.set(name, layout.unpack(packed, `state '${name}'`));
  }
  const steps = new Map<string, number>();
  for (const [name, n] of Object.entries(ck.steps ?? {})) {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`ParameterSet.load: steps of '${name}' must be a non-negative integer, got ${n}`);
    steps.set(name, n);
  }
  for (const [name, values] of arenas) e.write(name === 'params' ? set.paramArena : set.stateArena(name).whole, values);
  // Optimizer state the checkpoint does not have starts again from zero.
  for (const name of stateNames) {
    if (name === EMA_STATE || arenas.has(name)) continue;
    clearTensor(e, set.existingStateArena(name)!.whole);
  }
  return { emaReady: ck.ema !== undefined, steps };
}
