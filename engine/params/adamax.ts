// Adamax (docs/MODEL.md §3.9: the TF form of openai/iaf tf_utils/adamax.py, NO bias correction), one dispatch
// per arena chunk over the gradient arena, updating the parameters and the state arenas 'adamax.v' and
// 'adamax.u' (zero at first use, as TF's slots):
//   v <- beta1 v + (1 - beta1) g
//   u <- max(beta2 u + eps, |g|)
//   p <- p - lr v / u                       lr = 0.002, beta1 = 0.9, beta2 = 0.999, eps = 1e-8 (§1.5)
// The alternative, Theano AdaMaxAvg (`variant: 'theano'`): u <- max(beta2 u, |g| + eps), the rest the same.
// Gradients are used as accumulated (the caller decides sum vs mean). Gaps between parameters are updated like
// parameters with g = 0 and stay 0.
import { KERNELS } from '../kernels.js';
import type { ParameterArenas } from './arenas.js';

export interface AdamaxOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** 'tf' (default): u <- max(beta2 u + eps, |g|). 'theano': u <- max(beta2 u, |g| + eps). */
  variant?: 'tf' | 'theano';
}

/** The state arenas of Adamax, as named in checkpoints and health reports. */
export const ADAMAX_STATE = { v: 'adamax.v', u: 'adamax.u' } as const;

export function adamaxPass(set: ParameterArenas, opts: AdamaxOptions): void {
  const lr = opts.lr ?? 0.002;
  const beta1 = opts.beta1 ?? 0.9;
  const beta2 = opts.beta2 ?? 0.999;
  const eps = opts.eps ?? 1e-8;
  const v = set.stateArena(ADAMAX_STATE.v);
  const u = set.stateArena(ADAMAX_STATE.u);
  const theano = (opts.variant ?? 'tf') === 'theano';
  set.layout.chunks.forEach((c, k) => {
    set.engine.dispatch({
      kernel: KERNELS.adamax,
      overrides: { THEANO: theano },
      params: { n: c.size, lr, beta1, one_minus_beta1: 1 - beta1, beta2, eps },
      inputs: { g: set.gradWindows[k]! },
      outputs: { p: set.paramWindows[k]!, v: v.windows[k]!, u: u.windows[k]! },
      workgroups: Math.ceil(c.size / 256),
      label: 'adamax',
    });
  });
}
