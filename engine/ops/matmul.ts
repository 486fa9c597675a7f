// Batched matmul C = op(A) @ op(B) with op = identity or transpose (read transposed in the kernel, never
// materialised), so the backward is two more matmuls: dA = g @ op(B)^T, dB = op(A)^T @ g.
// Kernel variants (register-tiled, vec4, naive) live in engine/matmul_variants.ts; the fastest one whose
// requirements the shapes meet is used. A weight shared by all rows (a dense / nin layer) gets its gradient
// split along the rows when it alone would give few workgroups, its bias gradient in the same finishing pass.
import { KERNELS_BY_FILE } from '../kernels.js';
import { MATMUL_VARIANTS, weightGradSplits, type MatmulVariant } from '../matmul_variants.js';
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

export function pickVariant(M: number, N: number, K: number, transA: boolean, transB: boolean, name?: string): MatmulVariant {
  if (name) {
    const v = MATMUL_VARIANTS.find((x) => x.name === name);
    if (!v) throw new Error(`matmul: unknown variant '${name}' (have ${MATMUL_VARIANTS.map((x) => x.name).join(', ')})`);
    if (!v.supports(M, N, K, transA, transB)) throw new Error(`matmul: variant '${name}' does not support M=${M} N=${N} K=${K} transA=${transA} transB=${transB}`);
    return v;
  }
  const v = MATMUL_VARIANTS.find((x) => x.supports(M, N, K, transA, transB));
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
  const v = pickVariant(M, N, K, transA, transB, k.variant);
  const kernel = KERNELS_BY_FILE[v.shader];
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
  const splits = weightGradSplits(rows, pickVariant(cin, cout, rows, true, false, variant).tile(cin, cout), cin, cout);
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
