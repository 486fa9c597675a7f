// The kernel registry: every WGSL kernel of the engine, declared one way, one row per file of shaders/ (the
// generative-model family in shaders/generative/). A row names the file's source (imported as text: esbuild's
// text loader in the bundle, a small plugin in vitest) and what the engine prepends to it, since WGSL has no
// include:
//   libs        shared code (WGSL_LIBS): pure functions (philox_lib, math_lib); the loops every kernel of a kind runs,
//               which call a function the kernel defines (elementwise_lib: each_element -> element(i), the 1-D
//               kernels; elementwise_rows_lib: each_row_element -> row_element(i, r, width); rows_lib: each_row ->
//               row(r)); helpers over names the kernel declares (workgroup_reduce_lib over its `scratch`,
//               image_chunks_lib over its params); and the Params and params binding of a kind of kernel outside
//               one family (axis_rows_lib: softmax and arg_reduce);
//   codes       generated constants of op-code tables (engine/op_codes.ts), e.g. `const UNARY_EXP: u32 = 1u;`;
//   and, found by file name, the declarations of the kernel's family (shaders/<prefix>_lib.wgsl: params,
//   bindings every kernel of the family binds alike, and helpers, shared by shaders/<prefix>.wgsl and
//   shaders/<prefix>_*.wgsl; the longest such prefix names the family, and a sub-family lists its parent's lib).
// Each kernel file says in its header which names come from which library.
// Ops import their kernels from here (KERNELS.unary, KERNELS.iaf_posterior, ...); test/engine/limits.test.ts
// checks that every .wgsl file is registered and that ENGINE_LIMITS covers what each needs.
import { opCodesWgsl, type OpCodeTable } from './op_codes.js';
import philoxLib from '../shaders/philox_lib.wgsl';
import mathLib from '../shaders/math_lib.wgsl';
import elementwiseLib from '../shaders/elementwise_lib.wgsl';
import elementwiseRowsLib from '../shaders/elementwise_rows_lib.wgsl';
import workgroupReduceLib from '../shaders/workgroup_reduce_lib.wgsl';
import imageChunksLib from '../shaders/image_chunks_lib.wgsl';
import rowsLib from '../shaders/rows_lib.wgsl';
import axisRowsLib from '../shaders/axis_rows_lib.wgsl';
import unaryLib from '../shaders/unary_lib.wgsl';
import binaryLib from '../shaders/binary_lib.wgsl';
import conv2dLib from '../shaders/conv2d_lib.wgsl';
import conv2dNaiveLib from '../shaders/conv2d_naive_lib.wgsl';
import crossEntropyLib from '../shaders/cross_entropy_lib.wgsl';
import gatherLib from '../shaders/gather_lib.wgsl';
import layerNormLib from '../shaders/layer_norm_lib.wgsl';
import f32OperandsLib from '../shaders/f32_operands_lib.wgsl';
import f16OperandsLib from '../shaders/f16_operands_lib.wgsl';
import matmulLib from '../shaders/matmul_lib.wgsl';
import maxPoolLib from '../shaders/max_pool_lib.wgsl';
import reduceLib from '../shaders/reduce_lib.wgsl';
import reduceForwardLib from '../shaders/reduce_forward_lib.wgsl';
import weightNormLib from '../shaders/weight_norm_lib.wgsl';
import concatEluLib from '../shaders/generative/concat_elu_lib.wgsl';
import gateLib from '../shaders/generative/gate_lib.wgsl';
import gaussian3Lib from '../shaders/generative/gaussian3_lib.wgsl';
import gaussianKlLib from '../shaders/generative/gaussian_kl_lib.wgsl';
import iafLib from '../shaders/generative/iaf_lib.wgsl';
import iafKlLib from '../shaders/generative/iaf_kl_lib.wgsl';
import logisticLib from '../shaders/generative/logistic_lib.wgsl';
import iafPosteriorLib from '../shaders/generative/iaf_posterior_lib.wgsl';
// core
import accumulate from '../shaders/accumulate.wgsl';
import argReduce from '../shaders/arg_reduce.wgsl';
import clipScale from '../shaders/clip_scale.wgsl';
import binary from '../shaders/binary.wgsl';
import binaryBackward from '../shaders/binary_backward.wgsl';
import cast from '../shaders/cast.wgsl';
import conv2dDirect from '../shaders/conv2d_direct.wgsl';
import conv2dNaiveDgrad from '../shaders/conv2d_naive_dgrad.wgsl';
import conv2dNaiveFwd from '../shaders/conv2d_naive_fwd.wgsl';
import conv2dNaiveWgrad from '../shaders/conv2d_naive_wgrad.wgsl';
import conv2dTiled from '../shaders/conv2d_tiled.wgsl';
import conv2dWgradKpar from '../shaders/conv2d_wgrad_kpar.wgsl';
import crossEntropy from '../shaders/cross_entropy.wgsl';
import crossEntropyBackward from '../shaders/cross_entropy_backward.wgsl';
import ddiUpdate from '../shaders/ddi_update.wgsl';
import dropout from '../shaders/dropout.wgsl';
import ema from '../shaders/ema.wgsl';
import fill from '../shaders/fill.wgsl';
import gather from '../shaders/gather.wgsl';
import gatherBackward from '../shaders/gather_backward.wgsl';
import gradStats from '../shaders/grad_stats.wgsl';
import layerNorm from '../shaders/layer_norm.wgsl';
import layerNormBackward from '../shaders/layer_norm_backward.wgsl';
import matmulNaive from '../shaders/matmul_naive.wgsl';
import matmulTiled from '../shaders/matmul_tiled.wgsl';
import matmulTiledShared from '../shaders/matmul_tiled_shared.wgsl';
import matmulSubgroup from '../shaders/matmul_subgroup.wgsl';
import maxPool from '../shaders/max_pool.wgsl';
import maxPoolBackward from '../shaders/max_pool_backward.wgsl';
import nonfiniteCheck from '../shaders/nonfinite_check.wgsl';
import oneHot from '../shaders/one_hot.wgsl';
import optimizer from '../shaders/optimizer.wgsl';
import philox from '../shaders/philox.wgsl';
import reduce from '../shaders/reduce.wgsl';
import reduceBackward from '../shaders/reduce_backward.wgsl';
import reduceSubgroup from '../shaders/reduce_subgroup.wgsl';
import scaleInPlace from '../shaders/scale_in_place.wgsl';
import softmax from '../shaders/softmax.wgsl';
import softmaxBackward from '../shaders/softmax_backward.wgsl';
import stridedCopy from '../shaders/strided_copy.wgsl';
import unary from '../shaders/unary.wgsl';
import unaryBackward from '../shaders/unary_backward.wgsl';
import weightGradFinish from '../shaders/weight_grad_finish.wgsl';
import weightNorm from '../shaders/weight_norm.wgsl';
import weightNormBackward from '../shaders/weight_norm_backward.wgsl';
import where from '../shaders/where.wgsl';
// generative-model family
import auxPixels from '../shaders/generative/aux_pixels.wgsl';
import concatElu from '../shaders/generative/concat_elu.wgsl';
import concatEluBackward from '../shaders/generative/concat_elu_backward.wgsl';
import dmolGradScale from '../shaders/generative/dmol_grad_scale.wgsl';
import dmolLoss from '../shaders/generative/dmol_loss.wgsl';
import dmolSample from '../shaders/generative/dmol_sample.wgsl';
import freeBits from '../shaders/generative/free_bits.wgsl';
import freeBitsBackward from '../shaders/generative/free_bits_backward.wgsl';
import freeBitsStats from '../shaders/generative/free_bits_stats.wgsl';
import gate from '../shaders/generative/gate.wgsl';
import gateBackward from '../shaders/generative/gate_backward.wgsl';
import gaussian3 from '../shaders/generative/gaussian3.wgsl';
import gaussian3Backward from '../shaders/generative/gaussian3_backward.wgsl';
import gaussianKl from '../shaders/generative/gaussian_kl.wgsl';
import gaussianKlBackward from '../shaders/generative/gaussian_kl_backward.wgsl';
import iaf from '../shaders/generative/iaf.wgsl';
import iafBackward from '../shaders/generative/iaf_backward.wgsl';
import iafKl from '../shaders/generative/iaf_kl.wgsl';
import iafKlBackward from '../shaders/generative/iaf_kl_backward.wgsl';
import iafPosterior from '../shaders/generative/iaf_posterior.wgsl';
import iafPosteriorBackward from '../shaders/generative/iaf_posterior_backward.wgsl';
import logistic from '../shaders/generative/logistic.wgsl';
import logisticBackward from '../shaders/generative/logistic_backward.wgsl';

/** A kernel as the runner compiles it: its prelude (libraries, op codes, family declarations), then its file. */
export interface KernelSource {
  /** File name without extension; names the kernel in errors and timings. */
  readonly name: string;
  readonly code: string;
  /** WGSL prepended to `code` (WGSL has no include); errors are reported in lines of `code`. */
  readonly prelude?: string;
}

/** Adapter features a kernel's WGSL enables (`enable subgroups;`, `enable f16;`): it compiles only where they are. */
export type KernelFeature = 'subgroups' | 'shader-f16';

/** A registered kernel: where its file is, and which part of the engine it belongs to. */
export interface RegisteredKernel extends KernelSource {
  /** Path under shaders/, e.g. 'unary.wgsl' or 'generative/iaf.wgsl'. */
  readonly file: string;
  /** Features the kernel needs (ops use it only where the device has them). */
  readonly features: readonly KernelFeature[];
  /** 'core': the generic engine; 'generative': the PixelCNN++ / IAF-VAE / likelihood family (engine/generative/). */
  readonly family: 'core' | 'generative';
}

/** The WGSL compiled for a kernel: its prelude, then its own file. */
export function fullSource(kernel: KernelSource): string {
  return kernel.prelude ? `${kernel.prelude}\n${kernel.code}` : kernel.code;
}

/**
 * Shared WGSL libraries a row may list (each file's header says what a kernel listing it must declare).
 * f32_operands / f16_operands: how the register-blocked matmul and conv kernels hold their operands (the
 * mixed-precision variants are the same files with f16_operands).
 */
export const WGSL_LIBS = {
  philox: philoxLib,
  math: mathLib,
  f32_operands: f32OperandsLib,
  f16_operands: f16OperandsLib,
  elementwise: elementwiseLib,
  elementwise_rows: elementwiseRowsLib,
  rows: rowsLib,
  axis_rows: axisRowsLib,
  workgroup_reduce: workgroupReduceLib,
  image_chunks: imageChunksLib,
} as const;
export type WgslLib = keyof typeof WGSL_LIBS;

/**
 * Family declarations (they declare bindings, so they go only before their own family's files). A sub-family
 * lists its parent's declarations first: conv2d_naive_* get conv2d_lib.wgsl, then conv2d_naive_lib.wgsl.
 */
export const DECLARATION_LIBS = {
  unary: [unaryLib],
  binary: [binaryLib],
  conv2d: [conv2dLib],
  conv2d_naive: [conv2dLib, conv2dNaiveLib],
  cross_entropy: [crossEntropyLib],
  gather: [gatherLib],
  layer_norm: [layerNormLib],
  matmul: [matmulLib],
  max_pool: [maxPoolLib],
  reduce: [reduceLib, reduceForwardLib],
  reduce_backward: [reduceLib],
  weight_norm: [weightNormLib],
  concat_elu: [concatEluLib],
  gate: [gateLib],
  gaussian3: [gaussian3Lib],
  gaussian_kl: [gaussianKlLib],
  iaf: [iafLib],
  iaf_kl: [iafKlLib],
  iaf_posterior: [iafPosteriorLib],
  logistic: [logisticLib],
} as const;

/**
 * The declarations of a kernel file ('' when its family has none): those of the family <prefix> for <prefix>(_*).wgsl,
 * the longest such prefix (conv2d_naive_fwd.wgsl belongs to conv2d_naive, not to conv2d).
 */
export function declarationLib(file: string): string {
  const base = file.slice(file.lastIndexOf('/') + 1);
  const family = (Object.keys(DECLARATION_LIBS) as (keyof typeof DECLARATION_LIBS)[])
    .filter((p) => (base === `${p}.wgsl` || base.startsWith(`${p}_`)) && base !== `${p}_lib.wgsl`)
    .reduce<keyof typeof DECLARATION_LIBS | null>((best, p) => (best === null || p.length > best.length ? p : best), null);
  return family ? DECLARATION_LIBS[family].join('\n') : '';
}

interface Row {
  code: string;
  libs?: readonly WgslLib[];
  codes?: readonly OpCodeTable[];
  /** Features the WGSL needs: the prelude opens with their `enable` directives (which must precede everything). */
  features?: readonly KernelFeature[];
  /** The file, when a row compiles another row's file with other libraries (a mixed-precision variant). */
  file?: string;
}

const ENABLE: Record<KernelFeature, string> = { subgroups: 'enable subgroups;', 'shader-f16': 'enable f16;' };

function register<T extends Record<string, Row>>(family: RegisteredKernel['family'], rows: T): { readonly [K in keyof T]: RegisteredKernel } {
  const dir = family === 'core' ? '' : `${family}/`;
  const out: Record<string, RegisteredKernel> = {};
  for (const [name, row] of Object.entries(rows)) {
    const file = `${dir}${row.file ?? `${name}.wgsl`}`;
    const features = row.features ?? [];
    const prelude = [...features.map((f) => ENABLE[f]), ...(row.libs ?? []).map((l) => WGSL_LIBS[l]), ...(row.codes ?? []).map(opCodesWgsl), declarationLib(file)].filter((p) => p.length > 0).join('\n');
    out[name] = prelude ? { name, code: row.code, prelude, file, family, features } : { name, code: row.code, file, family, features };
  }
  return out as { readonly [K in keyof T]: RegisteredKernel };
}

const CORE = register('core', {
  fill: { code: fill, libs: ['elementwise'] },
  accumulate: { code: accumulate, libs: ['elementwise'] },
  scale_in_place: { code: scaleInPlace, libs: ['elementwise'] },
  ddi_update: { code: ddiUpdate, libs: ['elementwise'] },
  unary: { code: unary, libs: ['math', 'elementwise'], codes: ['unary'] },
  unary_backward: { code: unaryBackward, libs: ['math', 'elementwise'], codes: ['unary'] },
  binary: { code: binary, libs: ['elementwise'], codes: ['binary'] },
  binary_backward: { code: binaryBackward, libs: ['elementwise'], codes: ['binary'] },
  where: { code: where, libs: ['elementwise'] },
  cast: { code: cast, libs: ['elementwise'] },
  reduce: { code: reduce, libs: ['workgroup_reduce'], codes: ['reduce'] },
  reduce_backward: { code: reduceBackward, libs: ['elementwise'], codes: ['reduce'] },
  reduce_subgroup: { code: reduceSubgroup, codes: ['reduce'], features: ['subgroups'] },
  strided_copy: { code: stridedCopy },
  softmax: { code: softmax, libs: ['axis_rows', 'rows'] },
  softmax_backward: { code: softmaxBackward, libs: ['axis_rows', 'rows'] },
  cross_entropy: { code: crossEntropy, libs: ['rows'] },
  cross_entropy_backward: { code: crossEntropyBackward },
  arg_reduce: { code: argReduce, libs: ['axis_rows', 'rows'] },
  one_hot: { code: oneHot, libs: ['elementwise'] },
  gather: { code: gather },
  gather_backward: { code: gatherBackward },
  max_pool: { code: maxPool },
  max_pool_backward: { code: maxPoolBackward },
  layer_norm: { code: layerNorm, libs: ['rows'] },
  layer_norm_backward: { code: layerNormBackward, libs: ['rows'] },
  philox: { code: philox, libs: ['philox', 'elementwise'] },
  dropout: { code: dropout, libs: ['philox', 'elementwise'] },
  conv2d_naive_fwd: { code: conv2dNaiveFwd },
  conv2d_tiled: { code: conv2dTiled },
  conv2d_direct: { code: conv2dDirect, libs: ['f32_operands'] },
  conv2d_direct_f16: { code: conv2dDirect, libs: ['f16_operands'], features: ['shader-f16'], file: 'conv2d_direct.wgsl' },
  conv2d_wgrad_kpar: { code: conv2dWgradKpar },
  conv2d_naive_dgrad: { code: conv2dNaiveDgrad },
  conv2d_naive_wgrad: { code: conv2dNaiveWgrad },
  matmul_naive: { code: matmulNaive },
  matmul_tiled: { code: matmulTiled, libs: ['f32_operands'] },
  matmul_tiled_f16: { code: matmulTiled, libs: ['f16_operands'], features: ['shader-f16'], file: 'matmul_tiled.wgsl' },
  matmul_subgroup: { code: matmulSubgroup, features: ['subgroups'] },
  matmul_tiled_shared: { code: matmulTiledShared },
  weight_grad_finish: { code: weightGradFinish, libs: ['workgroup_reduce'] },
  weight_norm: { code: weightNorm, libs: ['workgroup_reduce'] },
  weight_norm_backward: { code: weightNormBackward, libs: ['workgroup_reduce'] },
  optimizer: { code: optimizer, libs: ['elementwise'], codes: ['optimizer'] },
  clip_scale: { code: clipScale },
  ema: { code: ema, libs: ['elementwise'] },
  grad_stats: { code: gradStats },
  nonfinite_check: { code: nonfiniteCheck },
});

const GENERATIVE = register('generative', {
  concat_elu: { code: concatElu, libs: ['philox', 'math', 'elementwise_rows'] },
  concat_elu_backward: { code: concatEluBackward, libs: ['philox', 'elementwise_rows'] },
  gate: { code: gate, libs: ['math', 'elementwise_rows'] },
  gate_backward: { code: gateBackward, libs: ['math', 'elementwise_rows'] },
  logistic: { code: logistic, libs: ['math', 'image_chunks', 'workgroup_reduce'] },
  logistic_backward: { code: logisticBackward, libs: ['math', 'image_chunks', 'workgroup_reduce'] },
  aux_pixels: { code: auxPixels, libs: ['elementwise'] },
  gaussian3: { code: gaussian3, libs: ['elementwise'], codes: ['gaussian3'] },
  gaussian3_backward: { code: gaussian3Backward, libs: ['elementwise'], codes: ['gaussian3'] },
  gaussian_kl: { code: gaussianKl, libs: ['elementwise'] },
  gaussian_kl_backward: { code: gaussianKlBackward, libs: ['math', 'elementwise'] },
  free_bits_stats: { code: freeBitsStats, libs: ['image_chunks', 'workgroup_reduce'] },
  free_bits: { code: freeBits, libs: ['workgroup_reduce'] },
  free_bits_backward: { code: freeBitsBackward, libs: ['elementwise'] },
  iaf: { code: iaf, libs: ['elementwise'] },
  iaf_backward: { code: iafBackward, libs: ['elementwise'] },
  iaf_posterior: { code: iafPosterior },
  iaf_posterior_backward: { code: iafPosteriorBackward },
  iaf_kl: { code: iafKl },
  iaf_kl_backward: { code: iafKlBackward },
  dmol_loss: { code: dmolLoss, libs: ['math'] },
  dmol_grad_scale: { code: dmolGradScale, libs: ['elementwise'] },
  dmol_sample: { code: dmolSample, libs: ['philox', 'math'] },
});

/** Every kernel of the engine by name. */
export const KERNELS = { ...CORE, ...GENERATIVE } as const;
export type KernelName = keyof typeof KERNELS;

/** Kernel sources by shader file name (matmul and conv variants name their kernel by file); a file compiled by several rows maps to the row of its own name. */
export const KERNELS_BY_FILE: Readonly<Record<string, RegisteredKernel>> = Object.fromEntries(Object.values(KERNELS).filter((s) => s.file.endsWith(`${s.name}.wgsl`)).map((s) => [s.file, s]));

/**
 * A Philox stream number as the kernels' two u32 words: the counter is (element, stream, kind, stream_hi), so
 * stream numbers up to 2^53 never wrap (a training loop giving each step 2^16 streams passes 2^32 after 65,536
 * steps; with one word its noise would repeat from there). Streams below 2^32 draw what they always drew.
 */
export function streamWords(stream: number, op: string): { stream: number; stream_hi: number } {
  if (!Number.isSafeInteger(stream) || stream < 0) throw new Error(`${op}: the noise stream must be a non-negative safe integer, got ${stream}`);
  return { stream: stream % 0x100000000, stream_hi: Math.floor(stream / 0x100000000) };
}

/**
 * A Philox counter offset as the kernels' u32 (the counter word wraps, as the element index of one tensor
 * that large would): a non-negative safe integer, taken modulo 2^32.
 */
export function counterOffset(offset: number, op: string): number {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new Error(`${op}: the noise counter offset must be a non-negative safe integer, got ${offset}`);
  return offset % 0x100000000;
}
