// Batched matmul C = op(A) @ op(B) with op = identity or transpose (read transposed in the kernel, never
// materialised), so the backward is two more matmuls: dA = g @ op(B)^T, dB = op(A)^T @ g.
// Kernel variants (register-tiled, vec4, naive) live in engine/matmul_variants.ts; the fastest one whose
// requirements the shapes meet is used. A weight shared by all rows (a dense / nin layer) gets its gradient
// split along the rows when it alone would give few workgroups, its bias gradient in the same finishing pass.
import { KERNELS, KERNELS_BY_FILE, type RegisteredKernel } from '../kernels.js';
import { MATMUL_VARIANTS, SUBGROUP_MATRIX_VARIANTS, weightGradSplits, type MatmulVariant } from '../matmul_variants.js';
import { MATMUL_ORDER, MATMUL_ORDER_MIXED, pow2AtLeast } from '../tuning/static.js';
import type { TunableOp, TuneCapabilities } from '../tuning/tuner.js';
import { type Tensor, fmtShape, shapeSize } from '../tensor.js';
import { broadcastShapes } from './elementwise.js';
import { sum, sumInto, sumTo } from './reduce.js';
import { finishWeightGrad } from './weight_grad.js';
import type { GradSink } from '../tape.js';
import { broadcastTo, reshape } from './shape.js';

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  /** [N], added to every row of the result in the kernel's epilogue (2-D operands only). */
  bias?: Tensor;
  /** [M, N], added to the result in the kernel's epilogue (a residual sum; 2-D operands only). */
  addend?: Tensor;
  /** Force a kernel variant by name for the forward and both gradients (benchmarks, tests). */
  variant?: string;
}

const ALL_VARIANTS: readonly MatmulVariant[] = [...MATMUL_VARIANTS, ...SUBGROUP_MATRIX_VARIANTS];

/** Whether the adapter can run a variant (and, for f16 ones, mixed precision asks for them). */
export function matmulVariantUsable(v: MatmulVariant, caps: TuneCapabilities): boolean {
  if (v.requires?.subgroups && !(caps.features.subgroups && caps.subgroupMinSize >= 8)) return false;
  if (v.requires?.shaderF16 && !caps.features.shaderF16) return false;
  return (v.precision ?? 'f32') === 'f32' || caps.mixedPrecision;
}

/** One matmul kernel call as the tuner sees it. */
export interface MatmulProblem {
  M: number;
  N: number;
  K: number;
  batch: number;
  transA: boolean;
  transB: boolean;
  aBatched: boolean;
  bBatched: boolean;
  bias: boolean;
  addend: boolean;
}

/**
 * The matmul variant race. Bucket: M and K rounded up to a power of two (a variant's cost grows smoothly with the
 * rows and the inner length, so problems within a factor of two rank the variants alike), N exact up to 64 and
 * a power of two above (thin outputs decide the tile's shape), the batch rounded likewise, the transposes and
 * the epilogue exact (they change the kernel's code path).
 */
export const MATMUL_TUNABLE: TunableOp<MatmulProblem> = {
  name: 'matmul',
  bucket: (p) => `${p.transA ? 'T' : 'N'}${p.transB ? 'T' : 'N'} M${pow2AtLeast(p.M)} N${p.N <= 64 ? p.N : pow2AtLeast(p.N)} K${pow2AtLeast(p.K)} b${pow2AtLeast(p.batch)}${p.aBatched ? 'a' : ''}${p.bBatched ? 'b' : ''}${p.bias ? '+bias' : ''}${p.addend ? '+addend' : ''}`,
  staticChoice: (p, caps) => {
    const order = caps.mixedPrecision ? MATMUL_ORDER_MIXED : MATMUL_ORDER;
    const name = order.find((n) => {
      const v = ALL_VARIANTS.find((x) => x.name === n);
      return v !== undefined && matmulVariantUsable(v, caps) && v.supports(p.M, p.N, p.K, p.transA, p.transB);
    });
    if (!name) throw new Error(`matmul: no kernel variant supports M=${p.M} N=${p.N} K=${p.K}`);
    return name;
  },
  candidates: (p, caps) => ALL_VARIANTS.filter((v) => matmulVariantUsable(v, caps) && v.supports(p.M, p.N, p.K, p.transA, p.transB)).map((v) => v.name),
  harness: (p, e) => {
    const a = e.uniform([(p.aBatched ? p.batch : 1) * p.M * p.K], -1, 1, { seed: 17 });
    const b = e.uniform([(p.bBatched ? p.batch : 1) * p.K * p.N], -1, 1, { seed: 18 });
    const bias = p.bias ? e.uniform([p.N], -1, 1, { seed: 19 }) : undefined;
    const addend = p.addend ? e.uniform([p.M * p.N], -1, 1, { seed: 20 }) : undefined;
    return {
      run: (c) => matmulKernel({ a, b, M: p.M, N: p.N, K: p.K, batch: p.batch, aStride: p.aBatched ? p.M * p.K : 0, bStride: p.bBatched ? p.K * p.N : 0, transA: p.transA, transB: p.transB, variant: c, bias, addend }),
      dispose: () => {
        for (const t of [a, b, bias, addend]) t?.dispose();
      },
    };
  },
  // f32 kernels differ only in summation order; an f16-operand kernel (the candidate or, with mixed precision,
  // the static choice it is compared with) rounds each operand to 11 bits.
  tolerance: (c, p, caps) => ([c, MATMUL_TUNABLE.staticChoice(p, caps)].some((n) => ALL_VARIANTS.find((v) => v.name === n)?.precision === 'f16') ? 1e-2 : 1e-4),
  describe: (p) => `${p.batch > 1 ? `${p.batch}x ` : ''}[${p.M}x${p.K}]${p.transA ? 'T' : ''} @ [${p.K}x${p.N}]${p.transB ? 'T' : ''}${p.bias ? ' +bias' : ''}${p.addend ? ' +addend' : ''}`,
};

/** The variant named (forced), else the tuner's choice for the problem (the static order without tuning). */
export function pickVariant(M: number, N: number, K: number, transA: boolean, transB: boolean, name?: string, problem?: { engine: Tensor['engine']; p: MatmulProblem }): MatmulVariant {
  if (name) {
    const v = ALL_VARIANTS.find((x) => x.name === name);
    if (!v) throw new Error(`matmul: unknown variant '${name}' (have ${ALL_VARIANTS.map((x) => x.name).join(', ')})`);
    if (!v.supports(M, N, K, transA, transB)) throw new Error(`matmul: variant '${name}' does not support M=${M} N=${N} K=${K} transA=${transA} transB=${transB}`);
    return v;
  }
  if (problem) return ALL_VARIANTS.find((x) => x.name === problem.engine.tuner.choose(MATMUL_TUNABLE, problem.p))!;
  const v = ALL_VARIANTS.find((x) => MATMUL_ORDER.includes(x.name) && x.supports(M, N, K, transA, transB));
  if (!v) throw new Error(`matmul: no kernel variant supports M=${M} N=${N} K=${K}`);
  return v;
}

/** One kernel call: C[z] = op(A[z]) @ op(B[z]) for z < batch, operand z at z * stride (0 = broadcast). */
interface KernelCall {
  a: Tensor;
  b: Tensor;
  M: number;
  N: number;
  K: number;
  batch: number;
  aStride: number;
  bStride: number;
  transA: boolean;
  transB: boolean;
  variant?: string | undefined;
  /** Write into this tensor (batch * M * N elements) instead of a new one. */
  into?: Tensor | undefined;
  bias?: Tensor | undefined;
  addend?: Tensor | undefined;
}

/** Dispatch one batched matmul; returns C [batch, M, N]. */
function matmulKernel(k: KernelCall): Tensor {
  const { a, b, M, N, K, batch, transA, transB, into, bias, addend } = k;
  const e = a.engine;
  if (into && into.size !== batch * M * N) throw new Error(`matmul: the target ${fmtShape(into.shape)} does not hold [${batch}, ${M}, ${N}]`);
  const c = into ?? e.empty([batch, M, N], 'matmul');
  if (c.size === 0) return c;
  if (K === 0 && into) throw new Error('matmul: K = 0 into a target');
  if (K === 0) {
    c.dispose();
    return e.zeros([batch, M, N]);
  }
  const problem: MatmulProblem = { M, N, K, batch, transA, transB, aBatched: k.aStride > 0, bBatched: k.bStride > 0, bias: bias !== undefined, addend: addend !== undefined };
  const v = pickVariant(M, N, K, transA, transB, k.variant, { engine: e, p: problem });
  const kernel = v.kernel ? (KERNELS as Readonly<Record<string, RegisteredKernel>>)[v.kernel] : KERNELS_BY_FILE[v.shader];
  if (!kernel) throw new Error(`matmul: variant '${v.name}' names shader '${v.shader}', which is not registered in engine/kernels.ts`);
  e.dispatch({
    kernel,
    overrides: { ...v.tile(M, N).overrides, TRANS_A: transA, TRANS_B: transB, HAS_BIAS: bias !== undefined, HAS_ADDEND: addend !== undefined },
    params: { M, N, K, batch, a_batch_stride: k.aStride, b_batch_stride: k.bStride, c_batch_stride: M * N },
    inputs: { a, b, bias: bias ?? b, addend: addend ?? a },
    outputs: { c },
    workgroups: v.dispatch(M, N, batch),
    label: `matmul:${v.name}`,
  });
  return c;
}

/**
 * dW = x^T g for x [rows, cin] and g [rows, cout] (a weight shared by all rows), into `into` when given; the
 * rows are split into chunks (partial sums added by engine/ops/weight_grad.ts) when the weight alone would
 * give few workgroups. With `bias`, db = the sum of g over rows, in the same finishing dispatch when split.
 */
function weightGrad(x: Tensor, g: Tensor, rows: number, cin: number, cout: number, variant: string | undefined, into: Tensor | undefined, bias: { source: Tensor; sink: GradSink | null | undefined } | undefined): { dw: Tensor; db: Tensor | null } {
  const e = x.engine;
  const splits = variant ? weightGradSplits(rows, pickVariant(cin, cout, rows, true, false, variant).tile(cin, cout), cin, cout) : Number(e.tuner.choose(WGRAD_SPLIT_TUNABLE, { rows, cin, cout }).slice(5));
  const call = { a: x, b: g, M: cin, N: cout, transA: true, transB: false, variant };
  if (splits === 1) {
    const dw = matmulKernel({ ...call, K: rows, batch: 1, aStride: 0, bStride: 0, into });
    return { dw, db: bias ? biasGrad(bias.source, bias.sink) : null };
  }
  const chunk = rows / splits;
  const partial = matmulKernel({ ...call, K: chunk, batch: splits, aStride: chunk * cin, bStride: chunk * cout });
  const dw = into ?? e.empty([1, cin, cout], 'matmul.weightGrad');
  const db = finishWeightGrad(partial, splits, dw, bias, 'matmul.weightGrad');
  partial.dispose();
  return { dw, db };
}

/** A weight gradient dW = x^T g of a weight shared by `rows` rows. */
export interface WeightGradProblem {
  rows: number;
  cin: number;
  cout: number;
}

/**
 * How many row chunks a weight gradient is split into ('split1', 'split2', ...; chunks of equal length, at least
 * 16 rows). Bucket: the weight's shape exact (it fixes the tiles per chunk), the rows rounded up to a power of two
 * (how many chunks fill the device grows with them; a winner that does not divide another problem's rows is not
 * used for it).
 */
export const WGRAD_SPLIT_TUNABLE: TunableOp<WeightGradProblem> = {
  name: 'matmul.wgrad_split',
  bucket: (p) => `rows${pow2AtLeast(p.rows)} ${p.cin}x${p.cout}`,
  staticChoice: (p, caps) => {
    const v = ALL_VARIANTS.find((x) => x.name === MATMUL_TUNABLE.staticChoice({ M: p.cin, N: p.cout, K: p.rows, batch: 1, transA: true, transB: false, aBatched: false, bBatched: false, bias: false, addend: false }, caps))!;
    return `split${weightGradSplits(p.rows, v.tile(p.cin, p.cout), p.cin, p.cout)}`;
  },
  candidates: (p, caps) => {
    const out = new Set([WGRAD_SPLIT_TUNABLE.staticChoice(p, caps)]);
    for (let s = 1; s <= 128 && p.rows / s >= 16; s *= 2) if (p.rows % s === 0) out.add(`split${s}`);
    return [...out];
  },
  harness: (p, e) => {
    const x = e.uniform([p.rows, p.cin], -1, 1, { seed: 21 });
    const g = e.uniform([p.rows, p.cout], -1, 1, { seed: 22 });
    return {
      run: () => weightGrad(x, g, p.rows, p.cin, p.cout, undefined, undefined, undefined).dw,
      dispose: () => {
        x.dispose();
        g.dispose();
      },
    };
  },
  tolerance: () => 1e-4,
  describe: (p) => `dW [${p.cin}x${p.cout}] over ${p.rows} rows`,
};

/** The bias gradient (g summed over rows) into its sink when offered. */
function biasGrad(g: Tensor, sink: GradSink | null | undefined): Tensor {
  if (!sink) return sum(g, [0]);
  sumInto(sink.tensor, g, [0], sink.mode === 'accumulate');
  return sink.tensor;
}

/**
 * a: [..., M, K] ([..., K, M] with transA), b: [..., K, N] ([..., N, K] with transB); leading batch dims
 * broadcast numpy-style. Result [..., M, N].
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const e = a.engine;
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  if (a.rank < 2 || b.rank < 2) throw new Error(`matmul: operands need rank >= 2, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  const [ar, ac] = [a.shape[a.rank - 2]!, a.shape[a.rank - 1]!];
  const [br, bc] = [b.shape[b.rank - 2]!, b.shape[b.rank - 1]!];
  const M = transA ? ac : ar;
  const K = transA ? ar : ac;
  const Kb = transB ? bc : br;
  const N = transB ? br : bc;
  if (K !== Kb) {
    throw new Error(`matmul: inner dimensions differ: ${fmtShape(a.shape)}${transA ? '^T' : ''} @ ${fmtShape(b.shape)}${transB ? '^T' : ''} (${K} vs ${Kb})`);
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const batchShape = broadcastShapes(aBatch, bBatch, 'matmul');
  const batch = shapeSize(batchShape);
  const aBatched = shapeSize(aBatch) > 1;
  const bBatched = shapeSize(bBatch) > 1;
  // Mixed broadcasting inside the batch dims (e.g. [2,1] with [1,3]): materialise, then batch normally.
  if ((aBatched && shapeSize(aBatch) !== batch) || (bBatched && shapeSize(bBatch) !== batch)) {
    // The broadcast copies are ordinary recorded ops: backward() frees them; without a tape they go now.
    const a2 = aBatched && shapeSize(aBatch) !== batch ? broadcastTo(a, [...batchShape, ar, ac]) : a;
    const b2 = bBatched && shapeSize(bBatch) !== batch ? broadcastTo(b, [...batchShape, br, bc]) : b;
    const y = matmul(a2, b2, opts);
    for (const t of [a2, b2]) if (t !== a && t !== b && !t.requiresGrad) t.dispose('temporary broadcast copy');
    return y;
  }
  const bias = opts.bias;
  if (bias && (bias.rank !== 1 || bias.shape[0] !== N || batch !== 1)) throw new Error(`matmul: bias ${fmtShape(bias.shape)} needs shape [${N}] and 2-D operands`);
  const addend = opts.addend;
  if (addend && (addend.size !== M * N || batch !== 1)) throw new Error(`matmul: addend ${fmtShape(addend.shape)} needs ${M * N} elements ([${M}, ${N}]) and 2-D operands`);
  if ((bias || addend) && K === 0) throw new Error('matmul: a bias or addend with K = 0 is not supported');
  const variant = opts.variant;
  const aStride = aBatched ? M * K : 0;
  const bStride = bBatched ? K * N : 0;
  const c3 = matmulKernel({ a, b, M, N, K, batch, aStride, bStride, transA, transB, variant, bias, addend });
  const y = e.view(c3, [...batchShape, M, N], 'matmul');
  c3.dispose('reshaped');
  const inputs = [a, b, bias ?? null, addend ?? null].filter((t): t is Tensor => t !== null);
  return e.tape.record('matmul', y, inputs, (g, sinks) => {
    const g3 = e.view(g, [batch, M, N], 'matmul.backward');
    let da: Tensor | null = null;
    let db: Tensor | null = null;
    let dbias: Tensor | null = null;
    const biasWanted = bias?.requiresGrad ?? false;
    if (a.requiresGrad) {
      // dA = g @ op(B)^T (stored A^T when transA: op(B) @ g^T)
      const full = transA
        ? matmulKernel({ a: b, b: g3, M: K, N: M, K: N, batch, aStride: bStride, bStride: M * N, transA: transB, transB: true, variant })
        : matmulKernel({ a: g3, b, M, K: N, N: K, batch, aStride: M * N, bStride, transA: false, transB: !transB, variant });
      da = reduceBatch(full, a, batch);
    }
    if (b.requiresGrad && !bBatched && !transA && !transB) {
      // Weight-style B shared by all rows of A (a dense / nin layer): the batch folds into the rows, one
      // matmul split along them, no reduction; straight into the weight's fresh .grad when it has one
      // (engine/tape.ts sinks), the bias gradient in the same finishing dispatch.
      const rows = batch * M;
      const sink = sinks[1]?.mode === 'write' && rows > 0 ? sinks[1].tensor : undefined;
      const r = weightGrad(a, g3, rows, K, N, variant, sink, biasWanted ? { source: g, sink: sinks[2] } : undefined);
      db = sink ?? e.view(r.dw, b.shape, 'matmul.backward');
      if (!sink) r.dw.dispose();
      dbias = r.db;
    } else if (b.requiresGrad) {
      // dB = op(A)^T @ g (stored B^T when transB: g^T @ op(A)); one matrix straight into a fresh .grad
      const sink = sinks[1]?.mode === 'write' && batch === 1 && M > 0 ? sinks[1].tensor : undefined;
      const full = transB
        ? matmulKernel({ a: g3, b: a, M: N, N: K, K: M, batch, aStride: M * N, bStride: aStride, transA: true, transB: transA, variant, into: sink })
        : matmulKernel({ a, b: g3, M: K, N, K: M, batch, aStride, bStride: M * N, transA: !transA, transB: false, variant, into: sink });
      db = sink ?? reduceBatch(full, b, batch);
    }
    if (biasWanted && !dbias) dbias = biasGrad(g, sinks[2]);
    g3.dispose();
    const out: (Tensor | null)[] = [da, db];
    if (bias) out.push(dbias);
    // the addend's gradient is g itself
    if (addend) out.push(addend.requiresGrad ? e.view(g, addend.shape, 'matmul.backward') : null);
    return out;
  });
}

/** A [batch, r, c] gradient for an operand that may have been broadcast over the batch. */
function reduceBatch(full: Tensor, operand: Tensor, batch: number): Tensor {
  const e = full.engine;
  const batched = shapeSize(operand.shape.slice(0, -2)) > 1;
  if (batched || batch === 1) {
    const v = e.view(full, operand.shape, 'matmul.backward');
    full.dispose();
    return v;
  }
  const r = sumTo(full, [1, ...operand.shape.slice(-2)]);
  full.dispose();
  const v = reshape(r, operand.shape);
  r.dispose();
  return v;
}
