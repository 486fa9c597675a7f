// Float64 references for the IAF step (engine/ops/iaf.ts, code form of docs/MODEL.md §3.4/§3.5), the AR channel
// mask (built like the reference code: start from ones, zero slices), a tiny AR network on one spatial
// position, numerical Jacobians and determinants; the unfused posterior and KL term of an IAF layer (slices,
// adds and the Gaussian references) that the fused iafPosterior and iafKl replace.
import { type RefTensor, ref } from './tensor.js';
import { slice } from './ops.js';
import { refGaussianLogDensity, refGaussianLogDensityVjp, refGaussianSample, refGaussianSampleVjp } from './gaussian.js';

export function refIafZ(z: RefTensor, m: RefTensor, s: RefTensor): RefTensor {
  return ref(z.shape, (i) => (z.data[i]! - 0.1 * m.data[i]!) / Math.exp(0.1 * s.data[i]!));
}

export function refIafLogDet(s: RefTensor): RefTensor {
  return ref(s.shape, (i) => 0.1 * s.data[i]!);
}

/** vjp of (z', logDet) for cotangents gz (of z') and gl (of logDet): [dz, dm, ds]. */
export function refIafVjp(z: RefTensor, m: RefTensor, s: RefTensor, gz: RefTensor, gl: RefTensor): RefTensor[] {
  const dz = ref(z.shape);
  const dm = ref(z.shape);
  const ds = ref(z.shape);
  for (let i = 0; i < z.data.length; i++) {
    const inv = 1 / Math.exp(0.1 * s.data[i]!);
    const zo = (z.data[i]! - 0.1 * m.data[i]!) * inv;
    dz.data[i] = gz.data[i]! * inv;
    dm.data[i] = -0.1 * gz.data[i]! * inv;
    ds.data[i] = -0.1 * gz.data[i]! * zo + 0.1 * gl.data[i]!;
  }
  return [dz, dm, ds];
}

/** get_linear_ar_mask of openai/iaf: ones [nIn, nOut], then zero slices (row-major, mask[i * nOut + j]). */
export function refArMask(nIn: number, nOut: number, zeroDiagonal: boolean): Float64Array {
  const mask = new Float64Array(nIn * nOut).fill(1);
  const zero = (r0: number, r1: number, c0: number, c1: number): void => {
    for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) mask[r * nOut + c] = 0;
  };
  if (nOut >= nIn) {
    const k = nOut / nIn;
    for (let i = 0; i < nIn; i++) {
      zero(i + 1, nIn, i * k, (i + 1) * k);
      if (zeroDiagonal) zero(i, i + 1, i * k, (i + 1) * k);
    }
  } else {
    const k = nIn / nOut;
    for (let i = 0; i < nOut; i++) {
      zero((i + 1) * k, nIn, i, i + 1);
      if (zeroDiagonal) zero(i * k, (i + 1) * k, i, i + 1);
    }
  }
  return mask;
}

/** x [nIn] times W [nIn, nOut] (row-major). */
export function vecMat(x: ArrayLike<number>, W: ArrayLike<number>, nIn: number, nOut: number): Float64Array {
  const y = new Float64Array(nOut);
  for (let i = 0; i < nIn; i++) for (let j = 0; j < nOut; j++) y[j] += x[i]! * W[i * nOut + j]!;
  return y;
}

export const elu = (v: number): number => (v > 0 ? v : Math.expm1(v));

/** Tiny AR-NN on one position: h = elu(z W1), m = h Wm, s = h Ws (W* already masked); returns z' of the IAF step. */
export function refArIaf(z: ArrayLike<number>, W1: ArrayLike<number>, Wm: ArrayLike<number>, Ws: ArrayLike<number>, Z: number, H: number): { zOut: Float64Array; s: Float64Array } {
  const h = Array.from(vecMat(z, W1, Z, H), elu);
  const m = vecMat(h, Wm, H, Z);
  const s = vecMat(h, Ws, H, Z);
  const zOut = new Float64Array(Z);
  for (let j = 0; j < Z; j++) zOut[j] = (z[j]! - 0.1 * m[j]!) / Math.exp(0.1 * s[j]!);
  return { zOut, s };
}

/** Central-difference Jacobian J[j][l] = d f_j / d x_l (row-major n x n). */
export function numericalJacobian(f: (x: Float64Array) => Float64Array, x: ArrayLike<number>, h = 1e-6): Float64Array {
  const n = x.length;
  const J = new Float64Array(n * n);
  const w = Float64Array.from(x);
  for (let l = 0; l < n; l++) {
    w[l] = x[l]! + h;
    const p = f(w);
    w[l] = x[l]! - h;
    const q = f(w);
    w[l] = x[l]!;
    for (let j = 0; j < n; j++) J[j * n + l] = (p[j]! - q[j]!) / (2 * h);
  }
  return J;
}

/** log |det A| by LU with partial pivoting (A row-major n x n; not assumed triangular). */
export function logAbsDet(A: ArrayLike<number>, n: number): number {
  const a = Float64Array.from(A);
  let logDet = 0;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let r = k + 1; r < n; r++) if (Math.abs(a[r * n + k]!) > Math.abs(a[p * n + k]!)) p = r;
    if (a[p * n + k] === 0) return -Infinity;
    if (p !== k) for (let c = 0; c < n; c++) [a[k * n + c], a[p * n + c]] = [a[p * n + c]!, a[k * n + c]!];
    const piv = a[k * n + k]!;
    logDet += Math.log(Math.abs(piv));
    for (let r = k + 1; r < n; r++) {
      const f = a[r * n + k]! / piv;
      for (let c = k; c < n; c++) a[r * n + c]! -= f * a[k * n + c]!;
    }
  }
  return logDet;
}

/** Channel window [from, from + width) of a channels-last tensor (float64 slice). */
function window(t: RefTensor, from: number, width: number): RefTensor {
  const last = t.shape.length - 1;
  return slice(t, t.shape.map((_, i) => (i === last ? from : 0)), t.shape.map((d, i) => (i === last ? from + width : d)));
}

/** Adds a [..., width] gradient into channels [from, from + width) of a zero-initialised [..., C] one. */
function addWindow(target: RefTensor, from: number, g: RefTensor): void {
  const C = target.shape[target.shape.length - 1]!;
  const w = g.shape[g.shape.length - 1]!;
  for (let i = 0; i < g.data.length; i++) {
    const p = Math.floor(i / w);
    target.data[p * C + from + (i % w)]! += g.data[i]!;
  }
}

export interface RefIafPosteriorLayout {
  latent: number;
  context: number;
  up: { mean: number; logStd: number; context: number };
  down: { mean: number; logStd: number; context: number; priorMean: number; priorLogStd: number };
  fromPrior?: boolean;
}

/**
 * The unfused IAF posterior (what engine/ops/iaf.ts iafPosterior replaces), from the float64 op references:
 * windows as slices, qMean/qLogSd/context as adds, z0 by gaussianSample, logq0 by gaussianLogDensity.
 */
export function refIafPosterior(up: RefTensor, down: RefTensor, eps: RefTensor, l: RefIafPosteriorLayout): { z0: RefTensor; logq0: RefTensor; context: RefTensor } {
  const add = (a: RefTensor, b: RefTensor): RefTensor => ref(a.shape, (i) => a.data[i]! + b.data[i]!);
  const qMean = add(window(up, l.up.mean, l.latent), window(down, l.down.mean, l.latent));
  const qLogStd = add(window(up, l.up.logStd, l.latent), window(down, l.down.logStd, l.latent));
  const context = add(window(up, l.up.context, l.context), window(down, l.down.context, l.context));
  const z0 = l.fromPrior ? refGaussianSample(window(down, l.down.priorMean, l.latent), window(down, l.down.priorLogStd, l.latent), eps) : refGaussianSample(qMean, qLogStd, eps);
  return { z0, logq0: refGaussianLogDensity(z0, qMean, qLogStd), context };
}

/** Its vjp for cotangents of (z0, logq0, context): [dUp, dDown], by the chain rule through the same ops. */
export function refIafPosteriorVjp(up: RefTensor, down: RefTensor, eps: RefTensor, l: RefIafPosteriorLayout, gz0: RefTensor, glogq0: RefTensor, gcontext: RefTensor): [RefTensor, RefTensor] {
  const add = (a: RefTensor, b: RefTensor): RefTensor => ref(a.shape, (i) => a.data[i]! + b.data[i]!);
  const qMean = add(window(up, l.up.mean, l.latent), window(down, l.down.mean, l.latent));
  const qLogStd = add(window(up, l.up.logStd, l.latent), window(down, l.down.logStd, l.latent));
  const { z0 } = refIafPosterior(up, down, eps, l);
  const [dzFromLogq, dMeanL, dLogStdL] = refGaussianLogDensityVjp(z0, qMean, qLogStd, glogq0) as [RefTensor, RefTensor, RefTensor];
  const gz = add(gz0, dzFromLogq);
  const dUp = ref(up.shape);
  const dDown = ref(down.shape);
  let dMean = dMeanL;
  let dLogStd = dLogStdL;
  if (l.fromPrior) {
    const [dpm, dps] = refGaussianSampleVjp(window(down, l.down.priorMean, l.latent), window(down, l.down.priorLogStd, l.latent), eps, gz) as [RefTensor, RefTensor];
    addWindow(dDown, l.down.priorMean, dpm);
    addWindow(dDown, l.down.priorLogStd, dps);
  } else {
    const [dm, ds] = refGaussianSampleVjp(qMean, qLogStd, eps, gz) as [RefTensor, RefTensor];
    dMean = add(dMean, dm);
    dLogStd = add(dLogStd, ds);
  }
  for (const [t, w] of [[dUp, l.up], [dDown, l.down]] as const) {
    addWindow(t, w.mean, dMean);
    addWindow(t, w.logStd, dLogStd);
    addWindow(t, w.context, gcontext);
  }
  return [dUp, dDown];
}

/** The unfused KL term (what iafKl replaces): kl = (logq0 + logDet) - gaussianLogDensity(z, prior windows). */
export function refIafKl(logq0: RefTensor, logDet: RefTensor, z: RefTensor, prior: RefTensor, l: { mean: number; logStd: number }): RefTensor {
  const Z = z.shape[z.shape.length - 1]!;
  const logp = refGaussianLogDensity(z, window(prior, l.mean, Z), window(prior, l.logStd, Z));
  return ref(z.shape, (i) => logq0.data[i]! + logDet.data[i]! - logp.data[i]!);
}

/** Its vjp for the cotangent g of kl: [dlogq0, dlogDet, dz, dprior]. */
export function refIafKlVjp(_logq0: RefTensor, _logDet: RefTensor, z: RefTensor, prior: RefTensor, l: { mean: number; logStd: number }, g: RefTensor): RefTensor[] {
  const Z = z.shape[z.shape.length - 1]!;
  const neg = ref(g.shape, (i) => -g.data[i]!);
  const [dz, dm, ds] = refGaussianLogDensityVjp(z, window(prior, l.mean, Z), window(prior, l.logStd, Z), neg) as [RefTensor, RefTensor, RefTensor];
  const dPrior = ref(prior.shape);
  addWindow(dPrior, l.mean, dm);
  addWindow(dPrior, l.logStd, ds);
  return [g, g, dz, dPrior];
}
