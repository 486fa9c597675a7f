// Batched matmul C = op(A) @ op(B) with op = identity or transpose (read transposed in the kernel, never
// materialised), so the backward is two more matmuls: dA = g @ op(B)^T, dB = op(A)^T @ g.
// Kernel variants (register-tiled, vec4, naive) live in engine/matmul_variants.ts; the fastest one whose
// requirements the shapes meet is used.
import { KERNELS_BY_FILE } from '../kernels.js';
import { MATMUL_VARIANTS, type MatmulVariant } from '../matmul_variants.js';
import { type Tensor, fmtShape, shapeSize } from '../tensor.js';
import { broadcastShapes } from './elementwise.js';
import { sum, sumInto, sumTo } from './reduce.js';
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

/** Dispatch one batched matmul; a/b batch stride 0 = broadcast. */
function matmulKernel(a: Tensor, b: Tensor, M: number, N: number, K: number, batch: number, aBatched: boolean, bBatched: boolean, transA: boolean, transB: boolean, variantName?: string, into?: Tensor, bias?: Tensor, addend?: Tensor): Tensor {
  const e = a.engine;
  if (into && into.size !== batch * M * N) throw new Error(`matmul: the target ${fmtShape(into.shape)} does not hold [${batch}, ${M}, ${N}]`);
  const c = into ?? e.empty([batch, M, N], 'matmul');
  if (c.size === 0) return c;
  if (K === 0 && into) throw new Error('matmul: K = 0 into a target');
  if (K === 0) {
    c.dispose();
    return e.zeros([batch, M, N]);
  }
  const v = pickVariant(M, N, K, transA, transB, variantName);
  const kernel = KERNELS_BY_FILE[v.shader];
  if (!kernel) throw new Error(`matmul: variant '${v.name}' names shader '${v.shader}', which is not registered in engine/kernels.ts`);
  e.dispatch({
    kernel,
    overrides: { TRANS_A: transA, TRANS_B: transB, HAS_BIAS: bias !== undefined, HAS_ADDEND: addend !== undefined },
    params: { M, N, K, batch, a_batch_stride: aBatched ? M * K : 0, b_batch_stride: bBatched ? K * N : 0, c_batch_stride: M * N },
    inputs: { a, b, bias: bias ?? b, addend: addend ?? a },
    outputs: { c },
    workgroups: v.dispatch(M, N, batch),
    label: `matmul:${v.name}`,
  });
  return c;
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
  const c3 = matmulKernel(a, b, M, N, K, batch, aBatched, bBatched, transA, transB, opts.variant, undefined, bias, addend);
  const y = e.view(c3, [...batchShape, M, N], 'matmul');
  c3.dispose('reshaped');
  const inputs = [a, b, bias ?? null, addend ?? null].filter((t): t is Tensor => t !== null);
  return e.tape.record('matmul', y, inputs, (g, sinks) => {
    const g3 = e.view(g, [batch, M, N], 'matmul.backward');
    let da: Tensor | null = null;
    let db: Tensor | null = null;
    if (a.requiresGrad) {
      // dA = g @ op(B)^T (stored A^T when transA: op(B) @ g^T)
      const full = transA ? matmulKernel(b, g3, K, M, N, batch, bBatched, true, transB, true, opts.variant) : matmulKernel(g3, b, M, K, N, batch, true, bBatched, false, !transB, opts.variant);
      da = reduceBatch(full, a, batch);
    }
    if (b.requiresGrad) {
      if (!bBatched && aBatched && !transA && !transB) {
        // Weight-style B shared by the batch: fold the batch into M, one matmul, no reduction.
        const a2 = e.view(a, [1, batch * M, K], 'matmul.backward');
        const g2 = e.view(g3, [1, batch * M, N], 'matmul.backward');
        // Straight into the weight's fresh .grad when it has one (engine/tape.ts sinks).
        const sink = sinks[1]?.mode === 'write' && M > 0 ? sinks[1].tensor : undefined;
        const full = matmulKernel(a2, g2, K, N, batch * M, 1, false, false, true, false, opts.variant, sink);
        a2.dispose();
        g2.dispose();
        if (sink) db = sink;
        else {
          db = e.view(full, b.shape, 'matmul.backward');
          full.dispose();
        }
      } else {
        // dB = op(A)^T @ g (stored B^T when transB: g^T @ op(A)); one matrix straight into a fresh .grad
        const sink = sinks[1]?.mode === 'write' && batch === 1 && M > 0 ? sinks[1].tensor : undefined;
        const full = transB ? matmulKernel(g3, a, N, K, M, batch, true, aBatched, true, transA, opts.variant, sink) : matmulKernel(a, g3, K, N, M, batch, aBatched, true, !transA, false, opts.variant, sink);
        db = sink ?? reduceBatch(full, b, batch);
      }
    }
    g3.dispose();
    const out: (Tensor | null)[] = [da, db];
    if (bias) {
      const sink = sinks[2];
      if (!bias.requiresGrad) out.push(null);
      else if (sink) {
        sumInto(sink.tensor, g, [0], sink.mode === 'accumulate');
        out.push(sink.tensor);
      } else out.push(sum(g, [0]));
    }
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
