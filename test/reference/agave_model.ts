// Float64 CPU reference of the whole AGAVE loss (docs/MODEL.md §1-§3): the IAF ResNet-VAE (bidirectional inference,
// one IAF step per stochastic layer, free bits), the K-level discretized logistic of the auxiliary image, and the
// PixelCNN++ with the spatial conditioning stream (§1.4 "light stream"), its DMOL loss, per training phase; and
// the paper's baselines from the same parts: PixelCNN++ alone (refPixelcnnLoss) and the IAF-VAE alone (the
// 'vae' phase with the identity aux image: its decoder models x itself).
// Why: the GPU model (model/*.ts) had no independent forward reference and only a float32 wiring check of its
// gradients. This file is written from the spec and composed from the float64 references next to it (conv,
// gated, gaussian, iaf, logistic, dmol, aux_image, ops, philox); it imports nothing from engine/ or model/.
// Where the spec leaves a choice open, model/ was read for the intended wiring (noted inline as "wiring:").
//
// Gradients come from a float64 reverse pass: a small tape records each op with the vjp of its reference
// (refConv2dVjp, refGateVjp, ...); the DMOL reference (dmol.ts) has no vjp, so refPixelLogProbGrad here is its
// analytic derivative (the test checks it against central differences of refPixelLogProb in all four branches,
// and the whole reverse pass against float64 finite differences of refAgaveLoss along random directions).
//
// Noise: the latent eps and the dropout masks are the engine's Philox streams, reproduced with philox.ts
// (refNormal: kind 1; refConcatElu's mask: kind 2), consumed in the GPU model's order: one stream per stochastic
// layer in the top-down pass (top layer first), then one per gated resnet with dropout (up pass u, ul; down pass
// u, ul), numbered streamBase, streamBase + 1, ...
import { type RefTensor, ref } from './tensor.js';
import { refForward, refVjp, type RefAttrs } from './ops.js';
import { refConv2d, refConv2dVjp, refConvTranspose2d, refConvTranspose2dVjp, type RefConvGeom, type RefDeconvGeom } from './conv.js';
import { refConcatElu, refConcatEluVjp, refGate, refGateVjp, type RefNoise } from './gated.js';
import { refGaussianLogDensity, refGaussianLogDensityVjp, refGaussianSample, refGaussianSampleVjp, refFreeBitsObjective, refFreeBitsObjectiveVjp, refTrueKL } from './gaussian.js';
import { refArMask } from './iaf.js';
import { refLogisticLL, refLogisticVjp } from './logistic.js';
import { refDmolLogLikelihood } from './dmol.js';
import { refAvgPool, refAvgPoolVjp, refGray4, refQuantizeLevels, refRoundPixels, refUpsampleNearest, refUpsampleNearestVjp } from './aux_image.js';
import { refNormal } from './philox.js';

// ---------------------------------------------------------------------------------------------------------------
// The tape
// ---------------------------------------------------------------------------------------------------------------

/** A value on the tape; `g` is its gradient after backward() (null: no gradient reached it). */
export interface Var {
  readonly v: RefTensor;
  g: RefTensor | null;
  readonly needsGrad: boolean;
}

interface Entry {
  out: Var;
  inputs: Var[];
  vjp: (g: RefTensor) => (RefTensor | null)[];
}

export class Tape {
  private readonly entries: Entry[] = [];

  leaf(v: RefTensor, needsGrad = false): Var {
    return { v, g: null, needsGrad };
  }

  /** A constant copy of a value: no gradient flows through it (stop-gradient). */
  detach(x: Var): Var {
    return this.leaf(x.v, false);
  }

  op(v: RefTensor, inputs: Var[], vjp: (g: RefTensor) => (RefTensor | null)[]): Var {
    const out: Var = { v, g: null, needsGrad: inputs.some((i) => i.needsGrad) };
    if (out.needsGrad) this.entries.push({ out, inputs, vjp });
    return out;
  }

  /** d root / d every Var that needs a gradient; root must have one element. */
  backward(root: Var): void {
    if (root.v.data.length !== 1) throw new Error(`Tape.backward: root has ${root.v.data.length} elements`);
    root.g = ref(root.v.shape, () => 1);
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      if (!e.out.g) continue;
      const gs = e.vjp(e.out.g);
      e.inputs.forEach((inp, k) => {
        const g = gs[k];
        if (!inp.needsGrad || !g) return;
        if (g.data.length !== inp.v.data.length) throw new Error(`Tape.backward: gradient of ${g.data.length} elements for a value of ${inp.v.data.length}`);
        if (!inp.g) inp.g = ref(inp.v.shape, g.data);
        else for (let j = 0; j < g.data.length; j++) inp.g.data[j] += g.data[j]!;
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Ops on the tape
// ---------------------------------------------------------------------------------------------------------------

/** A table op of ops.ts (forward and vjp from REF_OPS). */
function gen(t: Tape, name: string, inputs: Var[], attrs?: RefAttrs): Var {
  const vs = inputs.map((i) => i.v);
  return t.op(refForward(name, vs, attrs), inputs, (g) => refVjp(name, vs, g, attrs));
}

const add = (t: Tape, a: Var, b: Var): Var => gen(t, 'add', [a, b]);
const sub = (t: Tape, a: Var, b: Var): Var => gen(t, 'sub', [a, b]);
const mul = (t: Tape, a: Var, b: Var): Var => gen(t, 'mul', [a, b]);
const mulScalar = (t: Tape, a: Var, s: number): Var => gen(t, 'mulScalar', [a], { s });
const elu = (t: Tape, a: Var): Var => gen(t, 'elu', [a]);
const exp = (t: Tape, a: Var): Var => gen(t, 'exp', [a]);
const neg = (t: Tape, a: Var): Var => gen(t, 'neg', [a]);
const mean = (t: Tape, a: Var): Var => gen(t, 'mean', [a], { axes: a.v.shape.map((_d, i) => i) });
const reshape = (t: Tape, a: Var, shape: number[]): Var => gen(t, 'reshape', [a], { shape });
const concat = (t: Tape, xs: Var[], axis: number): Var => gen(t, 'concat', xs, { axis });

/** Channels [from, to) of an NHWC value. */
function channels(t: Tape, x: Var, from: number, to: number): Var {
  const [B, H, W] = x.v.shape as [number, number, number, number];
  return gen(t, 'slice', [x], { starts: [0, 0, 0, from], ends: [B, H, W, to] });
}

/** Shift down one row (row 0 = 0): §2.2 down_shift. */
function downShift(t: Tape, x: Var): Var {
  const [B, H, W, C] = x.v.shape as [number, number, number, number];
  const s = gen(t, 'slice', [x], { starts: [0, 0, 0, 0], ends: [B, H - 1, W, C] });
  return gen(t, 'pad', [s], { before: [0, 1, 0, 0], after: [0, 0, 0, 0] });
}

/** Shift right one column (col 0 = 0): §2.2 right_shift. */
function rightShift(t: Tape, x: Var): Var {
  const [B, H, W, C] = x.v.shape as [number, number, number, number];
  const s = gen(t, 'slice', [x], { starts: [0, 0, 0, 0], ends: [B, H, W - 1, C] });
  return gen(t, 'pad', [s], { before: [0, 0, 1, 0], after: [0, 0, 0, 0] });
}

/** Nearest subsampling by 2 keeping pixel (2i, 2j) (§3.3 step 4, TF). */
function subsample(t: Tape, x: Var): Var {
  const [B, H, W, C] = x.v.shape as [number, number, number, number];
  const v = reshape(t, x, [B, H / 2, 2, W / 2, 2 * C]);
  const s = gen(t, 'slice', [v], { starts: [0, 0, 0, 0, 0], ends: [B, H / 2, 1, W / 2, C] });
  return reshape(t, s, [B, H / 2, W / 2, C]);
}

function clamp(t: Tape, x: Var, lo: number, hi: number): Var {
  const y = ref(x.v.shape, (i) => Math.min(Math.max(x.v.data[i]!, lo), hi));
  return t.op(y, [x], (g) => [ref(g.shape, (i) => (x.v.data[i]! > lo && x.v.data[i]! < hi ? g.data[i]! : 0))]);
}

function concatElu(t: Tape, x: Var, noise?: RefNoise): Var {
  return t.op(refConcatElu(x.v, noise), [x], (g) => [refConcatEluVjp(x.v, g, noise)]);
}

function gate(t: Tape, c2: Var, res: Var): Var {
  return t.op(refGate(c2.v, res.v), [c2, res], (g) => refGateVjp(c2.v, res.v, g));
}

function avgPool(t: Tape, x: Var, f: number): Var {
  return t.op(refAvgPool(x.v, f), [x], (g) => [refAvgPoolVjp(x.v.shape, f, g)]);
}

function upsampleNearest(t: Tape, x: Var, f: number): Var {
  return t.op(refUpsampleNearest(x.v, f), [x], (g) => [refUpsampleNearestVjp(x.v.shape, f, g)]);
}

/**
 * Weight norm (§2.3, §3.6 as recommended): w = g_o V / ||V_o||, the norm over every axis but the output axis.
 * vjp: dV = (g_o / n_o) (dw - V <dw, V>_o / n_o^2), dg_o = <dw, V>_o / n_o.
 */
function weightNorm(t: Tape, V: Var, g: Var, outAxis: number): Var {
  const shape = V.v.shape;
  const C = shape[outAxis]!;
  const inner = shape.slice(outAxis + 1).reduce((a, b) => a * b, 1);
  const chan = (i: number): number => Math.floor(i / inner) % C;
  const n = new Float64Array(C);
  V.v.data.forEach((v, i) => (n[chan(i)] += v * v));
  for (let c = 0; c < C; c++) n[c] = Math.sqrt(n[c]!);
  const w = ref(shape, (i) => (g.v.data[chan(i)]! * V.v.data[i]!) / n[chan(i)]!);
  return t.op(w, [V, g], (dw) => {
    const dot = new Float64Array(C);
    dw.data.forEach((d, i) => (dot[chan(i)] += d * V.v.data[i]!));
    const dV = ref(shape, (i) => {
      const c = chan(i);
      return (g.v.data[c]! / n[c]!) * (dw.data[i]! - (V.v.data[i]! * dot[c]!) / (n[c]! * n[c]!));
    });
    return [dV, ref([C], (c) => dot[c]! / n[c]!)];
  });
}

function conv(t: Tape, x: Var, w: Var, b: Var, geom: RefConvGeom): Var {
  return t.op(refConv2d(x.v, w.v, b.v, geom), [x, w, b], (g) => refConv2dVjp(x.v, w.v, b.v, geom, g));
}

function deconv(t: Tape, x: Var, w: Var, b: Var, geom: RefDeconvGeom): Var {
  return t.op(refConvTranspose2d(x.v, w.v, b.v, geom), [x, w, b], (g) => refConvTranspose2dVjp(x.v, w.v, b.v, geom, g));
}

const sig = (a: number): number => (a >= 0 ? 1 / (1 + Math.exp(-a)) : Math.exp(a) / (1 + Math.exp(a)));
const softplus = (a: number): number => Math.max(a, 0) + Math.log1p(Math.exp(-Math.abs(a)));
const HALF_BIN = 1 / 255;

/**
 * d log p(pixel) / d theta for one pixel's DMOL parameters (§2.6), analytic, differentiating only the branch the
 * forward (refChannelLogProb) selects: x < -0.999: log sigma(plus); x > 0.999: -softplus(minus); cdf_delta > 1e-5:
 * log(sigma(plus) - sigma(minus)); else the log-density fallback. scale times the gradient is written into
 * out[off .. off + K), K = 10M (RGB) or 3M (one channel: no coefficients).
 */
export function refPixelLogProbGrad(theta: ArrayLike<number>, off: number, x: readonly number[], M: number, scale: number, out: Float64Array): void {
  const C = x.length;
  const coeff = (c: number, k: number): number => Math.tanh(theta[off + M + 3 * M * c + 2 * M + k]!);
  // Per component: the log mixture weight plus the channels' log-probabilities, and each channel's partials.
  let lmax = -Infinity;
  for (let k = 0; k < M; k++) lmax = Math.max(lmax, theta[off + k]!);
  let se = 0;
  for (let k = 0; k < M; k++) se += Math.exp(theta[off + k]! - lmax);
  const lse = lmax + Math.log(se);
  const term = new Float64Array(M);
  const dMu = new Float64Array(C * M);
  const dLs = new Float64Array(C * M);
  for (let k = 0; k < M; k++) {
    term[k] = theta[off + k]! - lse;
    for (let c = 0; c < C; c++) {
      const slot = off + M + 3 * M * c;
      let mu = theta[slot + k]!;
      if (C === 3 && c === 1) mu += coeff(0, k) * x[0]!;
      if (C === 3 && c === 2) mu += coeff(1, k) * x[0]! + coeff(2, k) * x[1]!;
      const raw = theta[slot + M + k]!;
      const logS = Math.max(raw, -7);
      const inv = Math.exp(-logS);
      const d = x[c]! - mu;
      const plus = inv * (d + HALF_BIN);
      const minus = inv * (d - HALF_BIN);
      const mid = inv * d;
      let f: number;
      let fPlus = 0;
      let fMinus = 0;
      let fMid = 0;
      let fLogS = 0;
      const delta = sig(plus) - sig(minus);
      if (x[c]! < -0.999) {
        f = plus - softplus(plus);
        fPlus = sig(-plus);
      } else if (x[c]! > 0.999) {
        f = -softplus(minus);
        fMinus = -sig(minus);
      } else if (delta > 1e-5) {
        f = Math.log(delta);
        fPlus = (sig(plus) * sig(-plus)) / delta;
        fMinus = -(sig(minus) * sig(-minus)) / delta;
      } else {
        f = mid - logS - 2 * softplus(mid) - Math.log(127.5);
        fMid = 1 - 2 * sig(mid);
        fLogS = -1;
      }
      term[k] += f;
      // plus, minus, mid = inv * (x - mu' + const): d/dmu' = -inv, d/dlogS = -(the value itself).
      dMu[c * M + k] = -inv * (fPlus + fMinus + fMid);
      dLs[c * M + k] = raw > -7 ? fLogS - plus * fPlus - minus * fMinus - mid * fMid : 0;
    }
  }
  let tmax = -Infinity;
  for (let k = 0; k < M; k++) tmax = Math.max(tmax, term[k]!);
  let ts = 0;
  for (let k = 0; k < M; k++) ts += Math.exp(term[k]! - tmax);
  for (let k = 0; k < M; k++) {
    const r = Math.exp(term[k]! - tmax) / ts; // responsibility of component k
    const pi = Math.exp(theta[off + k]! - lse);
    out[off + k] = scale * (r - pi);
    for (let c = 0; c < C; c++) {
      const slot = off + M + 3 * M * c;
      out[slot + k] = scale * r * dMu[c * M + k]!;
      out[slot + M + k] = scale * r * dLs[c * M + k]!;
    }
    if (C === 3) {
      // mu'_G += tanh(coef_R) x_R; mu'_B += tanh(coef_G) x_R + tanh(coef_B) x_G (the coefficients live in slots R, G, B).
      const t0 = coeff(0, k);
      const t1 = coeff(1, k);
      const t2 = coeff(2, k);
      out[off + M + 2 * M + k] = scale * r * dMu[1 * M + k]! * (1 - t0 * t0) * x[0]!;
      out[off + M + 3 * M + 2 * M + k] = scale * r * dMu[2 * M + k]! * (1 - t1 * t1) * x[0]!;
      out[off + M + 6 * M + 2 * M + k] = scale * r * dMu[2 * M + k]! * (1 - t2 * t2) * x[1]!;
    }
  }
}

/** log p of every image [B] under the DMOL (§2.6), with the analytic per-pixel vjp above. */
function dmolLogLikelihood(t: Tape, params: Var, x: RefTensor, M: number): Var {
  const value = refDmolLogLikelihood(params.v, x, M);
  return t.op(value, [params], (g) => {
    const [B, H, W, K] = params.v.shape as [number, number, number, number];
    const C = x.shape[3]!;
    const d = ref(params.v.shape);
    for (let p = 0; p < B * H * W; p++) {
      const xs = Array.from({ length: C }, (_v, c) => x.data[p * C + c]!);
      refPixelLogProbGrad(params.v.data, p * K, xs, M, g.data[Math.floor(p / (H * W))]!, d.data);
    }
    return [d];
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------------------------

/** The settings the reference needs (structurally a subset of model/config.ts's ModelConfig). */
export interface RefAgaveConfig {
  imageSize: number;
  pixelcnn: { filters: number; resnets: number; mixtures: number; dropout: number };
  vae: { hidden: number; latent: number; depth: number; blocks: number; klMin: number };
}

export type RefPhase = 'vae' | 'pixelcnn' | 'parallel' | 'joint';

export interface RefAgaveOptions {
  /** 'identity' | 'levels' | 'gray4' | 'RxR' (§1.1, §1.5 item 4). */
  variant: string;
  levels?: number;
  phase: RefPhase;
  lambda: number;
  /** Dropout in the gated resnets (training pass) with p = cfg.pixelcnn.dropout; false: none. */
  dropout: boolean;
  /** Philox seed and first stream of the pass's noise. */
  seed: number;
  streamBase: number;
  /** Test of the test only: the aux loss sends no gradient into f(z) (a broken model the comparison must catch). */
  detachAuxInput?: boolean;
}

export interface RefAgaveResult {
  loss: Var;
  /** Per image [B], nats. null where the phase has no PixelCNN. */
  pixelcnnNll: RefTensor | null;
  auxNll: RefTensor;
  kl: RefTensor;
  /** Free-bits KL objective summed over layers (scalar). */
  klObjective: number;
  /** f(z) at the auxiliary resolution (IAF units). */
  auxMean: RefTensor;
}

/** Parameters by name as Vars (leaves that need gradients); records which names were used. */
export class RefParams {
  readonly vars = new Map<string, Var>();
  readonly used = new Set<string>();
  /** grad false: a forward-only pass (nothing is recorded on the tape). */
  constructor(readonly tape: Tape, values: Map<string, RefTensor>, grad = true) {
    for (const [k, v] of values) this.vars.set(k, tape.leaf(v, grad));
  }

  get(name: string): Var {
    const v = this.vars.get(name);
    if (!v) throw new Error(`AGAVE reference: no parameter '${name}'`);
    this.used.add(name);
    return v;
  }
}

const fullTaps = (kh: number, kw: number): [number, number][] => {
  const taps: [number, number][] = [];
  for (let r = 0; r < kh; r++) for (let c = 0; c < kw; c++) taps.push([r, c]);
  return taps;
};

/** TF SAME padding [top, bottom, left, right] for a k x k conv with stride s on size n (§3.2). */
function samePad(n: number, k: number, s: number): [number, number, number, number] {
  const out = Math.ceil(n / s);
  const total = Math.max((out - 1) * s + k - n, 0);
  const top = Math.floor(total / 2);
  return [top, total - top, top, total - top];
}

/** IAF's autoregressive 3x3 taps (§3.5): row 1 from the centre rightwards, all of row 2; the centre first. */
const AR_TAPS: [number, number][] = [[1, 1], [1, 2], [2, 0], [2, 1], [2, 2]];

class Builder {
  private stream = 0;
  constructor(readonly t: Tape, readonly P: RefParams, readonly seed: number, readonly streamBase: number) {}

  nextStream(): number {
    return (this.streamBase + this.stream++) >>> 0;
  }

  /** Weight-normed conv; V [kh, kw, Cin, Cout] (or [taps, Cin, Cout]), optional centre-tap channel mask. */
  conv(name: string, x: Var, taps: [number, number][], stride: number, pad: [number, number, number, number], centreMask?: Float64Array): Var {
    const t = this.t;
    let V = this.P.get(`${name}.V`);
    const cin = V.v.shape[V.v.shape.length - 2]!;
    const cout = V.v.shape[V.v.shape.length - 1]!;
    V = reshape(t, V, [taps.length, cin, cout]);
    if (centreMask) {
      const m = ref(V.v.shape, (i) => (i < cin * cout ? centreMask[i]! : 1));
      V = mul(t, V, t.leaf(m));
    }
    const w = weightNorm(t, V, this.P.get(`${name}.g`), 2);
    return conv(t, x, w, this.P.get(`${name}.b`), { taps, stride, pad });
  }

  /** Weight-normed transposed conv; V [kh, kw, Cout, Cin], norm per output channel. */
  deconv(name: string, x: Var, stride: number, crop: [number, number]): Var {
    const V = this.P.get(`${name}.V`);
    const w = weightNorm(this.t, V, this.P.get(`${name}.g`), 2);
    const [, H, W] = x.v.shape as [number, number, number, number];
    return deconv(this.t, x, w, this.P.get(`${name}.b`), { stride, outSize: [stride * H, stride * W], crop });
  }

  /** Weight-normed nin (1x1 conv); V [Cin, Cout]. */
  nin(name: string, x: Var): Var {
    return this.conv(name, x, [[0, 0]], 1, [0, 0, 0, 0]);
  }
}

type Shifted = 'down' | 'downRight';

/** down_shifted_conv2d / down_right_shifted_conv2d (§2.2). */
function shiftedConv(m: Builder, name: string, x: Var, kind: Shifted, kh: number, kw: number, stride = 1): Var {
  const pad: [number, number, number, number] = kind === 'down' ? [kh - 1, 0, (kw - 1) / 2, (kw - 1) / 2] : [kh - 1, 0, kw - 1, 0];
  return m.conv(name, x, fullTaps(kh, kw), stride, pad);
}

/** gated_resnet (§2.4) plus the conditioning injection c1 += nin(concat_elu(c)) (§1.4 step 4). */
function gatedResnet(m: Builder, name: string, kind: Shifted, x: Var, a: Var | null, c: Var | null, dropout: number): Var {
  const t = m.t;
  const [kh, kw] = kind === 'down' ? [2, 3] : [2, 2];
  let h = shiftedConv(m, `${name}.conv1`, concatElu(t, x), kind, kh, kw);
  if (a) h = add(t, h, m.nin(`${name}.nin_a`, concatElu(t, a)));
  if (c) h = add(t, h, m.nin(`${name}.nin_c`, concatElu(t, c)));
  const noise = dropout > 0 ? { p: dropout, seed: m.seed, stream: m.nextStream() } : undefined;
  h = concatElu(t, h, noise);
  return gate(t, shiftedConv(m, `${name}.conv2`, h, kind, kh, kw), x);
}

/**
 * PixelCNN++ (§2.5) with the light conditioning stream (§1.4): x [B,S,S,3] in [-1,1], cond [B,S,S,Cc] in [-1,1],
 * or cond null: PixelCNN++ alone as in its paper (no stream, no conditioning shortcuts). Returns the DMOL
 * parameters [B,S,S,10M].
 */
function pixelcnn(m: Builder, cfg: RefAgaveConfig, x: RefTensor, cond: Var | null, dropout: number): Var {
  const t = m.t;
  const R = cfg.pixelcnn.resnets;
  const [B, S] = x.shape as [number, number, number, number];
  const xPad = t.leaf(refForward('concat', [x, ref([B, S, S, 1], () => 1)], { axis: 3 }));
  const U: Var[] = [downShift(t, shiftedConv(m, 'pcnn.stem_u', xPad, 'down', 2, 3))];
  const ulDown = downShift(t, shiftedConv(m, 'pcnn.stem_ul_down', xPad, 'down', 1, 3));
  const ulRight = rightShift(t, shiftedConv(m, 'pcnn.stem_ul_right', xPad, 'downRight', 2, 1));
  const UL: Var[] = [add(t, ulDown, ulRight)];
  // The stream: c_0 = conv3x3(cond); c_l = c_{l-1} + conv3x3(elu(c_{l-1})) before each gated-resnet pair; stride-2
  // conv / transposed conv with the PixelCNN's resolution changes (wiring: TF SAME geometry for both).
  let c: Var | null = cond ? m.conv('cond.stem', cond, fullTaps(3, 3), 1, [1, 1, 1, 1]) : null;
  let layer = 0;
  const step = (): void => {
    if (!c) return;
    const i = layer++;
    c = add(t, c, m.conv(`cond.layer${i}`, elu(t, c), fullTaps(3, 3), 1, [1, 1, 1, 1]));
  };
  for (let s = 0; s < 3; s++) {
    for (let r = 0; r < R; r++) {
      step();
      const u = gatedResnet(m, `pcnn.up${s}.${r}.u`, 'down', U[U.length - 1]!, null, c, dropout);
      U.push(u);
      UL.push(gatedResnet(m, `pcnn.up${s}.${r}.ul`, 'downRight', UL[UL.length - 1]!, u, c, dropout));
    }
    if (s < 2) {
      U.push(shiftedConv(m, `pcnn.downsample${s}.u`, U[U.length - 1]!, 'down', 2, 3, 2));
      UL.push(shiftedConv(m, `pcnn.downsample${s}.ul`, UL[UL.length - 1]!, 'downRight', 2, 2, 2));
      if (c) c = m.conv(`cond.down${s}`, c, fullTaps(3, 3), 2, samePad(c.v.shape[1]!, 3, 2));
    }
  }
  let u = U.pop()!;
  let ul = UL.pop()!;
  for (let s = 0; s < 3; s++) {
    const n = s === 0 ? R : R + 1;
    for (let i = 0; i < n; i++) {
      step();
      u = gatedResnet(m, `pcnn.down${s}.${i}.u`, 'down', u, U.pop()!, c, dropout);
      ul = gatedResnet(m, `pcnn.down${s}.${i}.ul`, 'downRight', ul, concat(t, [u, UL.pop()!], 3), c, dropout);
    }
    if (s < 2) {
      // §2.2: down_shifted_deconv2d crops the first column; down_right_shifted_deconv2d crops nothing at the top left.
      u = m.deconv(`pcnn.upsample${s}.u`, u, 2, [0, 1]);
      ul = m.deconv(`pcnn.upsample${s}.ul`, ul, 2, [0, 0]);
      // TF SAME transposed conv, 3x3 stride 2 to twice the size: total padding 1, top 0.
      if (c) c = m.deconv(`cond.up${s}`, c, 2, [0, 0]);
    }
  }
  if (U.length !== 0 || UL.length !== 0) throw new Error('AGAVE reference: PixelCNN skip lists not consumed');
  return m.nin('pcnn.head', elu(t, ul));
}

interface VaeOut {
  mean: Var;
  kl: Var[];
}

/** IAF ResNet-VAE (§3): x [B,S,S,C] in (-0.5, 0.5); decoder mean [B,S,S,Cout] and per-layer elementwise KL. */
function iafVae(m: Builder, cfg: RefAgaveConfig, x: Var): VaeOut {
  const t = m.t;
  const { hidden: H, latent: Z, depth, blocks } = cfg.vae;
  const S = cfg.imageSize;
  let h = m.conv('vae.stem', x, fullTaps(5, 5), 2, samePad(S, 5, 2));
  interface Layer {
    name: string;
    down: boolean;
    size: number;
    qMean?: Var;
    qLogSd?: Var;
    upCtx?: Var;
  }
  const layers: Layer[] = [];
  let size = S / 2;
  for (let i = 0; i < depth; i++) {
    for (let j = 0; j < blocks; j++) {
      const down = i > 0 && j === 0;
      layers.push({ name: `vae.layer${i}.${j}`, down, size });
      if (down) size /= 2;
    }
  }
  // Bottom-up (§3.3).
  for (const L of layers) {
    const s = L.down ? 2 : 1;
    const tt = m.conv(`${L.name}.up_a`, elu(t, h), fullTaps(3, 3), s, samePad(L.size, 3, s));
    L.qMean = channels(t, tt, 0, Z);
    L.qLogSd = channels(t, tt, Z, 2 * Z);
    L.upCtx = channels(t, tt, 2 * Z, 2 * Z + H);
    const inner = L.size / s;
    const r = m.conv(`${L.name}.up_b`, elu(t, channels(t, tt, 2 * Z + H, 2 * Z + 2 * H)), fullTaps(3, 3), 1, samePad(inner, 3, 1));
    h = add(t, L.down ? subsample(t, h) : h, mulScalar(t, r, 0.1));
  }
  // Top-down (§3.4): h = tile(h_top).
  const B = x.v.shape[0]!;
  h = add(t, t.leaf(ref([B, size, size, H])), reshape(t, m.P.get('vae.h_top'), [1, 1, 1, H]));
  const kl: Var[] = [];
  for (let li = layers.length - 1; li >= 0; li--) {
    const L = layers[li]!;
    const inner = L.size / (L.down ? 2 : 1);
    const tt = m.conv(`${L.name}.down_a`, elu(t, h), fullTaps(3, 3), 1, samePad(inner, 3, 1));
    const pMean = channels(t, tt, 0, Z);
    const pLogSd = channels(t, tt, Z, 2 * Z);
    const qMean = add(t, L.qMean!, channels(t, tt, 2 * Z, 3 * Z));
    const qLogSd = add(t, L.qLogSd!, channels(t, tt, 3 * Z, 4 * Z));
    const context = add(t, L.upCtx!, channels(t, tt, 4 * Z, 4 * Z + H));
    const hDet = channels(t, tt, 4 * Z + H, 4 * Z + 2 * H);
    const n = qMean.v.data.length;
    const eps = ref(qMean.v.shape, refNormal(n, m.seed, m.nextStream()));
    const z0 = t.op(refGaussianSample(qMean.v, qLogSd.v, eps), [qMean, qLogSd], (g) => {
      const [dm, dls] = refGaussianSampleVjp(qMean.v, qLogSd.v, eps, g);
      return [dm!, dls!];
    });
    const logDensity = (z: Var, mu: Var, ls: Var): Var =>
      t.op(refGaussianLogDensity(z.v, mu.v, ls.v), [z, mu, ls], (g) => refGaussianLogDensityVjp(z.v, mu.v, ls.v, g));
    let logq = logDensity(z0, qMean, qLogSd);
    // AR-NN (§3.5): masked 3x3 convs, the centre tap channel-masked (diagonal zeroed on the outputs m, s).
    const arConv = (name: string, inp: Var, cin: number, cout: number, zeroDiag: boolean): Var =>
      m.conv(name, inp, AR_TAPS, 1, [1, 1, 1, 1], refArMask(cin, cout, zeroDiag));
    const a1 = elu(t, add(t, arConv(`${L.name}.ar1`, z0, Z, H, false), context));
    const a2 = elu(t, arConv(`${L.name}.ar2`, a1, H, H, false));
    const mm = arConv(`${L.name}.ar_m`, a2, H, Z, true);
    const ss = arConv(`${L.name}.ar_s`, a2, H, Z, true);
    // IAF step, code form (§3.4 step 7): z = (z0 - 0.1 m) / exp(0.1 s), log q += 0.1 s.
    const z = mul(t, sub(t, z0, mulScalar(t, mm, 0.1)), exp(t, mulScalar(t, ss, -0.1)));
    logq = add(t, logq, mulScalar(t, ss, 0.1));
    kl.push(sub(t, logq, logDensity(z, pMean, pLogSd)));
    const r = elu(t, concat(t, [z, hDet], 3));
    if (L.down) h = add(t, upsampleNearest(t, h, 2), mulScalar(t, m.deconv(`${L.name}.down_b`, r, 2, [0, 0]), 0.1));
    else h = add(t, h, mulScalar(t, m.conv(`${L.name}.down_b`, r, fullTaps(3, 3), 1, [1, 1, 1, 1]), 0.1));
  }
  // Head: 5x5 stride-2 transposed conv (TF SAME: crop = the conv's top padding), clipped mean.
  const crop = samePad(S, 5, 2)[0];
  const mean = clamp(t, m.deconv('vae.head', elu(t, h), 2, [crop, crop]), -0.5 + 1 / 512, 0.5 - 1 / 512);
  return { mean, kl: kl.reverse() };
}

/**
 * PixelCNN++ alone (the paper's baseline, model kind 'pixelcnn'): the DMOL NLL of x, unconditional, per-image mean
 * minimised. Its dropout streams start at streamBase (there is no VAE drawing noise before it).
 */
export function refPixelcnnLoss(t: Tape, P: RefParams, cfg: RefAgaveConfig, x255: RefTensor, o: Pick<RefAgaveOptions, 'dropout' | 'seed' | 'streamBase'>): { loss: Var; pixelcnnNll: RefTensor } {
  const m = new Builder(t, P, o.seed, o.streamBase);
  const B = x255.shape[0]!;
  const x = ref(x255.shape, (i) => (x255.data[i]! - 127.5) / 127.5);
  const ll = dmolLogLikelihood(t, pixelcnn(m, cfg, x, null, o.dropout ? cfg.pixelcnn.dropout : 0), x, cfg.pixelcnn.mixtures);
  return { loss: neg(t, mean(t, ll)), pixelcnnNll: ref([B], (b) => -ll.v.data[b]!) };
}

/** The auxiliary image y (0..255) and its likelihood's K (§1.1, §1.3; the 4-bit grayscale: aux_image.ts). */
export function refAuxTarget(x255: RefTensor, variant: string, levels?: number): { y: RefTensor; K: number; factor: number } {
  const S = x255.shape[1]!;
  if (variant === 'gray4') return { y: refGray4(x255), K: 16, factor: 1 };
  const K = levels ?? 256;
  const quant = (y: RefTensor): RefTensor => (K === 256 ? y : refQuantizeLevels(y, K));
  if (variant === 'identity' || variant === 'levels') return { y: quant(x255), K, factor: 1 };
  const r = /^(\d+)x\1$/.exec(variant);
  if (!r) throw new Error(`AGAVE reference: unknown aux variant ${variant}`);
  const f = S / Number(r[1]);
  return { y: quant(refRoundPixels(refAvgPool(x255, f))), K, factor: f };
}

/**
 * The AGAVE loss (Eq. 7, minimised, per-image means): PixelCNN NLL + aux NLL + lambda * free-bits KL, per phase:
 * 'joint' all terms, full gradient flow; 'parallel' the same but the PixelCNN sees a detached f(z); 'vae' aux NLL
 * + lambda KL only; 'pixelcnn' the PixelCNN NLL only, on a detached f(z). x255: [B,S,S,3] pixel values 0..255.
 */
export function refAgaveLoss(t: Tape, P: RefParams, cfg: RefAgaveConfig, x255: RefTensor, o: RefAgaveOptions): RefAgaveResult {
  const m = new Builder(t, P, o.seed, o.streamBase);
  const { y, K, factor } = refAuxTarget(x255, o.variant, o.levels);
  const B = x255.shape[0]!;
  // IAF units (§3.2): (v + 0.5) / 256 - 0.5.
  const xVae = t.leaf(ref(x255.shape, (i) => (x255.data[i]! + 0.5) / 256 - 0.5));
  const vae = iafVae(m, cfg, xVae);
  // Lower resolution (wiring): f(z) is the decoder mean average-pooled to the aux size.
  const fz = factor === 1 ? vae.mean : avgPool(t, vae.mean, factor);
  const logScale = P.get('aux.log_scale');
  const fzAux = o.detachAuxInput ? t.detach(fz) : fz;
  const auxLl = t.op(refLogisticLL(fzAux.v, logScale.v, y, K), [fzAux, logScale], (g) => refLogisticVjp(fzAux.v, logScale.v, y, K, false, g));
  const auxNll = neg(t, mean(t, auxLl));
  let klObj: Var | null = null;
  const klPerImage = ref([B]);
  for (const kl of vae.kl) {
    const obj = t.op(refFreeBitsObjective(kl.v, cfg.vae.klMin), [kl], (g) => [refFreeBitsObjectiveVjp(kl.v, cfg.vae.klMin, g.data[0]!)]);
    klObj = klObj ? add(t, klObj, obj) : obj;
    refTrueKL(kl.v).data.forEach((v, b) => (klPerImage.data[b] += v));
  }
  const parts: Var[] = [];
  let pixelcnnNll: RefTensor | null = null;
  if (o.phase !== 'vae') {
    const x = ref(x255.shape, (i) => (x255.data[i]! - 127.5) / 127.5);
    const fzP = o.phase === 'joint' ? fz : t.detach(fz);
    // The conditioning image: f(z) upsampled (nearest) to the image size, IAF units -> [-1, 1] (x2), §1.4 step 1.
    const cond = mulScalar(t, factor === 1 ? fzP : upsampleNearest(t, fzP, factor), 2);
    const params = pixelcnn(m, cfg, x, cond, o.dropout ? cfg.pixelcnn.dropout : 0);
    const ll = dmolLogLikelihood(t, params, x, cfg.pixelcnn.mixtures);
    pixelcnnNll = ref([B], (b) => -ll.v.data[b]!);
    parts.push(neg(t, mean(t, ll)));
  }
  if (o.phase !== 'pixelcnn') {
    parts.push(auxNll);
    parts.push(mulScalar(t, klObj!, o.lambda));
  }
  let loss = parts[0]!;
  for (const p of parts.slice(1)) loss = add(t, loss, p);
  return {
    loss,
    pixelcnnNll,
    auxNll: ref([B], (b) => -auxLl.v.data[b]!),
    kl: klPerImage,
    klObjective: klObj!.v.data[0]!,
    auxMean: fz.v,
  };
}
