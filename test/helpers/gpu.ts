// Shared GPU-test plumbing: one engine per test file (poisoning on, so unwritten outputs read as NaN),
// and conversions between float64 reference tensors and GPU tensors.
import { Engine, type Tensor } from '../../engine/index.js';
import { type RefTensor, ref } from '../reference/tensor.js';

let shared: Promise<Engine> | null = null;

export function testEngine(): Promise<Engine> {
  shared ??= Engine.create({ poison: true, seed: 1234 });
  return shared;
}

export async function disposeTestEngine(): Promise<void> {
  if (shared) (await shared).dispose();
  shared = null;
}

/** Round a reference tensor to float32 values so the reference sees exactly what the GPU sees. */
export function roundF32(t: RefTensor): RefTensor {
  return ref(t.shape, Float64Array.from(Float32Array.from(t.data)));
}

export function toGpu(engine: Engine, t: RefTensor, requiresGrad = false): Tensor {
  const g = engine.tensor(Float32Array.from(t.data), t.shape);
  g.requiresGrad = requiresGrad;
  return g;
}
