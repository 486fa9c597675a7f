// Op codes of the kernels that implement several ops (selected by their OP override constant). Each table is
// written once, here: TypeScript dispatches with these numbers, and the registry (engine/kernels.ts) gives every
// kernel that lists a table in its `codes` a generated WGSL prelude of constants, e.g.
//   const UNARY_NEG: u32 = 0u;   const UNARY_ADD_SCALAR: u32 = 20u;
// so a shader writes `case UNARY_NEG:` instead of a bare number that must match this file by hand.

/** Unary and tensor-scalar ops (shaders/unary.wgsl, unary_backward.wgsl): 0-19 unary, 20+ with a scalar. */
export const UNARY_CODES = {
  neg: 0, exp: 1, log: 2, sqrt: 3, square: 4, sigmoid: 5, tanh: 6, elu: 7, softplus: 8, abs: 9,
  relu: 10, gelu: 11, geluTanh: 12, silu: 13,
  addScalar: 20, subScalar: 21, rsubScalar: 22, mulScalar: 23, divScalar: 24, rdivScalar: 25, maximumScalar: 26, powScalar: 27, copy: 28,
  leakyRelu: 29,
} as const;

/**
 * Broadcasting binary ops (shaders/binary.wgsl, binary_backward.wgsl). The comparisons (16+) give 1 where the
 * relation holds and 0 elsewhere; they have no gradient (their ops record nothing on the tape).
 */
export const BINARY_CODES = {
  add: 0, sub: 1, mul: 2, div: 3, maximum: 4, addScaled: 5, minimum: 6,
  equal: 16, notEqual: 17, less: 18, lessEqual: 19, greater: 20, greaterEqual: 21,
} as const;

/**
 * Reductions (shaders/reduce.wgsl, reduce_backward.wgsl). The order matters: codes >= max take the running
 * maximum first. `ties` is the backward's helper pass that marks the elements equal to the maximum.
 */
export const REDUCE_CODES = { sum: 0, mean: 1, max: 2, logsumexp: 3, ties: 4 } as const;

/** The three-input Gaussian elementwise ops (shaders/generative/gaussian3.wgsl and its backward). */
export const GAUSSIAN3_CODES = { sample: 0, logDensity: 1 } as const;

/** The update rules of shaders/optimizer.wgsl (engine/params/optimizers.ts). */
export const OPTIMIZER_CODES = { sgd: 0, adam: 1, adamax: 2, adamaxTheano: 3 } as const;

export const OP_CODE_TABLES = { unary: UNARY_CODES, binary: BINARY_CODES, reduce: REDUCE_CODES, gaussian3: GAUSSIAN3_CODES, optimizer: OPTIMIZER_CODES } as const;
export type OpCodeTable = keyof typeof OP_CODE_TABLES;

/** 'addScalar' -> 'ADD_SCALAR'. */
function upperSnake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** The WGSL constants of a table: `const UNARY_ADD_SCALAR: u32 = 20u;`, one per line. */
export function opCodesWgsl(table: OpCodeTable): string {
  const prefix = upperSnake(table);
  return Object.entries(OP_CODE_TABLES[table]).map(([op, code]) => `const ${prefix}_${upperSnake(op)}: u32 = ${code}u;`).join('\n');
}
