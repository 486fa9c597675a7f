// Polyak averaging (docs/MODEL.md §2.7, pitfall 1) in the state arena 'ema': ema <- decay ema + (1 - decay) p
// after every step (0.9995 PixelCNN++, 0.999 IAF). initEmaArena copies the parameters in AFTER data-dependent
// init, so the average starts from the initialised weights (TF created it from the pre-init initialisers).
// The swap exchanges the parameter and EMA arenas in place (no third copy): an evaluation with the averaged
// weights is a swap, the evaluation, and a swap back (ParameterSet.withEma).
import { copyTensor } from '../buffer_copy.js';
import { KERNELS } from '../kernels.js';
import type { ParameterArenas } from './arenas.js';

export const EMA_STATE = 'ema';

export function initEmaArena(set: ParameterArenas): void {
  copyTensor(set.engine, set.paramArena, set.stateArena(EMA_STATE).whole);
}

function checkDecay(d: number, name?: string): void {
  if (!(d >= 0 && d <= 1)) throw new Error(`ParameterSet.emaUpdate: decay must be in [0, 1], got ${d}${name ? ` for '${name}'` : ''}`);
}

/** One pass of the EMA kernel over whole chunks: mode 0 averages, mode 1 swaps. */
function chunkPass(set: ParameterArenas, mode: 0 | 1, decay: number): void {
  const ema = set.stateArena(EMA_STATE);
  set.layout.chunks.forEach((c, k) => {
    set.engine.dispatch({
      kernel: KERNELS.ema,
      overrides: { MODE: mode },
      params: { n: c.size, decay, one_minus_decay: 1 - decay },
      outputs: { p: set.paramWindows[k]!, ema: ema.windows[k]! },
      workgroups: Math.ceil(c.size / 256),
      label: mode === 0 ? 'ema' : 'ema.swap',
    });
  });
}

export function emaSwapPass(set: ParameterArenas): void {
  chunkPass(set, 1, 0);
}

/** ema <- decay ema + (1 - decay) p; a per-name decay makes one dispatch per run of equal decays (and chunk). */
export function emaUpdatePass(set: ParameterArenas, decay: number | ((name: string) => number)): void {
  if (typeof decay === 'number') {
    checkDecay(decay);
    chunkPass(set, 0, decay);
    return;
  }
  const e = set.engine;
  const ema = set.stateArena(EMA_STATE);
  for (const r of set.layout.ranges((name) => {
    const d = decay(name);
    checkDecay(d, name);
    return d;
  })) {
    const p = e.window(set.paramArena, r.offset, [r.size], 'ema.range');
    const m = e.window(ema.whole, r.offset, [r.size], 'ema.range');
    e.dispatch({
      kernel: KERNELS.ema,
      overrides: { MODE: 0 },
      params: { n: r.size, decay: r.value, one_minus_decay: 1 - r.value },
      outputs: { p, ema: m },
      workgroups: Math.ceil(r.size / 256),
      label: 'ema',
    });
    p.dispose();
    m.dispose();
  }
}
