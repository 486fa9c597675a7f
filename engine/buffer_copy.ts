// Whole-tensor copies and clears as copy commands (no kernel), recorded in order with the dispatches: gradient
// copies in the tape, EMA initialisation, zeroing of the parameter arenas.
import { type Tensor, type TensorEngine, fmtShape } from './tensor.js';

/** to <- from (same element count). */
export function copyTensor(e: TensorEngine, from: Tensor, to: Tensor): void {
  if (from.size !== to.size) throw new Error(`copy: ${fmtShape(from.shape)} vs ${fmtShape(to.shape)}`);
  if (from.size > 0) e.runner.copyEncoder().copyBufferToBuffer(from.gpuBuffer.buffer, from.byteOffset, to.gpuBuffer.buffer, to.byteOffset, from.byteLength);
}

/** A new tensor holding the values of `t`. */
export function cloneTensor(e: TensorEngine, t: Tensor, producer: string): Tensor {
  const c = e.empty(t.shape, producer, t.dtype);
  copyTensor(e, t, c);
  return c;
}

/** t <- 0. */
export function clearTensor(e: TensorEngine, t: Tensor): void {
  if (t.size > 0) e.runner.copyEncoder().clearBuffer(t.gpuBuffer.buffer, t.byteOffset, t.byteLength);
}
