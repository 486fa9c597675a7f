// Convolutions on NHWC images (channels last: a pixel's channels are contiguous, so kernels load vec4 along
// channels and a 1x1 conv is a plain matmul on [B*H*W, C]).
//
// One geometry covers every conv the models use: a list of taps (kh, kw) inside the kernel window, a stride,
// and explicit top/left zero padding (bottom/right padding is implied by the output size). Full kernels use
// all KH*KW taps; masked kernels (IAF's autoregressive convs) list only the taps that exist, so masked taps
// are never loaded. Weights are [T, Cin, Cout] (for full kernels the same memory as TF's [KH, KW, Cin, Cout]).
//
// Three kernels implement everything: forward (y = x * w), data gradient (dx = dy *^T w) and weight gradient
// (dw = x (x) dy). A transposed convolution is the data gradient of the conv that maps its output back to its
// input, so its forward is the dgrad kernel, its input gradient the forward kernel, and its weight gradient
// the wgrad kernel with the roles of x and dy swapped. Crops of PixelCNN++'s deconvs become top/left padding.
import { type Tensor, fmtShape } from '../tensor.js';
import { sum, sumInto } from './reduce.js';
import type { GradSink } from '../tape.js';
import { finishWeightGrad } from './weight_grad.js';
import { CONV_VARIANTS, type ConvKernelKind, type ConvProblem, type ConvVariant } from '../conv_variants.js';
import { CONV_ORDER, CONV_ORDER_MIXED, pow2AtLeast } from '../tuning/static.js';
import type { TunableOp, TuneCapabilities } from '../tuning/tuner.js';

export interface ConvOptions {
  stride?: number;
  /** Zero padding [top, bottom, left, right]. Default 0. */
  pad?: readonly [number, number, number, number];
  /** Taps (kh, kw) for a weight of shape [T, Cin, Cout]; default: all taps of a [KH, KW, Cin, Cout] weight. */
  taps?: readonly (readonly [number, number])[];
  /** Force a kernel variant by name for the forward and both gradients where the family has that kernel (benchmarks, tests). */
  variant?: string;
}

export interface ConvTransposeOptions {
  stride?: number;
  /** Output size [H, W] after cropping. */
  outSize: readonly [number, number];
  /** Rows/cols cropped at the top/left of the full transposed output. Default [0, 0]. */
  crop?: readonly [number, number];
  variant?: string;
}

/** The conv in kernel terms: x [B,H,W,Cin] -> y [B,Ho,Wo,Cout]. */
interface Geometry extends ConvProblem {
  taps: number[];
}

function packTaps(taps: readonly (readonly [number, number])[]): number[] {
  if (taps.length === 0 || taps.length > 28) throw new Error(`conv: ${taps.length} taps (1..28 supported)`);
  return taps.map(([h, w]) => {
    if (!(Number.isInteger(h) && Number.isInteger(w) && h >= 0 && w >= 0 && h < 0x10000 && w < 0x10000)) throw new Error(`conv: bad tap (${h}, ${w})`);
    return (h << 16) | w;
  });
}

export function fullTaps(kh: number, kw: number): [number, number][] {
  const taps: [number, number][] = [];
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) taps.push([i, j]);
  return taps;
}

function params(g: Geometry, kChunk = 0): Record<string, number | number[]> {
  return {
    B: g.B, H: g.H, W: g.W, Cin: g.Cin,
    Ho: g.Ho, Wo: g.Wo, Cout: g.Cout, T: g.T,
    stride: g.stride, pad_top: g.padTop, pad_left: g.padLeft, k_chunk: kChunk,
    taps: g.taps,
  };
}

/** Whether the adapter can run a variant (f16 ones only with mixed precision). */
function usable(v: ConvVariant, caps: TuneCapabilities): boolean {
  if (v.requires?.subgroups && !(caps.features.subgroups && caps.subgroupMinSize >= 8)) return false;
  if (v.requires?.shaderF16 && !caps.features.shaderF16) return false;
  return (v.precision ?? 'f32') === 'f32' || caps.mixedPrecision;
}

/**
 * The race of one conv kernel kind. Bucket: the taps, stride and channel counts exact (they decide the tile
 * shapes and whether kpar8 or a direct tile suits a weight gradient), the output pixels B*Ho*Wo rounded up to a
 * power of two (the GEMM's long axis: a variant's cost grows smoothly with it).
 */
function convTunable(kind: ConvKernelKind): TunableOp<Geometry> {
  const list = CONV_VARIANTS.filter((v) => v.kind === kind);
  const op: TunableOp<Geometry> = {
    name: `conv.${kind}`,
    bucket: (g) => `T${g.T} s${g.stride} ${g.Cin}->${g.Cout} px${pow2AtLeast(g.B * g.Ho * g.Wo)}`,
    staticChoice: (g, caps) => {
      const order = caps.mixedPrecision ? CONV_ORDER_MIXED[kind] : CONV_ORDER[kind];
      for (const n of order) {
        const v = list.find((x) => x.name === n);
        if (v && usable(v, caps) && v.supports(g) && (v.prefer?.(g) ?? true)) return n;
      }
      throw new Error(`conv ${kind}: no variant supports ${JSON.stringify({ ...g, taps: undefined })}`);
    },
    candidates: (g, caps) => list.filter((v) => usable(v, caps) && v.supports(g)).map((v) => v.name),
    harness: (g, e) => {
      const x = e.uniform([g.B, g.H, g.W, g.Cin], -1, 1, { seed: 23 });
      const w = e.uniform([g.T, g.Cin, g.Cout], -1, 1, { seed: 24 });
      const dy = e.uniform([g.B, g.Ho, g.Wo, g.Cout], -1, 1, { seed: 25 });
      return {
        run: (c) => (kind === 'fwd' ? runForward(x, w, null, g, c) : kind === 'dgrad' ? runDgrad(dy, w, null, g, c) : runWgrad(x, dy, g, [g.T, g.Cin, g.Cout], c).dw),
        dispose: () => {
          x.dispose();
          w.dispose();
          dy.dispose();
        },
      };
    },
    // f32 kernels differ only in summation order; an f16-operand kernel (the candidate or, with mixed precision,
    // the static choice it is compared with) rounds each operand to 11 bits.
    tolerance: (c, g, caps) => ([c, op.staticChoice(g, caps)].some((n) => list.find((v) => v.name === n)?.precision === 'f16') ? 1e-2 : 1e-4),
    describe: (g) => `${kind} [${g.B}x${g.H}x${g.W}x${g.Cin}] ${g.T} taps s${g.stride} -> [${g.Ho}x${g.Wo}x${g.Cout}]`,
  };
  return op;
}

/** The conv kernel kinds' races (the tuner's candidates for forward, data gradient and weight gradient). */
export const CONV_TUNABLES: Readonly<Record<ConvKernelKind, TunableOp<Geometry>>> = { fwd: convTunable('fwd'), dgrad: convTunable('dgrad'), wgrad: convTunable('wgrad') };

/** The variant for one kernel kind: the one named (where that family has this kind), else the tuner's choice (the static order without tuning). */
function pick(kind: ConvKernelKind, g: Geometry, requested: string | undefined, e: Tensor['engine']): ConvVariant {
  const list = CONV_VARIANTS.filter((v) => v.kind === kind);
  const name = requested && list.some((x) => x.name === requested) ? requested : e.tuner.choose(CONV_TUNABLES[kind], g);
  const v = list.find((x) => x.name === name);
  if (!v) throw new Error(`conv ${kind}: no variant named '${name}' supports ${JSON.stringify({ ...g, taps: undefined })}`);
  if (!v.supports(g)) throw new Error(`conv ${kind}: variant '${name}' does not support this geometry`);
  return v;
}

/** y = conv(x, w) (+ bias): the forward kernel. */
function runForward(x: Tensor, w: Tensor, bias: Tensor | null, g: Geometry, variant?: string): Tensor {
  return runData('fwd', x, w, bias, g, [g.B, g.Ho, g.Wo, g.Cout], 'conv2d', variant);
}

/** dx = conv^T(dy, w) (+ bias on dx's channels): the data-gradient kernel. */
function runDgrad(dy: Tensor, w: Tensor, bias: Tensor | null, g: Geometry, variant?: string): Tensor {
  return runData('dgrad', dy, w, bias, g, [g.B, g.H, g.W, g.Cin], 'conv2d.dgrad', variant);
}

/** The forward or data-gradient kernel (both map lhs through w to an image, plus an optional bias) into a new tensor. */
function runData(kind: 'fwd' | 'dgrad', lhs: Tensor, w: Tensor, bias: Tensor | null, g: Geometry, shape: number[], label: string, variant?: string): Tensor {
  const e = lhs.engine;
  const out = e.empty(shape, label);
  if (out.size === 0) return out;
  const kernel = pick(kind, g, variant, e);
  e.dispatch({ kernel: kernel.kernel, overrides: { ...kernel.overrides?.(g), HAS_BIAS: bias !== null }, params: params(g), inputs: { lhs, rhs: w, bias: bias ?? w }, outputs: { out }, workgroups: kernel.dispatch(g), label: `conv2d.${kind}:${kernel.name}` });
  return out;
}

/**
 * dw[t, ci, co] = sum over b, oh, ow of x[...] * dy[...]: the weight-gradient kernel; written into `into` when
 * given (a fresh leaf gradient, see engine/tape.ts), else into a new tensor. With `bias`, also the bias gradient
 * (the sum of `bias.source` [..., C] over its pixels) into a new tensor or the bias sink: when the weight
 * gradient is split into K chunks, their sum and the bias sum are one dispatch (engine/ops/weight_grad.ts).
 */
function runWgrad(x: Tensor, dy: Tensor, g: Geometry, wShape: readonly number[], variant?: string, into?: Tensor, bias?: { source: Tensor; sink: GradSink | null | undefined }): { dw: Tensor; db: Tensor | null } {
  const e = x.engine;
  const dw = into ?? e.empty(wShape, 'conv2d.wgrad');
  if (dw.size === 0) return { dw, db: bias ? biasGrad(bias.source, bias.sink) : null };
  const kernel = pick('wgrad', g, variant, e);
  const splits = kernel.splitK?.(g) ?? 1;
  const K = g.B * g.Ho * g.Wo;
  const target = splits > 1 ? e.empty([splits, g.T, g.Cin, g.Cout], 'conv2d.wgrad.partial') : dw;
  e.dispatch({ kernel: kernel.kernel, overrides: { ...kernel.overrides?.(g), HAS_BIAS: false }, params: params(g, Math.ceil(K / splits)), inputs: { lhs: x, rhs: dy, bias: dy }, outputs: { out: target }, workgroups: kernel.dispatch(g), label: `conv2d.wgrad:${kernel.name}:split${splits}` });
  if (splits === 1) return { dw, db: bias ? biasGrad(bias.source, bias.sink) : null };
  const db = finishWeightGrad(target, splits, dw, bias, 'conv2d.wgrad');
  target.dispose();
  return { dw, db };
}

/** The weight gradient's target when the kernel can write it straight into the leaf's fresh .grad. */
function writeSink(sink: GradSink | null | undefined): Tensor | undefined {
  return sink?.mode === 'write' ? sink.tensor : undefined;
}

/** dL/dbias = sum of dy over batch and pixels, straight into the leaf's .grad when it has one. */
function biasGrad(gy: Tensor, sink: GradSink | null | undefined): Tensor {
  if (!sink) return sum(gy, [0, 1, 2]);
  sumInto(sink.tensor, gy, [0, 1, 2], sink.mode === 'accumulate');
  return sink.tensor;
}

/**
 * [dL/dw, dL/dbias] of a conv (lhs x, rhs dy) or a transposed conv (lhs dy, rhs x, in the virtual conv's
 * terms), the bias gradient being the sum of `outGrad` over its pixels; into the leaves' sinks where offered.
 */
function weightAndBiasGrads(lhs: Tensor, rhs: Tensor, g: Geometry, w: Tensor, bias: Tensor | null, sinks: readonly (GradSink | null)[], outGrad: Tensor, variant?: string): (Tensor | null)[] {
  const wantBias = bias?.requiresGrad ?? false;
  if (!w.requiresGrad) return bias ? [null, wantBias ? biasGrad(outGrad, sinks[2]) : null] : [null];
  const r = runWgrad(lhs, rhs, g, w.shape, variant, writeSink(sinks[1]), wantBias ? { source: outGrad, sink: sinks[2] } : undefined);
  return bias ? [r.dw, r.db] : [r.dw];
}

function checkBias(bias: Tensor | null, channels: number, op: string): void {
  if (bias && (bias.rank !== 1 || bias.shape[0] !== channels)) throw new Error(`${op}: bias ${fmtShape(bias.shape)} must be [${channels}]`);
}

/** The kernel-level geometry of conv2d(x, w, opts) for shapes x [B,H,W,Cin], w [KH,KW,Cin,Cout] or [T,Cin,Cout]. */
export function convGeometry(xShape: readonly number[], wShape: readonly number[], opts: ConvOptions = {}): Geometry {
  const op = 'conv2d';
  if (xShape.length !== 4) throw new Error(`${op}: input must be NHWC [B, H, W, C], got ${fmtShape(xShape)}`);
  let taps: (readonly [number, number])[];
  let cin: number;
  let cout: number;
  if (opts.taps) {
    if (wShape.length !== 3 || wShape[0] !== opts.taps.length) throw new Error(`${op}: with ${opts.taps.length} taps the weight must be [${opts.taps.length}, Cin, Cout], got ${fmtShape(wShape)}`);
    [taps, cin, cout] = [[...opts.taps], wShape[1]!, wShape[2]!];
  } else {
    if (wShape.length !== 4) throw new Error(`${op}: weight must be [KH, KW, Cin, Cout], got ${fmtShape(wShape)}`);
    [taps, cin, cout] = [fullTaps(wShape[0]!, wShape[1]!), wShape[2]!, wShape[3]!];
  }
  const [B, H, W, C] = xShape as [number, number, number, number];
  if (cin !== C) throw new Error(`${op}: input has ${C} channels but the weight ${fmtShape(wShape)} expects ${cin}`);
  const stride = opts.stride ?? 1;
  const [pt, pb, pl, pr] = opts.pad ?? [0, 0, 0, 0];
  const KH = 1 + Math.max(...taps.map((t) => t[0]));
  const KW = 1 + Math.max(...taps.map((t) => t[1]));
  const Ho = Math.floor((H + pt + pb - KH) / stride) + 1;
  const Wo = Math.floor((W + pl + pr - KW) / stride) + 1;
  if (Ho <= 0 || Wo <= 0) throw new Error(`${op}: input ${fmtShape(xShape)} is too small for a ${KH}x${KW} kernel with padding [${pt}, ${pb}, ${pl}, ${pr}]`);
  return { B, H, W, Cin: C, Ho, Wo, Cout: cout, T: taps.length, stride, padTop: pt, padLeft: pl, taps: packTaps(taps) };
}

/** The raw kernels (not recorded on the tape), for benchmarks and custom fused layers. */
export const convKernels = {
  forward: runForward,
  dataGrad: runDgrad,
  weightGrad: (x: Tensor, dy: Tensor, g: Geometry, wShape: readonly number[], variant?: string): Tensor => runWgrad(x, dy, g, wShape, variant).dw,
};
export type ConvGeometry = Geometry;

/**
 * 2-D convolution (cross-correlation, as TF) of x [B, H, W, Cin] with w [KH, KW, Cin, Cout] (or [T, Cin, Cout]
 * with `taps`), stride s, zero padding [top, bottom, left, right]; bias [Cout] optional.
 * Output [B, floor((H + top + bottom - KH) / s) + 1, ..., Cout].
 */
export function conv2d(x: Tensor, w: Tensor, bias: Tensor | null, opts: ConvOptions = {}): Tensor {
  const e = x.engine;
  const op = 'conv2d';
  const g = convGeometry(x.shape, w.shape, opts);
  checkBias(bias, g.Cout, op);
  const y = runForward(x, w, bias, g, opts.variant);
  return e.tape.record(op, y, bias ? [x, w, bias] : [x, w], (gy, sinks) => [
    x.requiresGrad ? runDgrad(gy, w, null, g, opts.variant) : null,
    ...weightAndBiasGrads(x, gy, g, w, bias, sinks, gy, opts.variant),
  ]);
}

/**
 * Transposed convolution of x [B, H, W, Cin] with w [KH, KW, Cout, Cin] (TF conv2d_transpose layout), stride s:
 * the full output out_full[s*a + kh, s*b + kw] += w[kh, kw] . x[a, b], then cropped to rows
 * [crop[0], crop[0] + outSize[0]) and cols [crop[1], crop[1] + outSize[1]); bias [Cout] added everywhere.
 */
export function convTranspose2d(x: Tensor, w: Tensor, bias: Tensor | null, opts: ConvTransposeOptions): Tensor {
  const e = x.engine;
  const op = 'convTranspose2d';
  if (x.rank !== 4) throw new Error(`${op}: input must be NHWC [B, H, W, C], got ${fmtShape(x.shape)}`);
  if (w.rank !== 4) throw new Error(`${op}: weight must be [KH, KW, Cout, Cin], got ${fmtShape(w.shape)}`);
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const [KH, KW, cout, cin] = w.shape as [number, number, number, number];
  if (cin !== C) throw new Error(`${op}: input has ${C} channels but the weight ${fmtShape(w.shape)} expects ${cin}`);
  checkBias(bias, cout, op);
  const stride = opts.stride ?? 1;
  const [Hout, Wout] = opts.outSize;
  const [ct, cl] = opts.crop ?? [0, 0];
  // The virtual conv maps the (cropped) output [B, Hout, Wout, cout] to x [B, H, W, cin].
  const g: Geometry = { B, H: Hout, W: Wout, Cin: cout, Ho: H, Wo: W, Cout: cin, T: KH * KW, stride, padTop: ct, padLeft: cl, taps: packTaps(fullTaps(KH, KW)) };
  const y = runDgrad(x, w, bias, g, opts.variant);
  return e.tape.record(op, y, bias ? [x, w, bias] : [x, w], (gy, sinks) => [
    x.requiresGrad ? runForward(gy, w, null, g, opts.variant) : null,
    ...weightAndBiasGrads(gy, x, g, w, bias, sinks, gy, opts.variant),
  ]);
}

