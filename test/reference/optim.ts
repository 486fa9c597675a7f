// Float64 references of the optimizer and Polyak averaging (engine/optim.ts), element by element.

export interface RefAdamaxState {
  p: Float64Array;
  v: Float64Array;
  u: Float64Array;
}

/**
 * One Adamax step in place. TF form (openai/iaf tf_utils/adamax.py, no bias correction):
 *   v = b1 v + (1 - b1) g; u = max(b2 u + eps, |g|); p -= lr v / u.
 * Theano AdaMaxAvg: u = max(b2 u, |g| + eps) instead.
 */
export function refAdamaxStep(
  s: RefAdamaxState,
  g: ArrayLike<number>,
  o: { lr: number; beta1: number; beta2: number; eps: number; variant?: 'tf' | 'theano' },
): void {
  for (let i = 0; i < s.p.length; i++) {
    const gi = g[i]!;
    s.v[i] = o.beta1 * s.v[i]! + (1 - o.beta1) * gi;
    s.u[i] = o.variant === 'theano' ? Math.max(o.beta2 * s.u[i]!, Math.abs(gi) + o.eps) : Math.max(o.beta2 * s.u[i]! + o.eps, Math.abs(gi));
    s.p[i] = s.p[i]! - (o.lr * s.v[i]!) / s.u[i]!;
  }
}

/** ema = decay ema + (1 - decay) p, in place. */
export function refEmaUpdate(ema: Float64Array, p: ArrayLike<number>, decay: number): void {
  for (let i = 0; i < ema.length; i++) ema[i] = decay * ema[i]! + (1 - decay) * p[i]!;
}

/**
 * The first non-finite (NaN or +-Inf) element of each array, -1 when all are finite: a plain loop, the reference
 * of ParameterSet.nonFiniteCheck (engine/optim.ts, shaders/nonfinite_check.wgsl).
 */
export function refFirstNonFinite(arrays: readonly ArrayLike<number>[]): number[] {
  return arrays.map((a) => {
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return i;
    return -1;
  });
}
