// The AGAVE auxiliary image y = f_aux(x) and the resampling ops around it (docs/MODEL.md §1.1, §1.3, §1.4, §1.5),
// NHWC throughout, pixel data in 0..255 units (floats).
//
//   quantizeLevels(y, K)   c * floor(y / c), c = 256 / K: the lower edge of each of the K bins (data only)
//   avgPool(x, f)          f x f average pooling (differentiable): reshape [B,H/f,f,W/f,f,C] + mean over (2, 4)
//   upsampleNearest(x, f)  nearest-neighbour upsampling (differentiable; gradient = sum over each f x f block):
//                          reshape [B,H,1,W,1,C] + broadcastTo [B,H,f,W,f,C] + reshape
//   grayscale4bit(rgb)     [B,H,W,3] -> [B,H,W,1]: ITU-R BT.601 luma 0.299 R + 0.587 G + 0.114 B, floored to 16
//                          levels, value = 16 * level (0, 16, ..., 240). The paper's exact definition of its
//                          4-bit grayscale auxiliary image was NOT RECOVERED (docs/MODEL.md §1.5 item 4); this is
//                          our choice. Luma is formed exactly in integers (see shaders/aux_pixels.wgsl).
//   auxTarget(x, variant, K)   the auxiliary image for each variant, and auxLevels(variant, K) its likelihood K.
//
// avgPool/upsampleNearest are compositions of engine ops (reshape views, one reduce / one strided copy each
// way), so their gradients come from the tested core ops. The pointwise data maps are one small kernel.
import { KERNELS } from '../kernels.js';
import { type Tensor, fmtShape } from '../tensor.js';
import { copy, mean, broadcastTo, reshape } from '../ops/index.js';
import { checkLevels } from './logistic.js';

const MODE = { quantize: 0, round: 1, gray4: 2 } as const;

function nhwc(x: Tensor, op: string): [number, number, number, number] {
  if (x.rank !== 4) throw new Error(`${op}: expected an NHWC image [B,H,W,C], got ${fmtShape(x.shape)}`);
  return x.shape as [number, number, number, number];
}

function pixelMap(mode: number, x: Tensor, outShape: readonly number[], c: number, op: string): Tensor {
  const e = x.engine;
  const y = e.empty(outShape, op);
  if (y.size > 0) {
    e.dispatch({ kernel: KERNELS.aux_pixels, overrides: { MODE: mode }, params: { n: y.size, c }, inputs: { x }, outputs: { y }, workgroups: Math.ceil(y.size / 256), label: op });
  }
  return y;
}

/** c * floor(y / c) with c = 256 / K: each value mapped to the lower edge of its bin (0..255 units). Not differentiable. */
export function quantizeLevels(y: Tensor, K: number): Tensor {
  checkLevels(K, 'quantizeLevels');
  return pixelMap(MODE.quantize, y, y.shape, 256 / K, 'quantizeLevels');
}

/** floor(x + 0.5) clamped to 0..255: a resampled image back on integer pixel values. Not differentiable. */
export function roundPixels(x: Tensor): Tensor {
  return pixelMap(MODE.round, x, x.shape, 0, 'roundPixels');
}

/** [B,H,W,3] RGB (0..255) -> [B,H,W,1], 16 gray levels valued 16 * level (BT.601 luma; see the file header). */
export function grayscale4bit(rgb: Tensor): Tensor {
  const [B, H, W, C] = nhwc(rgb, 'grayscale4bit');
  if (C !== 3) throw new Error(`grayscale4bit: needs 3 channels (RGB), got ${fmtShape(rgb.shape)}`);
  return pixelMap(MODE.gray4, rgb, [B, H, W, 1], 0, 'grayscale4bit');
}

/** factor x factor average pooling of an NHWC tensor (H and W divisible by factor). Differentiable. */
export function avgPool(x: Tensor, factor: number): Tensor {
  const [B, H, W, C] = nhwc(x, 'avgPool');
  if (!Number.isInteger(factor) || factor < 1 || H % factor !== 0 || W % factor !== 0) {
    throw new Error(`avgPool: factor ${factor} must be a positive integer dividing H and W of ${fmtShape(x.shape)}`);
  }
  const v = reshape(x, [B, H / factor, factor, W / factor, factor, C]);
  const y = mean(v, [2, 4]);
  if (!v.requiresGrad) v.dispose('avgPool intermediate');
  return y;
}

/** Nearest-neighbour upsampling by an integer factor (each pixel repeated factor x factor). Differentiable. */
export function upsampleNearest(x: Tensor, factor: number): Tensor {
  const [B, H, W, C] = nhwc(x, 'upsampleNearest');
  if (!Number.isInteger(factor) || factor < 1) throw new Error(`upsampleNearest: factor must be a positive integer, got ${factor}`);
  const v = reshape(x, [B, H, 1, W, 1, C]);
  const b = broadcastTo(v, [B, H, factor, W, factor, C]);
  if (!v.requiresGrad) v.dispose('upsampleNearest intermediate');
  const y = reshape(b, [B, H * factor, W * factor, C]);
  if (!b.requiresGrad) b.dispose('upsampleNearest intermediate');
  return y;
}

/**
 * Auxiliary-image variants (AGAVE §3.2/§4.2):
 * - 'identity': y = x (3 channels, full resolution); likelihood K = 256 (or the K given).
 * - 'levels':   y = quantizeLevels(x, K), K required (e.g. 128, 64, 32, 16); likelihood K = the same K. The
 *               likelihood floors y / c itself, so this y and x give the same likelihood; y is the image one
 *               would display.
 * - 'RxR' (e.g. '16x16', '8x8', '4x4' for the tiny configs): y = roundPixels(avgPool(x, H / R)): average
 *               pooling to R x R, rounded to integer pixel values; then quantizeLevels(., K) if K < 256 is given.
 *               Likelihood K = 256 (or the K given). The PixelCNN is conditioned on upsampleNearest(f(z), H / R).
 * - 'gray4':    y = grayscale4bit(x), [B,H,W,1]: one channel, values 16 * level; likelihood K = 16 (the VAE
 *               head then has 1 mean channel and 1 log-scale).
 * Data only: computed without recording gradients.
 */
export type AuxVariant = 'identity' | 'levels' | 'gray4' | `${number}x${number}`;

/** The number of levels K the auxiliary likelihood uses for `variant` (see AuxVariant). */
export function auxLevels(variant: AuxVariant, K?: number): number {
  if (variant === 'gray4') {
    if (K !== undefined && K !== 16) throw new Error(`auxLevels: the 'gray4' variant has 16 levels, got K = ${K}`);
    return 16;
  }
  if (variant === 'levels' && K === undefined) throw new Error(`auxLevels: the 'levels' variant needs K`);
  const k = K ?? 256;
  checkLevels(k, 'auxLevels');
  return k;
}

/** The auxiliary image y (0..255 units) of x (0..255, [B,H,W,3]) for `variant`; see AuxVariant. */
export function auxTarget(x0to255: Tensor, variant: AuxVariant, K?: number): Tensor {
  const e = x0to255.engine;
  const [, H, W] = nhwc(x0to255, 'auxTarget');
  const levels = auxLevels(variant, K);
  return e.noGrad(() => {
    if (variant === 'identity') return levels === 256 ? copy(x0to255) : quantizeLevels(x0to255, levels);
    if (variant === 'levels') return quantizeLevels(x0to255, levels);
    if (variant === 'gray4') return grayscale4bit(x0to255);
    const m = /^(\d+)x(\d+)$/.exec(variant);
    if (!m || m[1] !== m[2]) throw new Error(`auxTarget: unknown variant '${variant}' (identity, levels, gray4, or RxR like 16x16)`);
    const r = Number(m[1]);
    if (r < 1 || H % r !== 0 || W % r !== 0 || H / r !== W / r) throw new Error(`auxTarget: '${variant}' needs H and W divisible by ${r} with equal factors, got ${fmtShape(x0to255.shape)}`);
    const pooled = avgPool(x0to255, H / r);
    const rounded = roundPixels(pooled);
    pooled.dispose();
    if (levels === 256) return rounded;
    const q = quantizeLevels(rounded, levels);
    rounded.dispose();
    return q;
  });
}
