// Matmul kernel variants (shaders/matmul_*.wgsl). All share the binding interface:
// params (uniform), a, b, bias, addend (read storage), c (read_write storage); overrides TRANS_A, TRANS_B,
// HAS_BIAS, HAS_ADDEND, plus a variant's own (its workgroup shape).
// engine/ops/matmul.ts takes the variant the tuner chooses (engine/tuning/tuner.ts): without tuning, the first in
// the static order (engine/tuning/static.ts MATMUL_ORDER) whose supports() is true; or one forced by name.
import { WGRAD_MIN_CHUNK, WGRAD_TARGET_WORKGROUPS, pow2AtLeast } from './tuning/static.js';

export interface MatmulVariant {
  name: string;
  /** file name relative to shaders/ */
  shader: string;
  /** The registered kernel's name when it is not the file's (a mixed-precision variant of another kernel's file). */
  kernel?: string;
  /** Adapter features the kernel needs (subgroups: also a subgroup size of at least 8). */
  requires?: { subgroups?: boolean; shaderF16?: boolean };
  /** 'f16': operands held in f16, f32 accumulation (mixed precision only). Default 'f32'. */
  precision?: 'f32' | 'f16';
  /** The largest workgroup the variant uses. */
  workgroupSize: readonly [number, number, number];
  /** Outputs per workgroup, rows (M) x cols (N), for wide problems (see tile() for the one a problem gets). */
  tileM: number;
  tileN: number;
  /** The tile of C one workgroup computes for an M x N output, and the override constants that select it. */
  tile(M: number, N: number): MatmulTile;
  supports(M: number, N: number, K: number, transA: boolean, transB: boolean): boolean;
  /** workgroup counts: x over N, y over M, z = batch (<= 65535) */
  dispatch(M: number, N: number, batch: number): [number, number, number];
}

export interface MatmulTile {
  m: number;
  n: number;
  overrides: Record<string, number>;
}

const cdiv = (x: number, y: number): number => Math.ceil(x / y);

function fixed(name: string, shader: string, wgX: number, wgY: number, tileM: number, tileN: number): MatmulVariant {
  const tile = { m: tileM, n: tileN, overrides: {} };
  return {
    name,
    shader,
    workgroupSize: [wgX, wgY, 1],
    tileM,
    tileN,
    tile: () => tile,
    supports: (M, N, K) => M >= 1 && N >= 1 && K >= 1,
    dispatch: (M, N, batch) => [cdiv(N, tileN), cdiv(M, tileM), batch],
  };
}

/**
 * The register-blocked kernel's workgroup for an M x N output: 8x8 outputs per invocation, at most 64
 * invocations; as many columns as N needs (8, 16, 32 or 64) and the rest of the 64 invocations on rows, fewer
 * when M is small. 64x64 for wide outputs; 256x16 for a nin layer's 16 output channels; 32x16 (8 invocations)
 * for the 32x16 weight gradient of that layer.
 */
export function tiledTile(M: number, N: number): MatmulTile {
  const wgx = Math.min(8, pow2AtLeast(cdiv(N, 8)));
  const wgy = Math.min(64 / wgx, pow2AtLeast(cdiv(M, 8)));
  return { m: 8 * wgy, n: 8 * wgx, overrides: { WGX: wgx, WGY: wgy } };
}

/**
 * K chunks of a weight gradient dW = x^T g over `rows` rows whose output (outRows x outCols) the given tile
 * covers: chunks of equal length (a power of two dividing rows), at least WGRAD_MIN_CHUNK rows each, about
 * WGRAD_TARGET_WORKGROUPS workgroups in all (engine/tuning/static.ts; engine/ops/matmul.ts sums the chunks'
 * partial products with the bias gradient in one more dispatch).
 */
export function weightGradSplits(rows: number, tile: MatmulTile, outRows: number, outCols: number): number {
  const tiles = Math.ceil(outRows / tile.m) * Math.ceil(outCols / tile.n);
  let splits = 1;
  while (rows % (2 * splits) === 0 && rows / (2 * splits) >= WGRAD_MIN_CHUNK && 2 * splits * tiles <= WGRAD_TARGET_WORKGROUPS && 2 * splits <= 65535) splits *= 2;
  return splits;
}

/** Register-blocked, no shared memory: 8x8 outputs/thread, up to 64 threads; 64x64 tile (narrower for thin C). Fastest on lavapipe. */
export const MATMUL_TILED: MatmulVariant = {
  name: 'tiled',
  shader: 'matmul_tiled.wgsl',
  workgroupSize: [8, 8, 1],
  tileM: 64,
  tileN: 64,
  tile: tiledTile,
  supports: (M, N, K) => M >= 1 && N >= 1 && K >= 1,
  dispatch: (M, N, batch) => {
    const t = tiledTile(M, N);
    return [cdiv(N, t.n), cdiv(M, t.m), batch];
  },
};
/** Shared-memory tiled: 8x8 outputs/thread, 128 threads, 64x128 tile, K-tile 16. The design for real GPUs. */
export const MATMUL_TILED_SHARED: MatmulVariant = fixed('tiled_shared', 'matmul_tiled_shared.wgsl', 16, 8, 64, 128);
/** One output per invocation; baseline / fallback. */
export const MATMUL_NAIVE: MatmulVariant = fixed('naive', 'matmul_naive.wgsl', 16, 16, 16, 16);
/** The register-blocked kernel with its operands held in f16, f32 accumulation (mixed precision; shader-f16). */
export const MATMUL_TILED_F16: MatmulVariant = { ...MATMUL_TILED, name: 'tiled_f16', kernel: 'matmul_tiled_f16', requires: { shaderF16: true }, precision: 'f16' };
/** The register-blocked 64x64 tile with A shared through subgroup shuffles (subgroups of >= 8 lanes). */
export const MATMUL_SUBGROUP: MatmulVariant = { ...fixed('subgroup', 'matmul_subgroup.wgsl', 8, 8, 64, 64), requires: { subgroups: true } };

/** Every matmul variant; the static order (fastest first on lavapipe) is MATMUL_ORDER, the rest join the tuner's race. */
export const MATMUL_VARIANTS: readonly MatmulVariant[] = [MATMUL_TILED, MATMUL_TILED_SHARED, MATMUL_NAIVE, MATMUL_SUBGROUP, MATMUL_TILED_F16];

/**
 * Where a subgroup-matrix (tensor-core / simdgroup-matrix) matmul would go: a variant here joins the race only on
 * an adapter reporting `subgroupMatrixConfigs` (TuneCapabilities; Dawn's chromium-experimental-subgroup-matrix,
 * behind the allow_unsafe_apis toggle). None is written: no adapter available to this project reports any.
 */
export const SUBGROUP_MATRIX_VARIANTS: readonly MatmulVariant[] = [];
