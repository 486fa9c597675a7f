// Float64 reference of the K-level discretized logistic log-likelihood (docs/MODEL.md §1.3): forward per image,
// per-bin probabilities, and the vjp for (mean, logScale). Written independently of the engine's kernels:
// plain sigmoids in float64 and the textbook derivative dD = sigma'(b) db - sigma'(a) da.
import { type RefTensor, ref } from './tensor.js';

const sig = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const dsig = (x: number): number => sig(x) * sig(-x);

interface BinTerms {
  /** CDF difference without the 1e-7 */
  D: number;
  /** dD/dmu */
  dmu: number;
  /** dD/dlogScale */
  dls: number;
}

/** One element: pixel value y (0..255), mean mu (IAF units), log-scale ls, K levels. */
export function refBin(y: number, mu: number, ls: number, K: number, tails: boolean): BinTerms {
  const c = 256 / K;
  const k = Math.min(Math.max(Math.floor(y / c), 0), K - 1);
  const lower = (c * k) / 256 - 0.5;
  const upper = lower + c / 256;
  const s = Math.exp(ls);
  const loInf = tails && k === 0;
  const hiInf = tails && k === K - 1;
  const a = (lower - mu) / s;
  const b = (upper - mu) / s;
  // CDF values and their derivatives; an infinite edge contributes a constant 0 or 1.
  const Fa = loInf ? 0 : sig(a);
  const Fb = hiInf ? 1 : sig(b);
  // Both CDFs near 1: subtract the complements instead.
  const D = !loInf && a > 0 ? sig(-a) - (hiInf ? 0 : sig(-b)) : Fb - Fa;
  const pa = loInf ? 0 : dsig(a);
  const pb = hiInf ? 0 : dsig(b);
  // a = (lower - mu) / s: da/dmu = -1/s, da/dls = -a.
  const dmu = (-pb + pa) / s;
  const dls = -b * pb + a * pa;
  return { D, dmu, dls };
}

/** Per-image log-likelihood [B] of y [B,H,W,C] given mean [B,H,W,C] and logScale [C]. */
export function refLogisticLL(mean: RefTensor, logScale: RefTensor, y: RefTensor, K: number, tails = false): RefTensor {
  const [B, H, W, C] = mean.shape as [number, number, number, number];
  const n = H * W * C;
  return ref([B], (b) => {
    let s = 0;
    for (let j = 0; j < n; j++) {
      const i = b * n + j;
      s += Math.log(refBin(y.data[i]!, mean.data[i]!, logScale.data[j % C]!, K, tails).D + 1e-7);
    }
    return s;
  });
}

/** vjp of refLogisticLL for cotangent g [B]: [dmean, dlogScale]. */
export function refLogisticVjp(mean: RefTensor, logScale: RefTensor, y: RefTensor, K: number, tails: boolean, g: RefTensor): [RefTensor, RefTensor] {
  const [B, H, W, C] = mean.shape as [number, number, number, number];
  const n = H * W * C;
  const dmean = ref(mean.shape);
  const dls = ref([C]);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < n; j++) {
      const i = b * n + j;
      const t = refBin(y.data[i]!, mean.data[i]!, logScale.data[j % C]!, K, tails);
      const w = g.data[b]! / (t.D + 1e-7);
      dmean.data[i] = w * t.dmu;
      dls.data[j % C] += w * t.dls;
    }
  }
  return [dmean, dls];
}
