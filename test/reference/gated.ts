// Float64 references of the gated-resnet pieces (engine/ops/gated.ts), written with plain loops over
// [rows, channels] views: concat_elu, gate, inverted dropout (Philox mask, kind 2) and their vjps.
import { type RefTensor, ref } from './tensor.js';
import { philox4x32, seedToKey, streamCounter, wordToUnit } from './philox.js';

const elu = (a: number): number => (a > 0 ? a : Math.expm1(a));
const eluGrad = (a: number): number => (a > 0 ? 1 : Math.exp(a));
const sigmoid = (a: number): number => 1 / (1 + Math.exp(-a));

/** Keep mask of inverted dropout: element i kept when unit(philox([i, stream, 2, 0], key)[0]) >= fround(p). */
export function refDropoutMask(n: number, p: number, seed: number, stream: number): Uint8Array {
  const key = seedToKey(seed);
  const pf = Math.fround(p);
  const m = new Uint8Array(n);
  const [s, hi] = streamCounter(stream);
  for (let i = 0; i < n; i++) m[i] = wordToUnit(philox4x32([i >>> 0, s, 2, hi], key)[0]) >= pf ? 1 : 0;
  return m;
}

/** The f32 scale the GPU applies to kept values. */
export const dropoutScale = (p: number): number => Math.fround(1 / (1 - p));

export interface RefNoise {
  p: number;
  seed: number;
  stream: number;
}

/** elu(concat([x, -x], -1)), optionally times the dropout mask (indexed by output element) and scale. */
export function refConcatElu(x: RefTensor, noise?: RefNoise): RefTensor {
  const c = x.shape[x.shape.length - 1]!;
  const rows = c === 0 ? 0 : x.data.length / c;
  const y = ref([...x.shape.slice(0, -1), 2 * c]);
  const mask = noise ? refDropoutMask(y.data.length, noise.p, noise.seed, noise.stream) : null;
  const s = noise ? dropoutScale(noise.p) : 1;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < c; j++) {
      const a = x.data[r * c + j]!;
      const o0 = r * 2 * c + j;
      const o1 = o0 + c;
      y.data[o0] = mask ? (mask[o0] ? elu(a) * s : 0) : elu(a);
      y.data[o1] = mask ? (mask[o1] ? elu(-a) * s : 0) : elu(-a);
    }
  }
  return y;
}

export function refConcatEluVjp(x: RefTensor, g: RefTensor, noise?: RefNoise): RefTensor {
  const c = x.shape[x.shape.length - 1]!;
  const rows = c === 0 ? 0 : x.data.length / c;
  const mask = noise ? refDropoutMask(g.data.length, noise.p, noise.seed, noise.stream) : null;
  const s = noise ? dropoutScale(noise.p) : 1;
  const dx = ref(x.shape);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < c; j++) {
      const a = x.data[r * c + j]!;
      const o0 = r * 2 * c + j;
      const o1 = o0 + c;
      const m0 = mask ? mask[o0]! * s : 1;
      const m1 = mask ? mask[o1]! * s : 1;
      // d/da elu(-a) = -elu'(-a)
      dx.data[r * c + j] = g.data[o0]! * m0 * eluGrad(a) - g.data[o1]! * m1 * eluGrad(-a);
    }
  }
  return dx;
}

/** residual + A sigmoid(B), A = c2[..., :F], B = c2[..., F:]. */
export function refGate(c2: RefTensor, res: RefTensor): RefTensor {
  const f = res.shape[res.shape.length - 1]!;
  const rows = f === 0 ? 0 : res.data.length / f;
  const y = ref(res.shape);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < f; j++) {
      const a = c2.data[r * 2 * f + j]!;
      const b = c2.data[r * 2 * f + f + j]!;
      y.data[r * f + j] = res.data[r * f + j]! + a * sigmoid(b);
    }
  }
  return y;
}

export function refGateVjp(c2: RefTensor, res: RefTensor, g: RefTensor): [RefTensor, RefTensor] {
  const f = res.shape[res.shape.length - 1]!;
  const rows = f === 0 ? 0 : res.data.length / f;
  const dc2 = ref(c2.shape);
  const dres = ref(res.shape);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < f; j++) {
      const a = c2.data[r * 2 * f + j]!;
      const b = c2.data[r * 2 * f + f + j]!;
      const gi = g.data[r * f + j]!;
      const s = sigmoid(b);
      dc2.data[r * 2 * f + j] = gi * s;
      dc2.data[r * 2 * f + f + j] = gi * a * s * (1 - s);
      dres.data[r * f + j] = gi;
    }
  }
  return [dc2, dres];
}

export function refDropout(x: RefTensor, noise: RefNoise): RefTensor {
  const mask = refDropoutMask(x.data.length, noise.p, noise.seed, noise.stream);
  const s = dropoutScale(noise.p);
  return ref(x.shape, (i) => (mask[i] ? x.data[i]! * s : 0));
}
