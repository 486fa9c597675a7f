// Float64 CPU reference for convolutions (NHWC), written as direct loops independent of the GPU kernels:
// conv2d as a gather over taps; the transposed conv as a scatter into the full (uncropped) output followed by
// the crop. Both are linear, so their vector-Jacobian products are the loops' exact adjoints.
import { type RefTensor, ref } from './tensor.js';

export interface RefConvGeom {
  taps: [number, number][];
  stride: number;
  pad: [number, number, number, number]; // top, bottom, left, right
}

export function convOutSize(H: number, W: number, g: RefConvGeom): [number, number] {
  const KH = 1 + Math.max(...g.taps.map((t) => t[0]));
  const KW = 1 + Math.max(...g.taps.map((t) => t[1]));
  return [Math.floor((H + g.pad[0] + g.pad[1] - KH) / g.stride) + 1, Math.floor((W + g.pad[2] + g.pad[3] - KW) / g.stride) + 1];
}

/**
 * A run of n terms y[yi + k*ys] += x[xi + k*xs] * w[wi + k*ws], k = 0..n-1 (runs instead of single terms keep the
 * callback out of the innermost loop: the whole-model reference visits millions of terms).
 */
type TermRun = (yi: number, xi: number, wi: number, n: number, ys: number, xs: number, ws: number) => void;

/** Visit every (output element, input element, weight element) triple of conv2d, in runs over Cout. w is [T, Cin, Cout]. */
function forEachConvTerm(x: RefTensor, w: RefTensor, g: RefConvGeom, fn: TermRun): number[] {
  const [B, H, W, Cin] = x.shape as [number, number, number, number];
  const Cout = w.shape[2]!;
  const [Ho, Wo] = convOutSize(H, W, g);
  for (let b = 0; b < B; b++)
    for (let oh = 0; oh < Ho; oh++)
      for (let ow = 0; ow < Wo; ow++)
        g.taps.forEach(([kh, kw], t) => {
          const ih = oh * g.stride + kh - g.pad[0];
          const iw = ow * g.stride + kw - g.pad[2];
          if (ih < 0 || iw < 0 || ih >= H || iw >= W) return;
          for (let ci = 0; ci < Cin; ci++) fn(((b * Ho + oh) * Wo + ow) * Cout, ((b * H + ih) * W + iw) * Cin + ci, (t * Cin + ci) * Cout, Cout, 1, 0, 1);
        });
  return [B, Ho, Wo, Cout];
}

export function refConv2d(x: RefTensor, w: RefTensor, bias: RefTensor | null, g: RefConvGeom): RefTensor {
  const [B, H, W] = x.shape as [number, number, number, number];
  const Cout = w.shape[2]!;
  const [Ho, Wo] = convOutSize(H, W, g);
  const y = ref([B, Ho, Wo, Cout]);
  if (bias) for (let i = 0; i < y.data.length; i++) y.data[i] = bias.data[i % Cout]!;
  forEachConvTerm(x, w, g, accumulate(x, w, y));
  return y;
}

export function refConv2dVjp(x: RefTensor, w: RefTensor, bias: RefTensor | null, g: RefConvGeom, gy: RefTensor): RefTensor[] {
  return bilinearVjp((fn) => forEachConvTerm(x, w, g, fn), x, w, bias, gy);
}

type TermVisitor = (fn: TermRun) => void;

/** y += the terms (the forward of both convolutions). */
function accumulate(x: RefTensor, w: RefTensor, y: RefTensor): TermRun {
  return (yi, xi, wi, n, ys, xs, ws) => {
    for (let k = 0; k < n; k++) y.data[yi + k * ys] += x.data[xi + k * xs]! * w.data[wi + k * ws]!;
  };
}

/** The exact adjoint of y = sum of x * w terms (+ bias per channel): dx, dw, and db when there is a bias. */
function bilinearVjp(terms: TermVisitor, x: RefTensor, w: RefTensor, bias: RefTensor | null, gy: RefTensor): RefTensor[] {
  const dx = ref(x.shape);
  const dw = ref(w.shape);
  terms((yi, xi, wi, n, ys, xs, ws) => {
    for (let k = 0; k < n; k++) {
      dx.data[xi + k * xs] += gy.data[yi + k * ys]! * w.data[wi + k * ws]!;
      dw.data[wi + k * ws] += gy.data[yi + k * ys]! * x.data[xi + k * xs]!;
    }
  });
  const out = [dx, dw];
  if (bias) {
    const db = ref(bias.shape);
    const C = bias.shape[0]!;
    for (let i = 0; i < gy.data.length; i++) db.data[i % C] += gy.data[i]!;
    out.push(db);
  }
  return out;
}

export interface RefDeconvGeom {
  stride: number;
  outSize: [number, number];
  crop: [number, number];
}

/** Visit the terms of the transposed conv, in runs over Cin: w is [KH, KW, Cout, Cin]; full output then crop. */
function forEachDeconvTerm(x: RefTensor, w: RefTensor, g: RefDeconvGeom, fn: TermRun): void {
  const [B, H, W, Cin] = x.shape as [number, number, number, number];
  const [KH, KW, Cout] = w.shape as [number, number, number, number];
  const [Ho, Wo] = g.outSize;
  for (let b = 0; b < B; b++)
    for (let a = 0; a < H; a++)
      for (let c = 0; c < W; c++)
        for (let kh = 0; kh < KH; kh++)
          for (let kw = 0; kw < KW; kw++) {
            const p = g.stride * a + kh - g.crop[0];
            const q = g.stride * c + kw - g.crop[1];
            if (p < 0 || q < 0 || p >= Ho || q >= Wo) continue;
            for (let co = 0; co < Cout; co++) fn(((b * Ho + p) * Wo + q) * Cout + co, ((b * H + a) * W + c) * Cin, ((kh * KW + kw) * Cout + co) * Cin, Cin, 0, 1, 1);
          }
}

export function refConvTranspose2d(x: RefTensor, w: RefTensor, bias: RefTensor | null, g: RefDeconvGeom): RefTensor {
  const B = x.shape[0]!;
  const Cout = w.shape[2]!;
  const y = ref([B, g.outSize[0], g.outSize[1], Cout]);
  if (bias) for (let i = 0; i < y.data.length; i++) y.data[i] = bias.data[i % Cout]!;
  forEachDeconvTerm(x, w, g, accumulate(x, w, y));
  return y;
}

export function refConvTranspose2dVjp(x: RefTensor, w: RefTensor, bias: RefTensor | null, g: RefDeconvGeom, gy: RefTensor): RefTensor[] {
  return bilinearVjp((fn) => forEachDeconvTerm(x, w, g, fn), x, w, bias, gy);
}
