// Type-level use of the public API as a TypeScript consumer writes it, naming no WebGPU type: checked with
// `tsc --noEmit` against the packed declarations by test/consumer/run.mjs, under TypeScript 5.9, 6 and 7, with
// and without the DOM lib, and with nothing but ES2022 (no @types/node). Never run. (own-device.ts has the
// part that needs WebGPU's types.)
import {
  CONV_VARIANTS, ENGINE_LIMITS, Engine, Layers, MATMUL_VARIANTS, ParameterSet, Tensor, cosineLr, ops, stepLr,
  type AdamOptions, type AdamaxOptions, type CrossEntropyOptions, type DType, type EngineOptions, type KernelTiming,
  type LearningRate, type ParamSpec, type ParameterCheckpoint, type SgdOptions, type Shape,
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

/** The classifier API: int32 labels, the layer kit, cross-entropy, the optimizers, schedules and checkpoints. */
export async function useClassifier(engine: Engine): Promise<number> {
  const nn = new Layers();
  const fc = nn.linear('fc', 16, 10, { init: 'heNormal' });
  const conv = nn.conv2d('conv', 3, 4, { kernel: [3, 3], pad: 'same' });
  const params: ParameterSet = nn.create(engine, { seed: 1 });
  const labels: Tensor = engine.tensor(new Int32Array([1, 2, 3, 4]));
  const dtype: DType = labels.dtype;
  const x = engine.uniform([4, 16]);
  const ce: CrossEntropyOptions = { reduction: 'mean' };
  params.zeroGrad();
  engine.scope(() => engine.backward(ops.crossEntropy(ops.layerNorm(fc.forward(x), null, null), labels, ce)));
  void conv.forward(ops.maxPool2d(engine.uniform([1, 8, 8, 3]), { size: 2 }));
  const lr: LearningRate = cosineLr({ lr: 1e-3, warmup: 10, total: 100 });
  const adam: AdamOptions = { lr, weightDecay: (name) => (name.endsWith('.b') ? 0 : 0.01), clipNorm: 1 };
  params.adamwStep(adam);
  const sgd: SgdOptions = { lr: stepLr({ lr: 0.1, every: 10 }), momentum: 0.9, nesterov: true };
  params.sgdStep(sgd);
  const ck: ParameterCheckpoint = await params.serialize();
  params.load(ck);
  const accuracy = await ops.mean(ops.equal(ops.argmax(fc.forward(x)), labels)).item();
  const indices: Int32Array = await ops.argmax(ops.softmax(x)).readInt32();
  void ops.gather(x, labels, 1);
  void ops.where(ops.greater(x, ops.oneHot(labels, 16)), x, ops.gelu(x));
  void [dtype, indices, ck.steps?.['adam'], params.optimizerSteps('adam'), await params.lastClipping()];
  return accuracy;
}
