// Shared GPU-test plumbing: one engine per test file (poisoning on, so unwritten outputs read as NaN),
// and conversions between float64 reference tensors and GPU tensors.
// The engine runs on a device requested the way an application would: WebGPU's default limits (8 storage
// buffers per stage, 16 KiB workgroup memory, 128 MiB bindings), no webgpu globals installed. So every kernel
// test also shows the engine works on such a device (ENGINE_LIMITS fits the defaults). It asks for the optional
// features the subgroup and f16 kernel variants need (shader-f16, subgroups) where the adapter offers them, which
// changes no limit, and tunes nothing (tune 'off': every test sees the static kernel choices unless it forces one).
import { create } from 'webgpu';
import { Engine, type Tensor } from '../../engine/index.js';
import { type RefTensor, ref } from '../reference/tensor.js';

let shared: Promise<Engine> | null = null;
/** Dawn's GPU object stays referenced while its devices live (docs/ENGINE.md §1). */
let dawn: GPU | null = null;

async function defaultLimitsDevice(): Promise<GPUDevice> {
  dawn ??= create([]);
  const adapter = await dawn.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter (install Mesa lavapipe; see README)');
  return adapter.requestDevice({ requiredFeatures: (['shader-f16', 'subgroups'] as const).filter((f) => adapter.features.has(f)) });
}

export function testEngine(): Promise<Engine> {
  shared ??= defaultLimitsDevice().then((device) => Engine.create({ device, poison: true, seed: 1234, tune: 'off' }));
  return shared;
}

export async function disposeTestEngine(): Promise<void> {
  if (shared) {
    const engine = await shared;
    engine.dispose();
    engine.device.destroy(); // the engine does not destroy a device it was given
  }
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

/**
 * The IEEE half-precision value nearest to x (ties to even; overflow to infinity, subnormals kept): what an
 * f16-operand kernel variant holds. Tests of those variants give them f16-representable operands and
 * cotangents, so the float64 reference sees exactly what the kernel multiplies (products of f16 values are exact
 * in f32, and the sums accumulate in f32 as in every variant).
 */
export function f16(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Infinity; // halfway between 65504 (the largest f16) and 2^16
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  const ulp = 2 ** (Math.max(e, -14) - 10); // 10 fraction bits; subnormals below 2^-14 have ulp 2^-24
  const m = a / ulp;
  let r = Math.floor(m);
  const frac = m - r;
  if (frac > 0.5 || (frac === 0.5 && r % 2 === 1)) r++;
  return Math.sign(x) * r * ulp;
}

/** A reference tensor with every value rounded to f16 (see f16). */
export function roundF16(t: RefTensor): RefTensor {
  return ref(t.shape, Float64Array.from(t.data, f16));
}
