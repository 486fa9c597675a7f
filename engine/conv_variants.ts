// Convolution kernel variants. ops/conv.ts takes the tuner's choice (engine/tuning/tuner.ts); without tuning the
// first in the static order (engine/tuning/static.ts CONV_ORDER) whose requirements the geometry meets and that
// prefers it; or one forced by name. Every variant implements the same tap-list geometry (see ops/conv.ts).
import { KERNELS } from './kernels.js';
import { KPAR_MAX_TILE, WGRAD_MIN_CHUNK, WGRAD_TARGET_WORKGROUPS } from './tuning/static.js';
import type { KernelSource } from './kernels.js';

export type ConvKernelKind = 'fwd' | 'dgrad' | 'wgrad';

/** x [B,H,W,Cin] -> y [B,Ho,Wo,Cout] with T taps, stride and top/left padding. */
export interface ConvProblem {
  B: number; H: number; W: number; Cin: number;
  Ho: number; Wo: number; Cout: number; T: number;
  stride: number; padTop: number; padLeft: number;
}

export interface ConvVariant {
  name: string;
  kind: ConvKernelKind;
  kernel: KernelSource;
  /** Override constants selecting this variant's specialisation of the kernel for a geometry. */
  overrides?(p: ConvProblem): Record<string, number>;
  supports(p: ConvProblem): boolean;
  /** Automatic choice only (default true): whether this variant should be taken for a geometry it supports. */
  prefer?(p: ConvProblem): boolean;
  /** Workgroup counts (or a 1-D total, folded by the runner). */
  dispatch(p: ConvProblem): number | [number, number, number];
  /** Weight gradient only: number of K chunks (partial sums [splits, T, Cin, Cout] summed by the caller). */
  splitK?(p: ConvProblem): number;
  /** Adapter features the kernel needs. */
  requires?: { subgroups?: boolean; shaderF16?: boolean };
  /** 'f16': operands held in f16, f32 accumulation (mixed precision only). Default 'f32'. */
  precision?: 'f32' | 'f16';
}

/** Output pixels per K chunk of a split weight gradient: at least WGRAD_MIN_CHUNK, and about WGRAD_TARGET_WORKGROUPS workgroups in all. */
export function wgradChunk(p: ConvProblem, tiles: number): number {
  const K = p.B * p.Ho * p.Wo;
  const splits = Math.max(1, Math.min(Math.ceil(WGRAD_TARGET_WORKGROUPS / tiles), Math.floor(K / WGRAD_MIN_CHUNK)));
  return Math.ceil(K / splits);
}

const cdiv = (a: number, b: number): number => Math.ceil(a / b);

/**
 * GEMM sizes (M, N) of each kind (wgrad: per tap, one tap per workgroup z in the direct kernel; dgrad: the
 * direct kernel's stride-phase-sorted rows, padded to stride x stride grids of ceil(H/s) x ceil(W/s)).
 */
function gemmMN(kind: ConvKernelKind, p: ConvProblem): [number, number] {
  if (kind === 'fwd') return [p.B * p.Ho * p.Wo, p.Cout];
  if (kind === 'dgrad') return [p.B * p.stride * p.stride * Math.ceil(p.H / p.stride) * Math.ceil(p.W / p.stride), p.Cin];
  return [p.Cin, p.Cout];
}

const tiled = (kind: ConvKernelKind, mode: number): ConvVariant => ({
  name: 'tiled64',
  kind,
  kernel: KERNELS.conv2d_tiled,
  overrides: (p) => ({ MODE: mode, STRIDE: p.stride }),
  supports: () => true,
  dispatch: (p) => {
    const [M, N] = gemmMN(kind, p);
    // This kernel's weight-gradient GEMM spans all taps: M = T * Cin.
    return [cdiv(N, 64), cdiv(kind === 'wgrad' ? p.T * M : M, 64), 1];
  },
});

/**
 * Register-blocked direct kernel with a (8 wgy) x (8 wgx) tile; narrow tiles serve layers with few output
 * columns (GEMM N), where a 64-wide tile would mostly compute discarded columns.
 */
const direct = (kind: ConvKernelKind, mode: number, wgx: number, wgy: number, maxN: number, f16 = false): ConvVariant => {
  const tiles = (p: ConvProblem): number => {
    const [M, N] = gemmMN(kind, p);
    return cdiv(N, 8 * wgx) * cdiv(M, 8 * wgy) * p.T;
  };
  const v: ConvVariant = {
    name: `direct${8 * wgx}${f16 ? '_f16' : ''}`,
    kind,
    kernel: f16 ? KERNELS.conv2d_direct_f16 : KERNELS.conv2d_direct,
    ...(f16 ? { requires: { shaderF16: true }, precision: 'f16' as const } : {}),
    overrides: (p) => ({ MODE: mode, STRIDE: p.stride, WGX: wgx, WGY: wgy }),
    supports: (p) => gemmMN(kind, p)[1] <= maxN,
    dispatch: (p) => {
      const [M, N] = gemmMN(kind, p);
      const z = kind === 'wgrad' ? p.T * v.splitK!(p) : 1;
      return [cdiv(N, 8 * wgx), cdiv(M, 8 * wgy), z];
    },
  };
  if (kind === 'wgrad') v.splitK = (p) => Math.ceil((p.B * p.Ho * p.Wo) / wgradChunk(p, tiles(p)));
  return v;
};

/**
 * Weight gradient for layers with few channels: one 8x8 (ci, co) block per workgroup, its 64 invocations
 * splitting the K chunk's output pixels (contiguous sub-chunks: a little faster on lavapipe; CONTIG false,
 * interleaved pixels, coalesces better on GPUs), partial blocks summed in workgroup memory. K chunks of at
 * least minChunk pixels (16 per invocation), about `wgs` workgroups in all. Chosen automatically when
 * Cin * Cout < maxTile (a 64x64 tile not full): on lavapipe 3-8x faster than direct32/64 for Cin, Cout <= 48;
 * at 64x64, 160x160 and 320x160 within noise of direct64, which reads x and dy once per
 * 64x64 tile instead of once per 8x8 block (8x less traffic), so direct64 keeps the big layers.
 */
const kparWgrad = (name = 'kpar8', opts: { contig?: boolean; scalar?: boolean; minChunk?: number; wgs?: number; maxTile?: number } = {}): ConvVariant => {
  const minChunk = opts.minChunk ?? 1024;
  const wgs = opts.wgs ?? 64;
  const maxTile = opts.maxTile ?? KPAR_MAX_TILE;
  const contig = opts.contig ?? true;
  const blocks = (p: ConvProblem): number => cdiv(p.Cin, 8) * cdiv(p.Cout, 8) * p.T;
  const v: ConvVariant = {
    name,
    kind: 'wgrad',
    kernel: KERNELS.conv2d_wgrad_kpar,
    overrides: (p) => ({ STRIDE: p.stride, CONTIG: contig ? 1 : 0, VEC4: !opts.scalar && p.Cin % 4 === 0 && p.Cout % 4 === 0 ? 1 : 0 }),
    supports: () => true,
    prefer: (p) => p.Cin * p.Cout < maxTile,
    splitK: (p) => {
      const K = p.B * p.Ho * p.Wo;
      const splits = Math.max(1, Math.min(cdiv(wgs, blocks(p)), Math.floor(K / minChunk)));
      return cdiv(K, cdiv(K, splits));
    },
    dispatch: (p) => [cdiv(p.Cout, 8), cdiv(p.Cin, 8), p.T * v.splitK!(p)],
  };
  return v;
};

// The weight gradient's rows are input channels (usually >= 32), so it skips the 256-row tile. With f16, the
// mixed-precision variants (operands held in f16; conv2d_direct_f16).
const directAll = (kind: ConvKernelKind, mode: number, f16 = false): ConvVariant[] => [
  ...(kind === 'wgrad' ? [] : [direct(kind, mode, 2, 32, 16, f16)]),
  direct(kind, mode, 4, 16, 32, f16),
  direct(kind, mode, 8, 8, Infinity, f16),
];

export const CONV_VARIANTS: readonly ConvVariant[] = [
  ...directAll('fwd', 0),
  ...directAll('dgrad', 1),
  kparWgrad(),
  ...directAll('wgrad', 2),
  tiled('fwd', 0),
  tiled('dgrad', 1),
  tiled('wgrad', 2),
  { name: 'naive', kind: 'fwd', kernel: KERNELS.conv2d_naive_fwd, supports: () => true, dispatch: (p) => cdiv(p.B * p.Ho * p.Wo * p.Cout, 256) },
  { name: 'naive', kind: 'dgrad', kernel: KERNELS.conv2d_naive_dgrad, supports: () => true, dispatch: (p) => cdiv(p.B * p.H * p.W * p.Cin, 256) },
  { name: 'naive', kind: 'wgrad', kernel: KERNELS.conv2d_naive_wgrad, supports: () => true, dispatch: (p) => cdiv(p.T * p.Cin * p.Cout, 256) },
  ...directAll('fwd', 0, true),
  ...directAll('dgrad', 1, true),
  ...directAll('wgrad', 2, true),
];
