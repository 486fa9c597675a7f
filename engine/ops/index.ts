// The generic differentiable ops, re-exported as one namespace (`ops`). The generative-model family
// (PixelCNN++, IAF-VAE, likelihoods) is engine/generative/, which builds on these.
export * from './elementwise.js';
export * from './reduce.js';
export * from './shape.js';
export * from './matmul.js';
export * from './conv.js';
export * from './nn.js';
export * from './dropout.js';
export * from './window.js';
export * from './classify.js';
export * from './pool.js';
export * from './norm.js';
export { unusedOutput } from './scratch.js';
