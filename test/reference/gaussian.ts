// Float64 references for the Gaussian ops (engine/ops/gaussian.ts): textbook formulas in sd (not log-sd) form
// and their derivatives, plain loops.
import { type RefTensor, ref } from './tensor.js';

const LOG_2PI = Math.log(2 * Math.PI);

export function refGaussianSample(mean: RefTensor, logStd: RefTensor, eps: RefTensor): RefTensor {
  return ref(mean.shape, (i) => mean.data[i]! + Math.exp(logStd.data[i]!) * eps.data[i]!);
}

export function refGaussianSampleVjp(mean: RefTensor, logStd: RefTensor, eps: RefTensor, g: RefTensor): RefTensor[] {
  const sd = (i: number): number => Math.exp(logStd.data[i]!);
  return [ref(mean.shape, (i) => g.data[i]!), ref(mean.shape, (i) => g.data[i]! * sd(i) * eps.data[i]!), ref(mean.shape, (i) => g.data[i]! * sd(i))];
}

export function refGaussianLogDensity(z: RefTensor, mean: RefTensor, logStd: RefTensor): RefTensor {
  return ref(z.shape, (i) => {
    const sd = Math.exp(logStd.data[i]!);
    const d = z.data[i]! - mean.data[i]!;
    return -0.5 * LOG_2PI - Math.log(sd) - (d * d) / (2 * sd * sd);
  });
}

export function refGaussianLogDensityVjp(z: RefTensor, mean: RefTensor, logStd: RefTensor, g: RefTensor): RefTensor[] {
  const dz = ref(z.shape);
  const dm = ref(z.shape);
  const dls = ref(z.shape);
  for (let i = 0; i < z.data.length; i++) {
    const v = Math.exp(2 * logStd.data[i]!);
    const d = z.data[i]! - mean.data[i]!;
    dz.data[i] = (-g.data[i]! * d) / v;
    dm.data[i] = (g.data[i]! * d) / v;
    dls.data[i] = g.data[i]! * (-1 + (d * d) / v);
  }
  return [dz, dm, dls];
}

export function refGaussianKL(mq: RefTensor, lsq: RefTensor, mp: RefTensor, lsp: RefTensor): RefTensor {
  return ref(mq.shape, (i) => {
    const sq = Math.exp(lsq.data[i]!);
    const sp = Math.exp(lsp.data[i]!);
    const d = mq.data[i]! - mp.data[i]!;
    return lsp.data[i]! - lsq.data[i]! + (sq * sq + d * d) / (2 * sp * sp) - 0.5;
  });
}

export function refGaussianKLVjp(mq: RefTensor, lsq: RefTensor, mp: RefTensor, lsp: RefTensor, g: RefTensor): RefTensor[] {
  const out = [ref(mq.shape), ref(mq.shape), ref(mq.shape), ref(mq.shape)];
  for (let i = 0; i < mq.data.length; i++) {
    const vq = Math.exp(2 * lsq.data[i]!);
    const vp = Math.exp(2 * lsp.data[i]!);
    const d = mq.data[i]! - mp.data[i]!;
    const gi = g.data[i]!;
    out[0]!.data[i] = (gi * d) / vp;
    out[1]!.data[i] = gi * (-1 + vq / vp);
    out[2]!.data[i] = (-gi * d) / vp;
    out[3]!.data[i] = gi * (1 - (vq + d * d) / vp);
  }
  return out;
}

/** Per-channel batch mean of the (h, w) sums of kl [B,H,W,Z]: [Z]. */
export function refChannelKL(kl: RefTensor): number[] {
  const [B, H, W, Z] = kl.shape as [number, number, number, number];
  const k = new Array<number>(Z).fill(0);
  for (let i = 0; i < B * H * W * Z; i++) k[i % Z]! += kl.data[i]! / B;
  return k;
}

/** Free-bits objective (scalar []): sum_c max(k_c, lambda). */
export function refFreeBitsObjective(kl: RefTensor, lambda: number): RefTensor {
  return ref([], [refChannelKL(kl).reduce((s, v) => s + Math.max(v, lambda), 0)]);
}

/** Gradient of the objective w.r.t. kl for cotangent g: g / B on channels with k_c > lambda, 0 elsewhere. */
export function refFreeBitsObjectiveVjp(kl: RefTensor, lambda: number, g: number): RefTensor {
  const B = kl.shape[0]!;
  const Z = kl.shape[3]!;
  const k = refChannelKL(kl);
  return ref(kl.shape, (i) => (k[i % Z]! > lambda ? g / B : 0));
}

/** True KL per image [B]. */
export function refTrueKL(kl: RefTensor): RefTensor {
  const B = kl.shape[0]!;
  const n = kl.data.length / B;
  return ref([B], (b) => {
    let s = 0;
    for (let j = 0; j < n; j++) s += kl.data[b * n + j]!;
    return s;
  });
}
