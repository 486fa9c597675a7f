// All differentiable ops, re-exported as one namespace.
export * from './elementwise.js';
export * from './reduce.js';
export * from './shape.js';
export * from './matmul.js';
export * from './conv.js';
export * from './nn.js';
export * from './gated.js';
export * from './logistic.js';
export * from './aux_image.js';
export * from './gaussian.js';
export * from './iaf.js';
export * from './dmol.js';
export * from './window.js';
