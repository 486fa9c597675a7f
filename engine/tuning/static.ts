// The engine's device knobs in one place, as data: the static choices every op makes when nothing was tuned
// (`tune: 'off'`, or a problem bucket the tuner has not measured yet). They were measured on one device, Mesa
// lavapipe on 2 CPU cores (docs/ENGINE.md §1, §5); on any other device the tuner (engine/tuning/tuner.ts) races
// the alternatives the adapter supports and keeps a winner per problem bucket. Ops read these values; they do
// not keep copies of their own.

/** Today's order of the matmul variants (engine/matmul_variants.ts): the first that supports a problem is taken. */
export const MATMUL_ORDER: readonly string[] = ['tiled', 'tiled_shared', 'naive'];
/** With mixed precision: the f16-operand register-tiled kernel first (the f32 ones remain where it cannot run). */
export const MATMUL_ORDER_MIXED: readonly string[] = ['tiled_f16', ...MATMUL_ORDER];

/**
 * Today's order of the convolution variants per kernel kind (engine/conv_variants.ts): the first that supports
 * the geometry and prefers it. The register-blocked `direct` kernels with a tile as narrow as the GEMM's N
 * first; `kpar8` for weight gradients of few channels (see KPAR_MAX_TILE).
 */
export const CONV_ORDER = {
  fwd: ['direct16', 'direct32', 'direct64', 'tiled64', 'naive'],
  dgrad: ['direct16', 'direct32', 'direct64', 'tiled64', 'naive'],
  wgrad: ['kpar8', 'direct32', 'direct64', 'tiled64', 'naive'],
} as const satisfies Record<'fwd' | 'dgrad' | 'wgrad', readonly string[]>;

/** With mixed precision: the f16-operand direct kernels first where the kind has them. */
export const CONV_ORDER_MIXED = {
  fwd: ['direct16_f16', 'direct32_f16', 'direct64_f16', ...CONV_ORDER.fwd],
  dgrad: ['direct16_f16', 'direct32_f16', 'direct64_f16', ...CONV_ORDER.dgrad],
  wgrad: ['kpar8', 'direct32_f16', 'direct64_f16', ...CONV_ORDER.wgrad],
} as const satisfies Record<'fwd' | 'dgrad' | 'wgrad', readonly string[]>;

/** kpar8 takes a weight gradient when Cin * Cout is below one 64x64 tile (3-8x faster than direct there, on lavapipe). */
export const KPAR_MAX_TILE = 64 * 64;

/**
 * Elements per invocation of the same-shape elementwise kernels (unary, binary; shaders/unary.wgsl GROUP): 4, because
 * on lavapipe an invocation's fixed cost dominates (about 3x faster than 1). The tuner tries GROUP_CANDIDATES.
 */
export const ELEMENTWISE_GROUP = 4;
export const GROUP_CANDIDATES: readonly number[] = [1, 2, 4, 8];

/**
 * Reductions: one invocation per output with a serial loop (`per_thread`) when the reduced extent is at most
 * PER_THREAD_MAX_REDUCED and there are at least PER_THREAD_MIN_OUTPUTS outputs (enough invocations to fill the
 * device); otherwise one 64-wide workgroup per output (`workgroup`).
 */
export const REDUCE_PER_THREAD_MAX_REDUCED = 256;
export const REDUCE_PER_THREAD_MIN_OUTPUTS = 256;

/**
 * A weight gradient dW = x^T g over many rows is split into K chunks (partial sums added in one finishing pass)
 * so a small weight still fills the device: chunks of at least WGRAD_MIN_CHUNK rows, about WGRAD_TARGET_WORKGROUPS
 * workgroups in all. The same rule for a conv's split weight gradient (engine/conv_variants.ts wgradChunk).
 */
export const WGRAD_MIN_CHUNK = 128;
export const WGRAD_TARGET_WORKGROUPS = 64;

/**
 * The smallest power of two >= x (1 for x <= 1): how the ops' problem buckets round the sizes a cost grows smoothly
 * with, and how the tiled matmul sizes its workgroup (matmul_variants.ts tiledTile).
 */
export const pow2AtLeast = (x: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, x)));
