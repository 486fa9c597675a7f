// A parameter set's arenas to and from a checkpoint: the parameters, the EMA and the Adamax state, each packed
// in spec order (no alignment gaps; params/layout.ts), with the names and shapes they must match on load.
import { clearTensor } from '../buffer_copy.js';
import { fmtShape } from '../tensor.js';
import { ADAMAX_STATE } from './adamax.js';
import { EMA_STATE } from './ema.js';
import type { ParameterArenas } from './arenas.js';

export interface ParameterCheckpoint {
  names: string[];
  shapes: number[][];
  /** Parameters packed in spec order (no alignment gaps). */
  params: Float32Array;
  ema?: Float32Array;
  v?: Float32Array;
  u?: Float32Array;
}

/** Reads back the arenas that exist (the EMA only when `emaReady`), packed. */
export async function serializeSet(set: ParameterArenas, emaReady: boolean): Promise<ParameterCheckpoint> {
  const { layout } = set;
  const ck: ParameterCheckpoint = {
    names: [...layout.names],
    shapes: layout.shapes.map((s) => [...s]),
    params: layout.pack(await set.paramArena.read()),
  };
  const ema = set.existingStateArena(EMA_STATE);
  if (emaReady && ema) ck.ema = layout.pack(await ema.whole.read());
  const v = set.existingStateArena(ADAMAX_STATE.v);
  const u = set.existingStateArena(ADAMAX_STATE.u);
  if (v && u) {
    ck.v = layout.pack(await v.whole.read());
    ck.u = layout.pack(await u.whole.read());
  }
  return ck;
}

/**
 * Writes a checkpoint into the set's arenas (names and shapes must match, in order); Adamax state it lacks is
 * zeroed. Returns whether the EMA arena now holds an average (the checkpoint had one).
 */
export function loadCheckpoint(set: ParameterArenas, ck: ParameterCheckpoint): boolean {
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
  e.write(set.paramArena, layout.unpack(ck.params, 'params'));
  if (ck.ema) e.write(set.stateArena(EMA_STATE).whole, layout.unpack(ck.ema, 'ema'));
  if (ck.v && ck.u) {
    e.write(set.stateArena(ADAMAX_STATE.v).whole, layout.unpack(ck.v, 'v'));
    e.write(set.stateArena(ADAMAX_STATE.u).whole, layout.unpack(ck.u, 'u'));
  } else {
    for (const name of [ADAMAX_STATE.v, ADAMAX_STATE.u]) {
      const a = set.existingStateArena(name);
      if (a) clearTensor(e, a.whole);
    }
  }
  return ck.ema !== undefined;
}
