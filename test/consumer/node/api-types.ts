// Type-level use of the public API as a TypeScript consumer writes it: checked with `tsc --noEmit` against the
// packed declarations (run by test/consumer/run.mjs under two consumer tsconfigs). Never run.
import {
  CONV_VARIANTS, DeviceLimitsError, ENGINE_LIMITS, Engine, MATMUL_VARIANTS, ParameterSet, Tensor, ops,
  type AdamaxOptions, type EngineOptions, type KernelTiming, type LimitShortfall, type ParamSpec, type Shape,
} from 'agave-webgpu';

export async function withOwnDevice(adapter: GPUAdapter): Promise<Engine> {
  const device: GPUDevice = await adapter.requestDevice({ requiredLimits: { ...ENGINE_LIMITS } });
  const options: EngineOptions = { device, poison: false, seed: 1 };
  try {
    return await Engine.create(options);
  } catch (err) {
    if (err instanceof DeviceLimitsError) {
      const s: readonly LimitShortfall[] = err.shortfalls;
      throw new Error(s.map((x) => `${x.limit} ${x.device} < ${x.required}`).join('; '));
    }
    throw err;
  }
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
