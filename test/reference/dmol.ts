// Float64 CPU reference of the discretized logistic mixture (docs/MODEL.md §2.6) and of its sampler (§2.8), written
// as plain loops straight from the spec and deliberately in the spec's literal form (cdf_delta = sigma(plus) -
// sigma(minus), log_cdf_plus = plus - softplus(plus), ...), independent of the GPU kernel, which uses a
// factored, cancellation-free form of the same quantities. Same branch order: x < -0.999, x > 0.999,
// cdf_delta > 1e-5, fallback. Gradients in the tests come from finite differences of these forwards.
import { philox4x32, seedToKey, streamCounter } from './philox.js';
import { type RefTensor, ref } from './tensor.js';

const HALF_BIN = 1 / 255;
const LOG_127_5 = Math.log(127.5);

const sigmoid = (a: number): number => 1 / (1 + Math.exp(-a));
const softplus = (a: number): number => Math.max(a, 0) + Math.log1p(Math.exp(-Math.abs(a)));

/**
 * Which of the four §2.6 branches were taken (tests check that their inputs reach every branch), and how many of
 * the fallback channels had a raw log-scale above the -7 clamp (below it the log-scale's gradient is zero, so
 * only those check the fallback's d/d log-scale).
 */
export interface BranchCounts {
  low: number;
  high: number;
  interior: number;
  fallback: number;
  fallbackAboveClamp: number;
}

export function emptyCounts(): BranchCounts {
  return { low: 0, high: 0, interior: 0, fallback: 0, fallbackAboveClamp: 0 };
}

/** log p of one channel of one component: x in [-1, 1], coupled mean mu, raw (unclamped) log-scale. */
export function refChannelLogProb(x: number, mu: number, rawLogScale: number, counts?: BranchCounts): number {
  const logS = Math.max(rawLogScale, -7);
  const inv = Math.exp(-logS);
  const centered = x - mu;
  const plus = inv * (centered + HALF_BIN);
  const minus = inv * (centered - HALF_BIN);
  const cdfPlus = sigmoid(plus);
  const cdfMin = sigmoid(minus);
  const cdfDelta = cdfPlus - cdfMin;
  const logCdfPlus = plus - softplus(plus);
  const logOneMinusCdfMin = -softplus(minus);
  const mid = inv * centered;
  const logPdfMid = mid - logS - 2 * softplus(mid);
  if (x < -0.999) {
    if (counts) counts.low++;
    return logCdfPlus;
  }
  if (x > 0.999) {
    if (counts) counts.high++;
    return logOneMinusCdfMin;
  }
  if (cdfDelta > 1e-5) {
    if (counts) counts.interior++;
    return Math.log(Math.max(cdfDelta, 1e-12));
  }
  if (counts) {
    counts.fallback++;
    if (rawLogScale > -7) counts.fallbackAboveClamp++;
  }
  return logPdfMid - LOG_127_5;
}

/** Channels per pixel of a params row of length k for nrMix components. */
function channels(k: number, nrMix: number): 1 | 3 {
  if (k === 10 * nrMix) return 3;
  if (k === 3 * nrMix) return 1;
  throw new Error(`dmol reference: ${k} params per pixel do not fit nrMix ${nrMix}`);
}

/**
 * Per-component terms of one pixel: logPi[k] = log_softmax(logits)_k and logC[c][k] = log p_{c,k} with the
 * means coupled to the observed x (teacher forcing). `theta` holds the pixel's params from `off`.
 */
export function refPixelComponents(theta: ArrayLike<number>, off: number, x: readonly number[], nrMix: number, counts?: BranchCounts): { logPi: number[]; logC: number[][] } {
  const M = nrMix;
  const C = x.length;
  let lmax = -Infinity;
  for (let k = 0; k < M; k++) lmax = Math.max(lmax, theta[off + k]!);
  let s = 0;
  for (let k = 0; k < M; k++) s += Math.exp(theta[off + k]! - lmax);
  const lse = lmax + Math.log(s);
  const logPi: number[] = [];
  for (let k = 0; k < M; k++) logPi.push(theta[off + k]! - lse);
  const logC: number[][] = [];
  for (let c = 0; c < C; c++) {
    const row: number[] = [];
    for (let k = 0; k < M; k++) {
      const slot = off + M + 3 * M * c;
      let mu = theta[slot + k]!;
      if (C === 3 && c === 1) mu += Math.tanh(theta[off + M + 2 * M + k]!) * x[0]!;
      if (C === 3 && c === 2) mu += Math.tanh(theta[off + M + 3 * M + 2 * M + k]!) * x[0]! + Math.tanh(theta[off + M + 6 * M + 2 * M + k]!) * x[1]!;
      row.push(refChannelLogProb(x[c]!, mu, theta[slot + M + k]!, counts));
    }
    logC.push(row);
  }
  return { logPi, logC };
}

/** log p(pixel) = logsumexp_k [log_softmax_k + sum_c log p_{c,k}] (one mixture indicator for all channels). */
export function refPixelLogProb(theta: ArrayLike<number>, off: number, x: readonly number[], nrMix: number, counts?: BranchCounts): number {
  const { logPi, logC } = refPixelComponents(theta, off, x, nrMix, counts);
  const terms = logPi.map((lp, k) => lp + logC.reduce((acc, row) => acc + row[k]!, 0));
  const m = Math.max(...terms);
  return m + Math.log(terms.reduce((acc, t) => acc + Math.exp(t - m), 0));
}

/** Per-pixel log p, [B, H, W]. params [B, H, W, K], x [B, H, W, C]. */
export function refDmolLogProbPixels(params: RefTensor, x: RefTensor, nrMix: number, counts?: BranchCounts): RefTensor {
  const [B, H, W, K] = params.shape as [number, number, number, number];
  const C = x.shape[3]!;
  if (channels(K, nrMix) !== C) throw new Error(`dmol reference: x has ${C} channels, params ${K}`);
  const n = B * H * W;
  const out = ref([B, H, W]);
  for (let p = 0; p < n; p++) {
    const xs: number[] = [];
    for (let c = 0; c < C; c++) xs.push(x.data[p * C + c]!);
    out.data[p] = refPixelLogProb(params.data, p * K, xs, nrMix, counts);
  }
  return out;
}

/** Per-image log-likelihood, [B]: the sum of log p over pixels (and channels). */
export function refDmolLogLikelihood(params: RefTensor, x: RefTensor, nrMix: number, counts?: BranchCounts): RefTensor {
  const pix = refDmolLogProbPixels(params, x, nrMix, counts);
  const [B, H, W] = pix.shape as [number, number, number];
  const out = ref([B]);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let i = 0; i < H * W; i++) s += pix.data[b * H * W + i]!;
    out.data[b] = s;
  }
  return out;
}

/** x in [-1, 1] of the 8-bit value v: (v - 127.5) / 127.5. */
export const gridValue = (v: number): number => (v - 127.5) / 127.5;

/**
 * Exact triple sum over all 256^3 RGB values of p(pixel) for one pixel's params (RGB, float64). The per-channel
 * terms that do not depend on the inner loop variables are hoisted; every term is refChannelLogProb.
 */
export function refJointSumRGB(theta: ArrayLike<number>, nrMix: number): number {
  const M = nrMix;
  const { logPi } = refPixelComponents(theta, 0, [0, 0, 0], M);
  const mu = (c: number, k: number): number => theta[M + 3 * M * c + k]!;
  const ls = (c: number, k: number): number => theta[M + 3 * M * c + M + k]!;
  const co = (c: number, k: number): number => Math.tanh(theta[M + 3 * M * c + 2 * M + k]!);
  let total = 0;
  for (let r = 0; r < 256; r++) {
    const xr = gridValue(r);
    for (let g = 0; g < 256; g++) {
      const xg = gridValue(g);
      for (let k = 0; k < M; k++) {
        const head = logPi[k]! + refChannelLogProb(xr, mu(0, k), ls(0, k)) + refChannelLogProb(xg, mu(1, k) + co(0, k) * xr, ls(1, k));
        const muB = mu(2, k) + co(1, k) * xr + co(2, k) * xg;
        const lsB = ls(2, k);
        let inner = 0;
        for (let b = 0; b < 256; b++) inner += Math.exp(head + refChannelLogProb(gridValue(b), muB, lsB));
        total += inner;
      }
    }
  }
  return total;
}

/**
 * Sampler reference for one pixel (§2.8) with the kernel's Philox noise layout: counter (pixel, stream, kind, 0);
 * kind 3 + q word j -> Gumbel uniform of component 4q + j; kind 2 word c -> logistic uniform of channel c;
 * uniforms ((w >> 8) + 0.5) / 2^24 (in float32, like the kernel) clipped to [1e-5, 1 - 1e-5]. Returns the values, the chosen component and
 * the gap between the best and second-best Gumbel scores (tests skip near-ties, where float32 may differ).
 */
export function refSamplePixel(theta: ArrayLike<number>, off: number, nrMix: number, nc: 1 | 3, pixel: number, seed: number, stream: number): { x: number[]; k: number; gap: number } {
  const M = nrMix;
  const key = seedToKey(seed);
  const [s, sHi] = streamCounter(stream);
  // The kernel forms (f32(w >> 8) + 0.5) / 2^24 in float32 (the + 0.5 rounds for w >> 8 >= 2^23), so near u = 1
  // the float64 value would differ from it by up to 3e-8, i.e. a relative 3e-3 in 1 - u at the clip: emulate it.
  const lo = Math.fround(1e-5);
  const hi = Math.fround(1 - 1e-5);
  const unit = (w: number): number => Math.min(Math.max(Math.fround(Math.fround(w >>> 8) + 0.5) / 16777216, lo), hi);
  const scores: number[] = [];
  for (let k = 0; k < M; k++) {
    const words = philox4x32([pixel >>> 0, s, 3 + Math.floor(k / 4), sHi], key);
    const u = unit(words[k % 4]!);
    scores.push(theta[off + k]! - Math.log(-Math.log(u)));
  }
  let best = 0;
  for (let k = 1; k < M; k++) if (scores[k]! > scores[best]!) best = k;
  let second = -Infinity;
  for (let k = 0; k < M; k++) if (k !== best) second = Math.max(second, scores[k]!);
  const noise = philox4x32([pixel >>> 0, s, 2, sHi], key);
  const clip = (v: number): number => Math.min(Math.max(v, -1), 1);
  const draw = (c: number): number => {
    const u = unit(noise[c]!);
    const slot = off + M + 3 * M * c;
    return theta[slot + best]! + Math.exp(Math.max(theta[slot + M + best]!, -7)) * (Math.log(u) - Math.log(1 - u));
  };
  const xr = clip(draw(0));
  if (nc === 1) return { x: [xr], k: best, gap: scores[best]! - second };
  const coeff = (c: number): number => Math.tanh(theta[off + M + 3 * M * c + 2 * M + best]!);
  const xg = clip(draw(1) + coeff(0) * xr);
  const xb = clip(draw(2) + coeff(1) * xr + coeff(2) * xg);
  return { x: [xr, xg, xb], k: best, gap: scores[best]! - second };
}
