// Matmul kernel variants (shaders/matmul_*.wgsl). All share the binding interface:
// params (uniform), a, b, bias (read storage), c (read_write storage); override TRANS_A, TRANS_B, HAS_BIAS.
// engine/ops/matmul.ts picks the first variant in MATMUL_VARIANTS whose supports() is true (or one by name).
export interface MatmulVariant {
  name: string;
  /** file name relative to shaders/ */
  shader: string;
  workgroupSize: readonly [number, number, number];
  /** outputs per workgroup: rows (M) x cols (N) */
  tileM: number;
  tileN: number;
  supports(M: number, N: number, K: number, transA: boolean, transB: boolean): boolean;
  /** workgroup counts: x over N, y over M, z = batch (<= 65535) */
  dispatch(M: number, N: number, batch: number): [number, number, number];
}

const cdiv = (x: number, y: number): number => Math.ceil(x / y);

function tiled(name: string, shader: string, wgX: number, wgY: number, tileM: number, tileN: number): MatmulVariant {
  return {
    name,
    shader,
    workgroupSize: [wgX, wgY, 1],
    tileM,
    tileN,
    supports: (M, N, K) => M >= 1 && N >= 1 && K >= 1,
    dispatch: (M, N, batch) => [cdiv(N, tileN), cdiv(M, tileM), batch],
  };
}

/** Register-blocked, no shared memory: 8x8 outputs/thread, 64 threads, 64x64 tile. Fastest on lavapipe. */
export const MATMUL_TILED: MatmulVariant = tiled('tiled', 'matmul_tiled.wgsl', 8, 8, 64, 64);
/** Shared-memory tiled: 8x8 outputs/thread, 128 threads, 64x128 tile, K-tile 16. The design for real GPUs. */
export const MATMUL_TILED_SHARED: MatmulVariant = tiled('tiled_shared', 'matmul_tiled_shared.wgsl', 16, 8, 64, 128);
/** One output per invocation; baseline / fallback. */
export const MATMUL_NAIVE: MatmulVariant = tiled('naive', 'matmul_naive.wgsl', 16, 16, 16, 16);

/** Ordered fastest-first as measured on lavapipe (CPU Vulkan); naive last. */
export const MATMUL_VARIANTS: readonly MatmulVariant[] = [MATMUL_TILED, MATMUL_TILED_SHARED, MATMUL_NAIVE];
/** Suggested order on discrete/integrated GPUs (not measured here: no GPU available). */
export const MATMUL_VARIANTS_GPU: readonly MatmulVariant[] = [MATMUL_TILED_SHARED, MATMUL_TILED, MATMUL_NAIVE];
