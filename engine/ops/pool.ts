// 2-D max pooling on NHWC images. The forward kernel also records where each window's maximum was (an int32
// tensor kept for the backward), so the backward routes each output's gradient to exactly that pixel (the first
// maximum in the window on ties, as PyTorch) without comparing values again.
import { KERNELS } from '../kernels.js';
import { type Tensor, fmtShape } from '../tensor.js';
import { needFloat } from './rows.js';

export interface MaxPoolOptions {
  /** Window [kh, kw] or k for k x k. */
  size: number | readonly [number, number];
  /** Step [sh, sw] or s (default: the window size, non-overlapping windows). */
  stride?: number | readonly [number, number];
  /** Padding [top, bottom, left, right] or p on every side (default 0); each below the window's extent. Padding never wins. */
  pad?: number | readonly [number, number, number, number];
}

function pair(v: number | readonly [number, number], what: string): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((d) => Number.isInteger(d) && d >= 1)) throw new Error(`maxPool2d: ${what} must be positive integers, got ${JSON.stringify(v)}`);
  return p;
}

/** Max over kh x kw windows of x [B, H, W, C] -> [B, floor((H + top + bottom - kh) / sh) + 1, ..., C]. Differentiable. */
export function maxPool2d(x: Tensor, options: MaxPoolOptions): Tensor {
  const op = 'maxPool2d';
  needFloat(x, op);
  if (x.rank !== 4) throw new Error(`${op}: x ${fmtShape(x.shape)} must be NHWC [B, H, W, C]`);
  const [kh, kw] = pair(options.size, 'size');
  const [sh, sw] = pair(options.stride ?? [kh, kw], 'stride');
  const padArg = options.pad ?? 0;
  const pad = typeof padArg === 'number' ? [padArg, padArg, padArg, padArg] : [...padArg];
  if (pad.length !== 4 || !pad.every((p) => Number.isInteger(p) && p >= 0)) throw new Error(`${op}: pad must be a non-negative integer or [top, bottom, left, right], got ${JSON.stringify(padArg)}`);
  const [pt, pb, pl, pr] = pad as [number, number, number, number];
  if (pt >= kh || pb >= kh || pl >= kw || pr >= kw) throw new Error(`${op}: padding [${pad.join(', ')}] must be below the window ${kh}x${kw} on each side (a window of padding only has no maximum)`);
  const [B, H, W, C] = x.shape as [number, number, number, number];
  if (H + pt + pb < kh || W + pl + pr < kw) throw new Error(`${op}: the ${kh}x${kw} window does not fit in ${fmtShape(x.shape)} padded by [${pad.join(', ')}]`);
  const OH = Math.floor((H + pt + pb - kh) / sh) + 1;
  const OW = Math.floor((W + pl + pr - kw) / sw) + 1;
  const e = x.engine;
  const y = e.empty([B, OH, OW, C], op);
  const argmax = e.empty([B, OH, OW, C], `${op}.argmax`, 'int32');
  const geometry = { h: H, w: W, c: C, oh: OH, ow: OW, kh, kw, sh, sw, pad_top: pt, pad_left: pl };
  // 4 channels per invocation where C allows (the index arithmetic is shared; ~4x faster on lavapipe).
  const GROUP = C % 4 === 0 ? 4 : 1;
  if (y.size > 0) e.dispatch({ kernel: KERNELS.max_pool, overrides: { GROUP }, params: { total: y.size, ...geometry }, inputs: { x }, outputs: { y, argmax }, workgroups: Math.ceil(y.size / GROUP / 256), label: op });
  // The windows tile the image exactly (the usual 2x2 at stride 2 on even sizes): one invocation per output writes its window.
  const tiles = sh === kh && sw === kw && pt + pb + pl + pr === 0 && H % kh === 0 && W % kw === 0;
  const out = e.tape.record(op, y, [x], (g) => {
    const dx = e.empty(x.shape, `${op}.backward`);
    const n = tiles ? y.size : dx.size;
    if (dx.size > 0) e.dispatch({ kernel: KERNELS.max_pool_backward, overrides: { GROUP, TILES: tiles }, params: { total: n, ...geometry }, inputs: { dy: g, argmax }, outputs: { dx }, workgroups: Math.ceil(n / GROUP / 256), label: `${op}.backward${tiles ? ':tiles' : ''}` });
    argmax.dispose('maxPool2d backward done');
    return [dx];
  });
  if (!out.requiresGrad) argmax.dispose('maxPool2d: no backward');
  return out;
}
