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

/** Visit every (output element, input element, weight element) triple of conv2d. w is [T, Cin, Cout]. */
function forEachConvTerm(x: RefTensor, w: RefTensor, g: RefConvGeom, fn: (yi: number, xi: number, wi: number) => void): number[] {
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
          for (let ci = 0; ci < Cin; ci++)
            for (let co = 0; co < Cout; co++) {
              fn(((b * Ho + oh) * Wo + ow) * Cout + co, ((b * H + ih) * W + iw) * Cin + ci, (t * Cin + ci) * Cout + co);
            }
        });
  return [B, Ho, Wo, Cout];
}

export function refConv2d(x: RefTensor, w: RefTensor, bias: RefTensor | null, g: RefConvGeom): RefTensor {
  const [B, H, W] = x.shape as [number, number, number, number];
  const Cout = w.shape[2]!;
  const [Ho, Wo] = convOutSize(H, W, g);
  const y = ref([B, Ho, Wo, Cout]);
  if (bias) for (let i = 0; i < y.data.length; i++) y.data[i] = bias.data[i % Cout]!;
  forEachConvTerm(x, w, g, (yi, xi, wi) => (y.data[yi] += x.data[xi]! * w.data[wi]!));
  return y;
}

export function refConv2dVjp(x: RefTensor, w: RefTensor, bias: RefTensor | null, g: RefConvGeom, gy: RefTensor): RefTensor[] {
  return bilinearVjp((fn) => forEachConvTerm(x, w, g, fn), x, w, bias, gy);
}

type TermVisitor = (fn: (yi: number, xi: number, wi: number) => void) => void;

/** The exact adjoint of y = sum of x * w terms (+ bias per channel): dx, dw, and db when there is a bias. */
function bilinearVjp(terms: TermVisitor, x: RefTensor, w: RefTensor, bias: RefTensor | null, gy: RefTensor): RefTensor[] {
  const dx = ref(x.shape);
  const dw = ref(w.shape);
  terms((yi, xi, wi) => {
    dx.data[xi] += gy.data[yi]! * w.data[wi]!;
    dw.data[wi] += gy.data[yi]! * x.data[xi]!;
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

/** Visit the terms of the transposed conv: w is [KH, KW, Cout, Cin]; full output then crop. */
function forEachDeconvTerm(x: RefTensor, w: RefTensor, g: RefDeconvGeom, fn: (yi: number, xi: number, wi: number) => void): void {
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
            for (let co = 0; co < Cout; co++)
              for (let ci = 0; ci < Cin; ci++) fn(((b * Ho + p) * Wo + q) * Cout + co, ((b * H + a) * W + c) * Cin + ci, ((kh * KW + kw) * Cout + co) * Cin + ci);
          }
}

export function refConvTranspose2d(x: RefTensor, w: RefTensor, bias: RefTensor | null, g: RefDeconvGeom): RefTensor {
  const B = x.shape[0]!;
  const Cout = w.shape[2]!;
  const y = ref([B, g.outSize[0], g.outSize[1], Cout]);
  if (bias) for (let i = 0; i < y.data.length; i++) y.data[i] = bias.data[i % Cout]!;
  forEachDeconvTerm(x, w, g, (yi, xi, wi) => (y.data[yi] += x.data[xi]! * w.data[wi]!));
  return y;
}

export function refConvTranspose2dVjp(x: RefTensor, w: RefTensor, bias: RefTensor | null, g: RefDeconvGeom, gy: RefTensor): RefTensor[] {
  return bilinearVjp((fn) => forEachDeconvTerm(x, w, g, fn), x, w, bias, gy);
}
