// The kernel registry: every WGSL kernel of the engine, declared one way, one row per file of shaders/ (the
// generative-model family in shaders/generative/). A row names the file's source (imported as text: esbuild's
// text loader in the bundle, a small plugin in vitest) and what the engine prepends to it, since WGSL has no
// include:
//   libs        shared functions (shaders/philox_lib.wgsl, shaders/math_lib.wgsl);
//   codes       generated constants of op-code tables (engine/op_codes.ts), e.g. `const UNARY_EXP: u32 = 1u;`;
//   and, found by file name, the declarations of the kernel's family (shaders/<prefix>_lib.wgsl: params,
//   bindings and helpers shared by shaders/<prefix>_*.wgsl).
// Ops import their kernels from here (KERNELS.unary, KERNELS.iaf_posterior, ...); test/engine/limits.test.ts
// checks that every .wgsl file is registered and that ENGINE_LIMITS covers what each needs.
import { opCodesWgsl, type OpCodeTable } from './op_codes.js';
import philoxLib from '../shaders/philox_lib.wgsl';
import mathLib from '../shaders/math_lib.wgsl';
import f32OperandsLib from '../shaders/f32_operands_lib.wgsl';
import f16OperandsLib from '../shaders/f16_operands_lib.wgsl';
import matmulLib from '../shaders/matmul_lib.wgsl';
import weightNormLib from '../shaders/weight_norm_lib.wgsl';
import iafPosteriorLib from '../shaders/generative/iaf_posterior_lib.wgsl';
// core
import accumulate from '../shaders/accumulate.wgsl';
import adamax from '../shaders/adamax.wgsl';
import binary from '../shaders/binary.wgsl';
import binaryBackward from '../shaders/binary_backward.wgsl';
import conv2dDirect from '../shaders/conv2d_direct.wgsl';
import conv2dNaiveDgrad from '../shaders/conv2d_naive_dgrad.wgsl';
import conv2dNaiveFwd from '../shaders/conv2d_naive_fwd.wgsl';
import conv2dNaiveWgrad from '../shaders/conv2d_naive_wgrad.wgsl';
import conv2dTiled from '../shaders/conv2d_tiled.wgsl';
import conv2dWgradKpar from '../shaders/conv2d_wgrad_kpar.wgsl';
import ddiUpdate from '../shaders/ddi_update.wgsl';
import dropout from '../shaders/dropout.wgsl';
import ema from '../shaders/ema.wgsl';
import fill from '../shaders/fill.wgsl';
import gradStats from '../shaders/grad_stats.wgsl';
import matmulNaive from '../shaders/matmul_naive.wgsl';
import matmulTiled from '../shaders/matmul_tiled.wgsl';
import matmulTiledShared from '../shaders/matmul_tiled_shared.wgsl';
import matmulSubgroup from '../shaders/matmul_subgroup.wgsl';
import nonfiniteCheck from '../shaders/nonfinite_check.wgsl';
import philox from '../shaders/philox.wgsl';
import reduce from '../shaders/reduce.wgsl';
import reduceBackward from '../shaders/reduce_backward.wgsl';
import reduceSubgroup from '../shaders/reduce_subgroup.wgsl';
import scaleInPlace from '../shaders/scale_in_place.wgsl';
import stridedCopy from '../shaders/strided_copy.wgsl';
import unary from '../shaders/unary.wgsl';
import unaryBackward from '../shaders/unary_backward.wgsl';
import weightGradFinish from '../shaders/weight_grad_finish.wgsl';
import weightNorm from '../shaders/weight_norm.wgsl';
import weightNormBackward from '../shaders/weight_norm_backward.wgsl';
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
 * Shared WGSL function libraries a row may list. f32_operands / f16_operands: how the register-blocked matmul and
 * conv kernels hold their operands (the mixed-precision variants are the same files with f16_operands).
 */
export const WGSL_LIBS = { philox: philoxLib, math: mathLib, f32_operands: f32OperandsLib, f16_operands: f16OperandsLib } as const;
export type WgslLib = keyof typeof WGSL_LIBS;

/** Family declarations (they declare bindings, so they go only before their own family's files). */
export const DECLARATION_LIBS = { matmul: matmulLib, weight_norm: weightNormLib, iaf_posterior: iafPosteriorLib } as const;

/** The declaration lib of a kernel file ('' when its family has none): shaders/<prefix>_lib.wgsl for <prefix>(_*).wgsl. */
export function declarationLib(file: string): string {
  const base = file.slice(file.lastIndexOf('/') + 1);
  const prefix = (Object.keys(DECLARATION_LIBS) as (keyof typeof DECLARATION_LIBS)[]).find((p) => (base === `${p}.wgsl` || base.startsWith(`${p}_`)) && base !== `${p}_lib.wgsl`);
  return prefix ? DECLARATION_LIBS[prefix] : '';
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
  fill: { code: fill },
  accumulate: { code: accumulate },
  scale_in_place: { code: scaleInPlace },
  ddi_update: { code: ddiUpdate },
  unary: { code: unary, libs: ['math'], codes: ['unary'] },
  unary_backward: { code: unaryBackward, libs: ['math'], codes: ['unary'] },
  binary: { code: binary, codes: ['binary'] },
  binary_backward: { code: binaryBackward, codes: ['binary'] },
  reduce: { code: reduce, codes: ['reduce'] },
  reduce_backward: { code: reduceBackward, codes: ['reduce'] },
  reduce_subgroup: { code: reduceSubgroup, codes: ['reduce'], features: ['subgroups'] },
  strided_copy: { code: stridedCopy },
  philox: { code: philox, libs: ['philox'] },
  dropout: { code: dropout, libs: ['philox'] },
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
  weight_grad_finish: { code: weightGradFinish },
  weight_norm: { code: weightNorm },
  weight_norm_backward: { code: weightNormBackward },
  adamax: { code: adamax },
  ema: { code: ema },
  grad_stats: { code: gradStats },
  nonfinite_check: { code: nonfiniteCheck },
});

const GENERATIVE = register('generative', {
  concat_elu: { code: concatElu, libs: ['philox', 'math'] },
  concat_elu_backward: { code: concatEluBackward, libs: ['philox'] },
  gate: { code: gate, libs: ['math'] },
  gate_backward: { code: gateBackward, libs: ['math'] },
  logistic: { code: logistic, libs: ['math'] },
  logistic_backward: { code: logisticBackward, libs: ['math'] },
  aux_pixels: { code: auxPixels },
  gaussian3: { code: gaussian3, codes: ['gaussian3'] },
  gaussian3_backward: { code: gaussian3Backward, codes: ['gaussian3'] },
  gaussian_kl: { code: gaussianKl },
  gaussian_kl_backward: { code: gaussianKlBackward, libs: ['math'] },
  free_bits_stats: { code: freeBitsStats },
  free_bits: { code: freeBits },
  free_bits_backward: { code: freeBitsBackward },
  iaf: { code: iaf },
  iaf_backward: { code: iafBackward },
  iaf_posterior: { code: iafPosterior },
  iaf_posterior_backward: { code: iafPosteriorBackward },
  iaf_kl: { code: iafKl },
  iaf_kl_backward: { code: iafKlBackward },
  dmol_loss: { code: dmolLoss, libs: ['math'] },
  dmol_grad_scale: { code: dmolGradScale },
  dmol_sample: { code: dmolSample, libs: ['philox', 'math'] },
});

/** Every kernel of the engine by name. */
export const KERNELS = { ...CORE, ...GENERATIVE } as const;
export type KernelName = keyof typeof KERNELS;

/** Kernel sources by shader file name (matmul and conv variants name their kernel by file); a file compiled by several rows maps to the row of its own name. */
export const KERNELS_BY_FILE: Readonly<Record<string, RegisteredKernel>> = Object.fromEntries(Object.values(KERNELS).filter((s) => s.file.endsWith(`${s.name}.wgsl`)).map((s) => [s.file, s]));
