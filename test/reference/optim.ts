// Float64 references of the optimizers (Adamax, SGD, Adam, AdamW), gradient clipping, learning-rate schedules
// and Polyak averaging (engine/params/), element by element, from the published update rules.

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

/** Per-element weight decay (one value per element of the packed parameters). */
export type RefDecay = ArrayLike<number>;

/**
 * One SGD step in place, PyTorch's torch.optim.SGD written out: d = g + wd p; with momentum, buf = d at the
 * first step, else momentum buf + (1 - dampening) d; Nesterov uses d + momentum buf, otherwise buf; p -= lr d.
 */
export function refSgdStep(
  s: { p: Float64Array; buf: Float64Array },
  g: ArrayLike<number>,
  o: { lr: number; momentum: number; dampening: number; nesterov: boolean; wd: RefDecay; first: boolean },
): void {
  for (let i = 0; i < s.p.length; i++) {
    let d = g[i]! + o.wd[i]! * s.p[i]!;
    if (o.momentum !== 0) {
      s.buf[i] = o.first ? d : o.momentum * s.buf[i]! + (1 - o.dampening) * d;
      d = o.nesterov ? d + o.momentum * s.buf[i]! : s.buf[i]!;
    }
    s.p[i] = s.p[i]! - o.lr * d;
  }
}

/**
 * One Adam step (t = 1 at the first) in place, from Kingma & Ba's Algorithm 1 with PyTorch's epsilon placement:
 * m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; mhat = m / (1 - b1^t); vhat = v / (1 - b2^t);
 * p -= lr mhat / (sqrt(vhat) + eps). L2 decay adds wd p to g; AdamW (decoupled) first multiplies p by 1 - lr wd.
 */
export function refAdamStep(
  s: { p: Float64Array; m: Float64Array; v: Float64Array },
  g: ArrayLike<number>,
  o: { lr: number; beta1: number; beta2: number; eps: number; wd: RefDecay; decoupled: boolean; t: number },
): void {
  for (let i = 0; i < s.p.length; i++) {
    let gi = g[i]!;
    if (o.decoupled) s.p[i] = s.p[i]! * (1 - o.lr * o.wd[i]!);
    else gi += o.wd[i]! * s.p[i]!;
    s.m[i] = o.beta1 * s.m[i]! + (1 - o.beta1) * gi;
    s.v[i] = o.beta2 * s.v[i]! + (1 - o.beta2) * gi * gi;
    const mhat = s.m[i]! / (1 - o.beta1 ** o.t);
    const vhat = s.v[i]! / (1 - o.beta2 ** o.t);
    s.p[i] = s.p[i]! - (o.lr * mhat) / (Math.sqrt(vhat) + o.eps);
  }
}

/** The gradient's global L2 norm and PyTorch's clip_grad_norm_ factor min(1, maxNorm / (norm + 1e-6)). */
export function refClip(g: ArrayLike<number>, maxNorm: number): { norm: number; factor: number } {
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
  const norm = Math.sqrt(s);
  return { norm, factor: Math.min(1, maxNorm / (norm + 1e-6)) };
}

/** Learning-rate schedules from their definitions. */
export const refSchedules = {
  step: (lr: number, every: number, gamma: number, step: number): number => {
    let v = lr;
    for (let k = every; k <= step; k += every) v *= gamma;
    return v;
  },
  cosine: (lr: number, total: number, warmup: number, min: number, step: number): number => {
    if (step < warmup) return (lr * (step + 1)) / warmup;
    const progress = Math.min(1, (step - warmup) / (total - warmup));
    return min + 0.5 * (lr - min) * (1 + Math.cos(Math.PI * progress));
  },
};
