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
