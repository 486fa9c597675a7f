// In-place window write: dst[starts + i] = src[i] for every index i of src. Why: the cached autoregressive
// sampler (model/pixelcnn_cached.ts) recomputes a small window of each layer's activations after every pixel and
// writes it back into the layer's cached full-size tensor. The layout ops' strided copy (engine/ops/strided_copy.ts)
// with the destination's strides and a base offset; not differentiable (sampling only), so never recorded.
import { type Tensor, fmtShape, shapeSize, stridesOf } from '../tensor.js';
import { stridedCopy } from './strided_copy.js';

/** Copies src into dst at offset `starts` (one entry per dim), in place; returns dst. */
export function writeWindow(dst: Tensor, src: Tensor, starts: readonly number[]): Tensor {
  const op = 'writeWindow';
  if (dst.engine !== src.engine) throw new Error(`${op}: dst and src belong to different engines`);
  if (src.rank !== dst.rank || starts.length !== dst.rank) throw new Error(`${op}: src ${fmtShape(src.shape)}, dst ${fmtShape(dst.shape)} and starts [${starts.join(', ')}] need the same rank`);
  for (let i = 0; i < dst.rank; i++) {
    const s = starts[i]!;
    if (!(Number.isInteger(s) && s >= 0 && s + src.shape[i]! <= dst.shape[i]!)) {
      throw new Error(`${op}: window ${fmtShape(src.shape)} at [${starts.join(', ')}] does not fit in ${fmtShape(dst.shape)} (dim ${i})`);
    }
  }
  if (src.requiresGrad && dst.engine.tape.recording) throw new Error(`${op}: not differentiable; call it under noGrad`);
  if (shapeSize(src.shape) === 0) return dst;
  const dstStrides = stridesOf(dst.shape);
  stridedCopy(src, dst, { shape: src.shape, srcStrides: stridesOf(src.shape), dstStrides, dstBase: starts.reduce((acc, s, i) => acc + s * dstStrides[i]!, 0) }, op);
  return dst;
}
