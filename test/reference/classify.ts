// Float64 references of the classification, indexing, pooling and normalisation ops (engine/ops/classify.ts,
// pool.ts, norm.ts, elementwise.ts where/comparisons): forward and vector-Jacobian product as plain index loops,
// written from the definitions (softmax_j = exp(x_j) / sum_k exp(x_k), cross-entropy = -log softmax[label],
// layer norm's mean and biased variance, a max-pool window's first maximum), independent of the kernels.
import { type RefTensor, ref, size, broadcastShapes, broadcastIndexMap, sumToShape } from './tensor.js';

/** [outer, n, inner] of a shape along `axis` (non-negative). */
function rows(shape: readonly number[], axis: number): { outer: number; n: number; inner: number } {
  return { outer: size(shape.slice(0, axis)), n: shape[axis]!, inner: size(shape.slice(axis + 1)) };
}

function forRows(shape: readonly number[], axis: number, fn: (idx: (j: number) => number, n: number, row: number) => void): void {
  const { outer, n, inner } = rows(shape, axis);
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) fn((j) => (o * n + j) * inner + i, n, o * inner + i);
}

export function refSoftmax(x: RefTensor, axis: number, log: boolean): RefTensor {
  const y = ref(x.shape);
  forRows(x.shape, axis, (at, n) => {
    let m = -Infinity;
    for (let j = 0; j < n; j++) m = Math.max(m, x.data[at(j)]!);
    let s = 0;
    for (let j = 0; j < n; j++) s += Math.exp(x.data[at(j)]! - m);
    for (let j = 0; j < n; j++) y.data[at(j)] = log ? x.data[at(j)]! - m - Math.log(s) : Math.exp(x.data[at(j)]! - m) / s;
  });
  return y;
}

/** d/dx of <g, softmax(x)> (or log-softmax): J^T g with J = diag(p) - p p^T (log: I - 1 p^T). */
export function refSoftmaxVjp(x: RefTensor, g: RefTensor, axis: number, log: boolean): RefTensor {
  const p = refSoftmax(x, axis, false);
  const dx = ref(x.shape);
  forRows(x.shape, axis, (at, n) => {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) {
        const jac = log ? (j === k ? 1 : 0) - p.data[at(j)]! : p.data[at(k)]! * ((j === k ? 1 : 0) - p.data[at(j)]!);
        s += g.data[at(k)]! * jac;
      }
      dx.data[at(j)] = s;
    }
  });
  return dx;
}

/** Per-example -log softmax(logits)[label] (logits [..., C], labels [...]); NaN for a label outside [0, C). */
export function refCrossEntropy(logits: RefTensor, labels: ArrayLike<number>): RefTensor {
  const C = logits.shape[logits.shape.length - 1]!;
  const out = ref(logits.shape.slice(0, -1));
  for (let r = 0; r < out.data.length; r++) {
    const label = labels[r]!;
    if (!(label >= 0 && label < C)) {
      out.data[r] = NaN;
      continue;
    }
    let m = -Infinity;
    for (let j = 0; j < C; j++) m = Math.max(m, logits.data[r * C + j]!);
    let s = 0;
    for (let j = 0; j < C; j++) s += Math.exp(logits.data[r * C + j]! - m);
    out.data[r] = m + Math.log(s) - logits.data[r * C + label]!;
  }
  return out;
}

/** J^T g of refCrossEntropy: g[r] * (softmax - one-hot). */
export function refCrossEntropyVjp(logits: RefTensor, labels: ArrayLike<number>, g: RefTensor): RefTensor {
  const C = logits.shape[logits.shape.length - 1]!;
  const p = refSoftmax(logits, logits.shape.length - 1, false);
  return ref(logits.shape, (i) => g.data[Math.floor(i / C)]! * (p.data[i]! - (i % C === labels[Math.floor(i / C)] ? 1 : 0)));
}

/** Index of the first maximum (minimum) along `axis`, the axis removed. */
export function refArgReduce(x: RefTensor, axis: number, min: boolean): RefTensor {
  const out = ref(x.shape.filter((_, i) => i !== axis));
  forRows(x.shape, axis, (at, n, row) => {
    let best = 0;
    for (let j = 1; j < n; j++) if (min ? x.data[at(j)]! < x.data[at(best)]! : x.data[at(j)]! > x.data[at(best)]!) best = j;
    out.data[row] = best;
  });
  return out;
}

export function refOneHot(indices: ArrayLike<number>, shape: readonly number[], depth: number): RefTensor {
  return ref([...shape, depth], (i) => (indices[Math.floor(i / depth)] === i % depth ? 1 : 0));
}

/** tf.gather(x, indices, axis): indices of any shape (flattened here, `indexShape` given), out-of-range -> 0. */
export function refGather(x: RefTensor, indices: ArrayLike<number>, indexShape: readonly number[], axis: number): RefTensor {
  const { outer, n, inner } = rows(x.shape, axis);
  const k = indices.length;
  const out = ref([...x.shape.slice(0, axis), ...indexShape, ...x.shape.slice(axis + 1)]);
  for (let o = 0; o < outer; o++)
    for (let j = 0; j < k; j++)
      for (let i = 0; i < inner; i++) {
        const idx = indices[j]!;
        out.data[(o * k + j) * inner + i] = idx >= 0 && idx < n ? x.data[(o * n + idx) * inner + i]! : 0;
      }
  return out;
}

export function refGatherVjp(x: RefTensor, indices: ArrayLike<number>, axis: number, g: RefTensor): RefTensor {
  const { outer, n, inner } = rows(x.shape, axis);
  const k = indices.length;
  const dx = ref(x.shape);
  for (let o = 0; o < outer; o++)
    for (let j = 0; j < k; j++)
      for (let i = 0; i < inner; i++) {
        const idx = indices[j]!;
        if (idx >= 0 && idx < n) dx.data[(o * n + idx) * inner + i] += g.data[(o * k + j) * inner + i]!;
      }
  return dx;
}

export interface RefPoolGeom {
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  /** [top, bottom, left, right] */
  pad: [number, number, number, number];
}

/** Max pooling NHWC, padding excluded from every window; also the flat position (h * W + w) of each window's first maximum. */
export function refMaxPool2d(x: RefTensor, g: RefPoolGeom): { y: RefTensor; at: Int32Array } {
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const [pt, pb, pl, pr] = g.pad;
  const OH = Math.floor((H + pt + pb - g.kh) / g.sh) + 1;
  const OW = Math.floor((W + pl + pr - g.kw) / g.sw) + 1;
  const y = ref([B, OH, OW, C]);
  const at = new Int32Array(y.data.length);
  for (let b = 0; b < B; b++)
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++)
        for (let c = 0; c < C; c++) {
          let best = -Infinity;
          let where = -1;
          for (let dy = 0; dy < g.kh; dy++)
            for (let dx = 0; dx < g.kw; dx++) {
              const h = oy * g.sh - pt + dy;
              const w = ox * g.sw - pl + dx;
              if (h < 0 || h >= H || w < 0 || w >= W) continue;
              const v = x.data[((b * H + h) * W + w) * C + c]!;
              if (v > best) {
                best = v;
                where = h * W + w;
              }
            }
          const o = ((b * OH + oy) * OW + ox) * C + c;
          y.data[o] = best;
          at[o] = where;
        }
  return { y, at };
}

export function refMaxPool2dVjp(x: RefTensor, g: RefPoolGeom, gy: RefTensor): RefTensor {
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const { y, at } = refMaxPool2d(x, g);
  const [, OH, OW] = y.shape as [number, number, number, number];
  const dx = ref(x.shape);
  for (let b = 0; b < B; b++)
    for (let o = 0; o < OH * OW; o++)
      for (let c = 0; c < C; c++) {
        const k = (b * OH * OW + o) * C + c;
        dx.data[(b * H * W + at[k]!) * C + c] += gy.data[k]!;
      }
  return dx;
}

/** Mean and biased variance of row r of x [rows, C]. */
function rowMoments(x: RefTensor, r: number, C: number): { m: number; v: number } {
  let m = 0;
  for (let j = 0; j < C; j++) m += x.data[r * C + j]!;
  m /= C;
  let v = 0;
  for (let j = 0; j < C; j++) v += (x.data[r * C + j]! - m) ** 2;
  return { m, v: v / C };
}

/** Layer norm over the last axis with biased variance; gamma/beta null: none. */
export function refLayerNorm(x: RefTensor, gamma: RefTensor | null, beta: RefTensor | null, eps: number): RefTensor {
  const C = x.shape[x.shape.length - 1]!;
  const y = ref(x.shape);
  for (let r = 0; r < x.data.length / C; r++) {
    const { m, v } = rowMoments(x, r, C);
    for (let j = 0; j < C; j++) {
      const xhat = (x.data[r * C + j]! - m) / Math.sqrt(v + eps);
      y.data[r * C + j] = gamma && beta ? xhat * gamma.data[j]! + beta.data[j]! : xhat;
    }
  }
  return y;
}

/** [dx, dgamma, dbeta] of refLayerNorm (dgamma, dbeta only with gamma and beta): the analytic gradient. */
export function refLayerNormVjp(x: RefTensor, gamma: RefTensor | null, beta: RefTensor | null, eps: number, g: RefTensor): RefTensor[] {
  const C = x.shape[x.shape.length - 1]!;
  const dx = ref(x.shape);
  const dgamma = ref([C]);
  const dbeta = ref([C]);
  for (let r = 0; r < x.data.length / C; r++) {
    const { m, v } = rowMoments(x, r, C);
    const rs = 1 / Math.sqrt(v + eps);
    const xhat = (j: number): number => (x.data[r * C + j]! - m) * rs;
    const dxhat = (j: number): number => g.data[r * C + j]! * (gamma ? gamma.data[j]! : 1);
    let s1 = 0;
    let s2 = 0;
    for (let j = 0; j < C; j++) {
      s1 += dxhat(j);
      s2 += dxhat(j) * xhat(j);
      dgamma.data[j] += g.data[r * C + j]! * xhat(j);
      dbeta.data[j] += g.data[r * C + j]!;
    }
    for (let j = 0; j < C; j++) dx.data[r * C + j] = rs * (dxhat(j) - s1 / C - (xhat(j) * s2) / C);
  }
  return gamma && beta ? [dx, dgamma, dbeta] : [dx];
}

/** where(cond != 0, a, b) with broadcasting of all three. */
export function refWhere(cond: RefTensor, a: RefTensor, b: RefTensor): RefTensor {
  const out = broadcastShapes(broadcastShapes(cond.shape, a.shape), b.shape);
  const mc = broadcastIndexMap(cond.shape, out);
  const ma = broadcastIndexMap(a.shape, out);
  const mb = broadcastIndexMap(b.shape, out);
  return ref(out, (i) => (cond.data[mc[i]!]! !== 0 ? a.data[ma[i]!]! : b.data[mb[i]!]!));
}

/** [da, db] of refWhere. */
export function refWhereVjp(cond: RefTensor, a: RefTensor, b: RefTensor, g: RefTensor): RefTensor[] {
  const out = g.shape;
  const mc = broadcastIndexMap(cond.shape, out);
  const da = ref(out, (i) => (cond.data[mc[i]!]! !== 0 ? g.data[i]! : 0));
  const db = ref(out, (i) => (cond.data[mc[i]!]! !== 0 ? 0 : g.data[i]!));
  return [sumToShape(da, a.shape), sumToShape(db, b.shape)];
}

export const REF_COMPARE: Record<string, (a: number, b: number) => boolean> = {
  equal: (a, b) => a === b,
  notEqual: (a, b) => a !== b,
  less: (a, b) => a < b,
  lessEqual: (a, b) => a <= b,
  greater: (a, b) => a > b,
  greaterEqual: (a, b) => a >= b,
};

export function refCompare(op: string, a: RefTensor, b: RefTensor): RefTensor {
  const out = broadcastShapes(a.shape, b.shape);
  const ma = broadcastIndexMap(a.shape, out);
  const mb = broadcastIndexMap(b.shape, out);
  const f = REF_COMPARE[op]!;
  return ref(out, (i) => (f(a.data[ma[i]!]!, b.data[mb[i]!]!) ? 1 : 0));
}
