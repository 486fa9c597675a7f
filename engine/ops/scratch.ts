// Internal helper of the op layer (not exported by ops/index.ts): WebGPU forbids binding one buffer range to
// two writable bindings of a dispatch, so a kernel's optional output that is not written gets this instead.
import type { Engine } from '../engine.js';
import type { Tensor } from '../tensor.js';

const unused = new WeakMap<Engine, Tensor[]>();
/**
 * A one-element tensor bound where a kernel's optional output is not written (bindings must not alias: a kernel
 * with two unused outputs binds `slot` 0 and 1).
 */
export function unusedOutput(e: Engine, slot = 0): Tensor {
  let list = unused.get(e);
  if (!list) unused.set(e, (list = []));
  let t = list[slot];
  if (!t || t.disposed) {
    t = e.noGrad(() => e.zeros([1])).keep();
    e.untrack(t);
    list[slot] = t;
  }
  return t;
}
