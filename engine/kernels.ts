// Every WGSL kernel of the engine, by name. The sources are real .wgsl files in shaders/, imported as text
// (esbuild's text loader for the bundle, a small plugin for vitest).
import type { KernelSource } from './runner.js';
import fill from '../shaders/fill.wgsl';
import accumulate from '../shaders/accumulate.wgsl';
import ddi_update from '../shaders/ddi_update.wgsl';
import unary from '../shaders/unary.wgsl';
import unary_backward from '../shaders/unary_backward.wgsl';
import binary from '../shaders/binary.wgsl';
import binary_backward from '../shaders/binary_backward.wgsl';
import reduce from '../shaders/reduce.wgsl';
import reduce_backward from '../shaders/reduce_backward.wgsl';
import strided_copy from '../shaders/strided_copy.wgsl';
import philox from '../shaders/philox.wgsl';
import philoxLib from '../shaders/philox_lib.wgsl';
import mathLib from '../shaders/math_lib.wgsl';
import conv2d_naive_fwd from '../shaders/conv2d_naive_fwd.wgsl';
import conv2d_tiled from '../shaders/conv2d_tiled.wgsl';
import conv2d_direct from '../shaders/conv2d_direct.wgsl';
import conv2d_wgrad_kpar from '../shaders/conv2d_wgrad_kpar.wgsl';
import conv2d_naive_dgrad from '../shaders/conv2d_naive_dgrad.wgsl';
import conv2d_naive_wgrad from '../shaders/conv2d_naive_wgrad.wgsl';
import matmul_naive from '../shaders/matmul_naive.wgsl';
import matmul_tiled from '../shaders/matmul_tiled.wgsl';
import matmul_tiled_shared from '../shaders/matmul_tiled_shared.wgsl';
import matmulLib from '../shaders/matmul_lib.wgsl';
import weightNormLib from '../shaders/weight_norm_lib.wgsl';
import iafPosteriorLib from '../shaders/iaf_posterior_lib.wgsl';


const k = (name: string, code: string, prelude?: string): KernelSource => (prelude ? { name, code, prelude } : { name, code });

/** Shared WGSL libraries, prepended to the kernels that use them. */
export const WGSL_LIBS = { philox: philoxLib, math: mathLib } as const;

/** The prelude of a kernel that uses these libraries. */
export function wgslPrelude(...libs: (keyof typeof WGSL_LIBS)[]): string {
  return libs.map((l) => WGSL_LIBS[l]).join('\n');
}
/**
 * Declarations (params struct, bindings, helpers) shared by a family of kernels: shaders/<prefix>_lib.wgsl is
 * prepended to shaders/<prefix>.wgsl and every shaders/<prefix>_*.wgsl kernel. Unlike WGSL_LIBS they declare bindings, so they go only
 * before their own family (test/engine/limits.test.ts reflects each kernel with declarationLib(file)).
 */
export const DECLARATION_LIBS = { matmul: matmulLib, weight_norm: weightNormLib, iaf_posterior: iafPosteriorLib } as const;
/** The declaration lib of a kernel file ('' when its family has none). */
export function declarationLib(file: string): string {
  const prefix = (Object.keys(DECLARATION_LIBS) as (keyof typeof DECLARATION_LIBS)[]).find((p) => (file === `${p}.wgsl` || file.startsWith(`${p}_`)) && file !== `${p}_lib.wgsl`);
  return prefix ? DECLARATION_LIBS[prefix] : '';
}

export const KERNELS = {
  fill: k('fill', fill),
  accumulate: k('accumulate', accumulate),
  ddi_update: k('ddi_update', ddi_update),
  unary: k('unary', unary, mathLib),
  unary_backward: k('unary_backward', unary_backward, mathLib),
  binary: k('binary', binary),
  binary_backward: k('binary_backward', binary_backward),
  reduce: k('reduce', reduce),
  reduce_backward: k('reduce_backward', reduce_backward),
  strided_copy: k('strided_copy', strided_copy),
  philox: k('philox', philox, philoxLib),
  conv2d_naive_fwd: k('conv2d_naive_fwd', conv2d_naive_fwd),
  conv2d_tiled: k('conv2d_tiled', conv2d_tiled),
  conv2d_direct: k('conv2d_direct', conv2d_direct),
  conv2d_wgrad_kpar: k('conv2d_wgrad_kpar', conv2d_wgrad_kpar),
  conv2d_naive_dgrad: k('conv2d_naive_dgrad', conv2d_naive_dgrad),
  conv2d_naive_wgrad: k('conv2d_naive_wgrad', conv2d_naive_wgrad),
  matmul_naive: k('matmul_naive', matmul_naive, declarationLib('matmul_naive.wgsl')),
  matmul_tiled: k('matmul_tiled', matmul_tiled, declarationLib('matmul_tiled.wgsl')),
  matmul_tiled_shared: k('matmul_tiled_shared', matmul_tiled_shared, declarationLib('matmul_tiled_shared.wgsl')),

} as const;

/** Kernel sources by shader file name (matmul variants are chosen by file name). */
export const KERNELS_BY_FILE: Record<string, KernelSource> = Object.fromEntries(Object.values(KERNELS).map((s) => [`${s.name}.wgsl`, s]));

/**
 * A Philox counter offset as the kernels' u32 (the counter word wraps, as the element index of one tensor
 * that large would): a non-negative safe integer, taken modulo 2^32.
 */
export function counterOffset(offset: number, op: string): number {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new Error(`${op}: the noise counter offset must be a non-negative safe integer, got ${offset}`);
  return offset % 0x100000000;
}
