// Type-level use of the public API as a TypeScript consumer writes it, naming no WebGPU type: checked with
// `tsc --noEmit` against the packed declarations by test/consumer/run.mjs, under TypeScript 5.9, 6 and 7, with
// and without the DOM lib, and with nothing but ES2022 (no @types/node). Never run. (own-device.ts has the
// part that needs WebGPU's types.)
import {
  CONV_VARIANTS, ENGINE_LIMITS, Engine, MATMUL_VARIANTS, ParameterSet, Tensor, ops,
  type AdamaxOptions, type EngineOptions, type KernelTiming, type ParamSpec, type Shape,
} from 'agave-webgpu';

export function create(): Promise<Engine> {
  const options: EngineOptions = { powerPreference: 'low-power', poison: false, seed: 1 };
  return Engine.create(options);
}

export async function useOps(engine: Engine): Promise<Float32Array> {
  const shape: Shape = [4, 8, 8, 3];
  const x: Tensor = engine.uniform(shape, -1, 1);
  const w = engine.normal([3, 3, 3, 16], 0, 0.1);
  const y = ops.conv2d(x, w, null, { stride: 2, pad: [1, 1, 1, 1] });
  const z = ops.matmul(ops.reshape(y, [4 * 4 * 4, 16]), engine.normal([16, 10]));
  const specs: ParamSpec[] = [{ name: 'w', shape: [16, 10], init: { normal: 0.05 } }];
  const params = ParameterSet.create(engine, specs, 7);
  const opts: AdamaxOptions = { lr: 1e-3 };
  params.adamaxStep(opts);
  const timings: KernelTiming[] = await engine.timings();
  void timings;
  void CONV_VARIANTS.map((v) => v.name);
  void MATMUL_VARIANTS.map((v) => v.name);
  const n: number = ENGINE_LIMITS.maxStorageBuffersPerShaderStage;
  void n;
  return z.read();
}
