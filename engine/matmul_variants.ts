// Matmul kernel variants (shaders/matmul_*.wgsl). All share the binding interface:
// params (uniform), a, b, bias, addend (read storage), c (read_write storage); overrides TRANS_A, TRANS_B,
// HAS_BIAS, HAS_ADDEND, plus a variant's own (its workgroup shape).
// engine/ops/matmul.ts picks the first variant in MATMUL_VARIANTS whose supports() is true (or one by name).
export interface MatmulVariant {
  name: string;
  /** file name relative to shaders/ */
  shader: string;
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
const pow2AtLeast = (x: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, x)));

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
 * covers: chunks of equal length (a power of two dividing rows), at least 128 rows each, about 64 workgroups in
 * all (engine/ops/matmul.ts sums the chunks' partial products with the bias gradient in one more dispatch).
 */
export function weightGradSplits(rows: number, tile: MatmulTile, outRows: number, outCols: number): number {
  const tiles = Math.ceil(outRows / tile.m) * Math.ceil(outCols / tile.n);
  let splits = 1;
  while (rows % (2 * splits) === 0 && rows / (2 * splits) >= 128 && 2 * splits * tiles <= 64 && 2 * splits <= 65535) splits *= 2;
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

/** Ordered fastest-first as measured on lavapipe (CPU Vulkan); naive last. */
export const MATMUL_VARIANTS: readonly MatmulVariant[] = [MATMUL_TILED, MATMUL_TILED_SHARED, MATMUL_NAIVE];
