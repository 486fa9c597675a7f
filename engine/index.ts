/// <reference types="@webgpu/types" preserve="true" />
// Public API of the engine (the ES-module library bundle, dist/engine.js; its declarations reference
// @webgpu/types for GPUDevice & co.). The engine knows nothing about models: model/ and train/ build on these
// exports. docs/API.md describes them.
export { Engine, type EngineOptions, type MemoryStats, type RandomOptions, type TensorDispatch } from './engine.js';
export { Tensor, shapeSize, stridesOf, fmtShape, type Shape } from './tensor.js';
export { acquireDevice, type DeviceOptions, type DeviceFeatures } from './device.js';
export { ENGINE_LIMITS, DeviceLimitsError, limitShortfalls, type EngineLimitName, type LimitShortfall } from './limits.js';
export type { KernelSource, KernelTiming, DispatchArgs } from './runner.js';
export type { BackwardRule } from './tape.js';
export { KERNELS } from './kernels.js';
export { MATMUL_VARIANTS, type MatmulVariant } from './matmul_variants.js';
export { CONV_VARIANTS, type ConvVariant, type ConvProblem, type ConvKernelKind } from './conv_variants.js';
export * as ops from './ops/index.js';
export { ReadbackRing } from './readback.js';
export { ParameterSet, STATE_ARENAS, type ParamSpec, type ParameterCheckpoint, type AdamaxOptions, type GradientStats, type StateArena, type NonFiniteHit, type FinitenessReport } from './optim.js';
export { WeightNorm, EffectiveWeights, WEIGHT_NORM_KERNELS, type WeightNormLayer } from './weight_norm.js';
