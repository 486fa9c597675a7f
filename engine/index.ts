// Public API of the engine (the ES-module library bundle, dist/engine.js, and its declarations). Two parts, each
// importing only downward: the generic engine (tensors, tape, runner, the `ops`, parameter arenas and their
// optimizers, the kernel registry, a small layer kit for applications) and, on it, the generative-model kernel family (`generative`: PixelCNN++,
// IAF-VAE and likelihood ops, engine/generative/index.ts, the entry point model/ uses). The engine knows nothing
// about models: model/ and train/ build on these exports. docs/API.md describes them.
export { Engine, type EngineOptions, type MemoryStats, type RandomOptions, type TensorDispatch, type FromGPUBufferOptions, type TensorGPUBinding } from './engine.js';
export { Tensor, shapeSize, stridesOf, fmtShape, type Shape, type DType } from './tensor.js';
export { acquireDevice, type DeviceOptions, type DeviceFeatures, type AdapterIdentity } from './device.js';
export { BufferUsage, MapMode, ShaderStage } from './webgpu_constants.js';
export { ENGINE_LIMITS, DeviceLimitsError, limitShortfalls, type EngineLimitName, type LimitShortfall } from './limits.js';
export type { KernelTiming, DispatchArgs } from './runner/runner.js';
export type { BackwardRule, BackwardRuleMany, GradSink } from './tape.js';
export { KERNELS, fullSource, type KernelSource, type RegisteredKernel, type KernelName, type KernelFeature } from './kernels.js';
export { OP_CODE_TABLES, UNARY_CODES, BINARY_CODES, REDUCE_CODES, OPTIMIZER_CODES } from './op_codes.js';
export { MATMUL_VARIANTS, SUBGROUP_MATRIX_VARIANTS, tiledTile, weightGradSplits, type MatmulVariant } from './matmul_variants.js';
export { CONV_VARIANTS, type ConvVariant, type ConvProblem, type ConvKernelKind } from './conv_variants.js';
export { Tuner, TUNE_MODES, relativeError, type TuneMode, type TuneReport, type TuneBudget, type BucketResult, type TunableOp, type TuneHarness, type TuneCapabilities } from './tuning/tuner.js';
export { nodeTuneCache, browserTuneCache, defaultCacheDir, tuneCacheKey, cacheName, kernelSourcesHash, type TuneCache, type TuneCacheKey, type TuneCacheEntry, type TuneCacheRead } from './tuning/cache.js';
export * as staticChoices from './tuning/static.js';
export { ENGINE_VERSION } from './version.js';
export * as ops from './ops/index.js';
export type { CrossEntropyOptions, MaxPoolOptions, CompareOp } from './ops/index.js';
export * as generative from './generative/index.js';
export { ReadbackRing } from './readback.js';
export { ParameterSet, type ParamSpec, type ParamInit, type ParameterSetOptions } from './params/parameter_set.js';
export type { ParameterCheckpoint } from './params/checkpoint.js';
export { constantLr, stepLr, cosineLr, type StepLrOptions, type CosineLrOptions } from './params/schedules.js';
export { OPTIMIZER_STATE, type AdamaxOptions, type AdamOptions, type SgdOptions, type OptimizerOptions, type OptimizerKind, type LearningRate } from './params/optimizers.js';
export { STATE_ARENAS, type GradientStats, type StateArena, type NonFiniteHit, type FinitenessReport } from './params/health.js';
export { WeightNorm, EffectiveWeights, type WeightNormLayer } from './params/weight_norm.js';
export { Layers, Linear, Conv2d, LayerNorm, type LinearOptions, type Conv2dOptions, type LayersCreateOptions } from './layers/layers.js';
export { initializer, INITIALIZERS, type Initializer, type InitializerName } from './layers/init.js';

// WebGPU types in the declarations, for every TypeScript a consumer has (docs/API.md, "TypeScript"): the public
// API names only the interfaces GPUDevice, GPUBuffer, GPUSupportedLimits and GPUCommandEncoder (the runner's
// internals, which use more, are reached only through engine/runner/types.ts, which names none of them), and
// declares them here empty. An empty interface merges with any full declaration of the same name (TypeScript >= 6's DOM
// lib, @webgpu/types, @types/web), so a consumer with WebGPU types sees them whole; one without (a Node-only
// `lib`, or TypeScript 5.x with DOM but no @webgpu/types) still type-checks. What does not work everywhere:
// - `/// <reference types="@webgpu/types" />` (what this file had): TypeScript >= 6 with DOM reports duplicate
//   identifiers (its DOM lib declares the same types), and without DOM @webgpu/types misses DOM names
//   (PredefinedColorSpace, VideoFrame, EventTarget options...).
// - Switching declarations by TypeScript version (typesVersions, `types@<6` export conditions): the conflict
//   depends on the consumer's `lib` (DOM or not), which no package field can see.
// - WebGPU type aliases (GPUPowerPreference...): an alias cannot merge, so the API spells out their unions.
// test/consumer/run.mjs type-checks the packed declarations under TypeScript 5.9, 6 and 7, with and without DOM.
declare global {
  interface GPUDevice {}
  interface GPUBuffer {}
  interface GPUSupportedLimits {}
  interface GPUCommandEncoder {}
  interface GPUAdapterInfo {}
}
