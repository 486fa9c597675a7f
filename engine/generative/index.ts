// The generative-model kernel family, built on the generic engine: the pieces of PixelCNN++ (gated residual
// blocks, the discretized logistic mixture likelihood and its sampler), of the IAF ResNet-VAE (Gaussian sample,
// density and KL, free bits, IAF steps and the fused posterior/KL of a layer) and the auxiliary-image ops of
// AGAVE (colour levels, pooling, 4-bit gray) with the discretized logistic likelihood. Each op is one fused
// kernel forward and one backward (shaders/generative/), registered in engine/kernels.ts like every kernel.
// model/ imports these as `gen`; the package exports them as `generative`.
export * from './gated.js';
export * from './logistic.js';
export * from './aux_image.js';
export * from './gaussian.js';
export * from './iaf.js';
export * from './dmol.js';
