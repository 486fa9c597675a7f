// Reductions over any set of axes (sum, mean, max, logsumexp) and sumTo (the broadcast-gradient reducer).
// The kernel reads the input through strides, so reducing a middle axis needs no transpose.
import { KERNELS } from '../kernels.js';
import { REDUCE_CODES } from '../op_codes.js';
import { type Tensor, fmtShape, shapeSize, stridesOf, type Shape } from '../tensor.js';
import { REDUCE_PER_THREAD_MAX_REDUCED, REDUCE_PER_THREAD_MIN_OUTPUTS, pow2AtLeast } from '../tuning/static.js';
import type { TunableOp } from '../tuning/tuner.js';

export type ReduceOp = Exclude<keyof typeof REDUCE_CODES, 'ties'>;

function normalizeAxes(axes: number | readonly number[] | undefined, rank: number, op: string): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const out = new Set<number>();
  for (const ax of list) {
    const a = ax < 0 ? ax + rank : ax;
    if (!Number.isInteger(a) || a < 0 || a >= rank) throw new Error(`${op}: axis ${ax} out of range for rank ${rank}`);
    out.add(a);
  }
  return [...out].sort((x, y) => x - y);
}

/**
 * The reduced and the kept axes as (extent, stride) lists with neighbours merged: two adjacent axes of the
 * (contiguous) input that are both reduced, or both kept, act as one axis, and extent-1 axes drop out. The
 * kernels do a division per axis per element, so [B, H, W, C] summed over B, H, W is one reduced axis of
 * B*H*W at stride C.
 */
function mergedAxes(shape: readonly number[], isReduced: readonly boolean[]): { red: [number, number][]; kept: [number, number][]; inToOut: [number, number][] } {
  const strides = stridesOf(shape);
  const red: [number, number][] = [];
  const kept: [number, number][] = [];
  // For the backward: the input as (extent, output stride) runs, 0 on reduced runs.
  const inToOut: [number, number][] = [];
  const keptStrides = stridesOf(shape.filter((_, i) => !isReduced[i]));
  let k = 0;
  let prev: boolean | null = null;
  shape.forEach((extent, i) => {
    const outStride = isReduced[i] ? 0 : keptStrides[k++]!;
    if (extent === 1) return;
    const list = isReduced[i] ? red : kept;
    if (prev === isReduced[i]) {
      list[list.length - 1] = [list[list.length - 1]![0] * extent, strides[i]!];
      inToOut[inToOut.length - 1] = [inToOut[inToOut.length - 1]![0] * extent, outStride];
    } else {
      list.push([extent, strides[i]!]);
      inToOut.push([extent, outStride]);
    }
    prev = isReduced[i]!;
  });
  return { red, kept, inToOut };
}

/** A reduction as the tuner sees it: the input's shape and the reduced axes. */
export interface ReduceProblem {
  shape: readonly number[];
  axes: readonly number[];
  nOut: number;
  nRed: number;
  /** Whether the innermost reduced run is contiguous (stride 1). */
  contiguous: boolean;
}

/**
 * How a reduction runs: 'per_thread' (one invocation per output, a serial loop), 'workgroup' (one 64-wide workgroup
 * per output, a tree in workgroup memory) or 'subgroup' (one workgroup per output, combined with subgroup
 * operations; adapters with `subgroups`). Static: per_thread for short reductions with many outputs
 * (engine/tuning/static.ts). Bucket: the output count and the reduced extent rounded up to a power of two (what
 * the modes trade: parallelism across outputs against the length of each serial loop), and whether the reduced
 * elements are contiguous (memory access pattern).
 */
export const REDUCE_TUNABLE: TunableOp<ReduceProblem> = {
  name: 'reduce',
  bucket: (p) => `out${pow2AtLeast(p.nOut)} red${pow2AtLeast(p.nRed)} ${p.contiguous ? 'contiguous' : 'strided'}`,
  staticChoice: (p) => (p.nRed <= REDUCE_PER_THREAD_MAX_REDUCED && p.nOut >= REDUCE_PER_THREAD_MIN_OUTPUTS ? 'per_thread' : 'workgroup'),
  candidates: (_p, caps) => ['per_thread', 'workgroup', ...(caps.features.subgroups ? ['subgroup'] : [])],
  harness: (p, e) => {
    const x = e.uniform(p.shape, -1, 1, { seed: 28 });
    return {
      run: () => reduce('sum', x, p.axes, false),
      dispose: () => x.dispose(),
    };
  },
  // Summation order differs between the modes.
  tolerance: (_c, p) => 1e-6 * Math.max(16, Math.sqrt(p.nRed)),
  describe: (p) => `${fmtShape(p.shape)} over axes [${p.axes.join(', ')}]`,
};

function reduce(op: ReduceOp, a: Tensor, axesArg: number | readonly number[] | undefined, keepDims: boolean, into?: { tensor: Tensor; accumulate: boolean }): Tensor {
  const e = a.engine;
  const axes = normalizeAxes(axesArg, a.rank, op);
  const isReduced = a.shape.map((_, i) => axes.includes(i));
  const keptDims = a.shape.filter((_, i) => !isReduced[i]);
  const nRed = shapeSize(a.shape.filter((_, i) => isReduced[i]));
  if (nRed === 0 && (op === 'max' || op === 'logsumexp' || op === 'mean')) throw new Error(`${op}: reducing over an empty axis of shape ${fmtShape(a.shape)}`);
  const outShape = keepDims ? a.shape.map((d, i) => (isReduced[i] ? 1 : d)) : keptDims;
  if (into && into.tensor.size !== shapeSize(outShape)) throw new Error(`${op}: the target ${fmtShape(into.tensor.shape)} does not hold the result ${fmtShape(outShape)}`);
  const y = into ? into.tensor : e.empty(outShape, op);
  const code = REDUCE_CODES[op];
  const nOut = y.size;
  const merged = mergedAxes(a.shape, isReduced);
  if (nOut > 0) {
    const innermost = merged.red[merged.red.length - 1];
    const mode = e.tuner.choose(REDUCE_TUNABLE, { shape: a.shape, axes, nOut, nRed, contiguous: innermost === undefined || innermost[1] === 1 });
    const perThread = mode === 'per_thread';
    const subgroup = mode === 'subgroup';
    e.dispatch({
      kernel: subgroup ? KERNELS.reduce_subgroup : KERNELS.reduce,
      overrides: { OP: code, ...(subgroup ? {} : { PER_THREAD: perThread }), ACCUMULATE: into?.accumulate ?? false, RANK_OUT: merged.kept.length, RANK_RED: merged.red.length },
      params: {
        n_out: nOut,
        n_red: nRed,
        rank_out: merged.kept.length,
        rank_red: merged.red.length,
        out_shape: merged.kept.map((x) => x[0]),
        out_strides: merged.kept.map((x) => x[1]),
        red_shape: merged.red.map((x) => x[0]),
        red_strides: merged.red.map((x) => x[1]),
      },
      inputs: { x: a },
      outputs: { y },
      workgroups: perThread ? Math.ceil(nOut / 64) : nOut,
      label: `${op}:${mode}`,
    });
  }
  if (into) return y;
  return e.tape.record(op, y, [a], (g) => {
    const dx = e.empty(a.shape, `${op}.backward`);
    // The input's (merged) axes with the output strides seen from them: 0 on reduced axes.
    const runs = merged.inToOut;
    if (dx.size > 0) {
      const bwd = (mode: number, out: Tensor, ties: Tensor): void =>
        e.dispatch({
          kernel: KERNELS.reduce_backward,
          overrides: { OP: mode, RANK: runs.length },
          params: { n: a.size, rank: runs.length, count: nRed, shape: runs.map((r) => r[0]), out_strides: runs.map((r) => r[1]) },
          inputs: { x: a, y, g, ties },
          outputs: { dx: out },
          workgroups: Math.ceil(a.size / 256),
          label: `${op}.backward`,
        });
      if (op === 'max') {
        // Ties split the gradient equally: count the maxima of each output (indicator, then a sum), then divide.
        const indicator = e.empty(a.shape, 'max.backward.ties');
        bwd(REDUCE_CODES.ties, indicator, g);
        const ties = e.noGrad(() => reduce('sum', indicator, axes, false));
        indicator.dispose();
        bwd(code, dx, ties);
        ties.dispose();
      } else bwd(code, dx, g);
    }
    return [dx];
  });
}

export const sum = (a: Tensor, axes?: number | readonly number[], keepDims = false): Tensor => reduce('sum', a, axes, keepDims);
export const mean = (a: Tensor, axes?: number | readonly number[], keepDims = false): Tensor => reduce('mean', a, axes, keepDims);
/** Maximum; in the backward the gradient is split equally among the elements equal to the maximum (as TF's reduce_max). */
export const max = (a: Tensor, axes?: number | readonly number[], keepDims = false): Tensor => reduce('max', a, axes, keepDims);
export const logsumexp = (a: Tensor, axes?: number | readonly number[], keepDims = false): Tensor => reduce('logsumexp', a, axes, keepDims);

/**
 * Sum over `axes` straight into `target` (overwritten, or added to with accumulate): not recorded on the tape.
 * Backward rules use it to put a gradient into a leaf's .grad (see engine/tape.ts).
 */
export function sumInto(target: Tensor, a: Tensor, axes: number | readonly number[], accumulate: boolean): void {
  reduce('sum', a, axes, false, { tensor: target, accumulate });
}

/** Sum `a` down to `shape` (the inverse of broadcasting `shape` up to a's shape). */
export function sumTo(a: Tensor, shape: Shape): Tensor {
  const r = a.rank - shape.length;
  if (r < 0) throw new Error(`sumTo: cannot reduce ${fmtShape(a.shape)} to the larger rank of ${fmtShape(shape)}`);
  const axes: number[] = [];
  for (let i = 0; i < a.rank; i++) {
    if (i < r) axes.push(i);
    else if (shape[i - r] === 1 && a.shape[i] !== 1) axes.push(i);
    else if (shape[i - r] !== a.shape[i]) throw new Error(`sumTo: ${fmtShape(a.shape)} is not a broadcast of ${fmtShape(shape)}`);
  }
  const summed = reduce('sum', a, axes, true);
  if (summed.rank === shape.length) return summed;
  const v = a.engine.view(summed, shape, 'sumTo');
  summed.dispose('reshaped');
  return v;
}
