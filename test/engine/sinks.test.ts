// Gradient sinks (engine/tape.ts): a backward rule may put a leaf's gradient straight into leaf.grad, overwriting
// it when the leaf says its .grad is fresh, adding to it otherwise. Checked against the plain path (new tensors
// accumulated by the tape) for every rule that uses sinks: conv2d (weight, including the split-K weight gradient,
// and bias), convTranspose2d, nin's matmul and a broadcast add. A fresh .grad is filled with NaN first, so a
// rule that added to it instead of overwriting shows.
import { afterAll, describe, expect, it } from 'vitest';
import { ops, type Engine, type Tensor } from '../../engine/index.js';
import * as gen from '../../engine/generative/index.js';
import { compare, mulberry32, randomData } from '../reference/gradcheck.js';
import { disposeTestEngine, roundF32, testEngine, toGpu } from '../helpers/gpu.js';
import type { RefTensor } from '../reference/tensor.js';

let engine: Engine;
afterAll(() => disposeTestEngine());

interface Case {
  name: string;
  inputs: RefTensor[];
  /** Which inputs are parameters (leaves that get a .grad). */
  leaves: number[];
  run: (xs: Tensor[]) => Tensor;
}

async function gradsOf(c: Case, gy: RefTensor, mode: 'plain' | 'sinks', prev: RefTensor[]): Promise<Float32Array[]> {
  return engine.asyncScope(async () => {
    const xs = c.inputs.map((t) => toGpu(engine, t, true));
    if (mode === 'sinks') {
      c.leaves.forEach((i, k) => {
        const x = xs[i]!;
        if (k === 0) {
          // fresh: holds garbage (NaN) that a 'write' sink must overwrite
          x.grad = engine.full(x.shape, NaN).keep();
          x.gradFresh = true;
        } else x.grad = toGpu(engine, prev[k]!).keep(); // accumulate onto prev
      });
    }
    const y = c.run(xs);
    engine.backward(y, toGpu(engine, gy));
    return Promise.all(c.leaves.map((i) => xs[i]!.grad!.read()));
  });
}

describe('gradient sinks', () => {
  it('conv2d (split-K too), convTranspose2d, nin and broadcast add put gradients straight into leaves', async () => {
    engine ??= await testEngine();
    const rng = mulberry32(21);
    const r = (shape: number[]): RefTensor => roundF32(randomData(rng, shape));
    const cases: Case[] = [
      { name: 'conv2d 3x3 [2,12,12,5]->7 (split-K wgrad)', inputs: [r([2, 12, 12, 5]), r([3, 3, 5, 7]), r([7])], leaves: [1, 2], run: ([x, w, b]) => ops.conv2d(x!, w!, b!, { pad: [1, 1, 1, 1] }) },
      { name: 'conv2d 2x3 [1,4,5,3]->4', inputs: [r([1, 4, 5, 3]), r([2, 3, 3, 4]), r([4])], leaves: [1, 2], run: ([x, w, b]) => ops.conv2d(x!, w!, b!, { pad: [1, 0, 1, 1] }) },
      { name: 'convTranspose2d [2,3,3,4]->5 stride 2', inputs: [r([2, 3, 3, 4]), r([3, 3, 5, 4]), r([5])], leaves: [1, 2], run: ([x, w, b]) => ops.convTranspose2d(x!, w!, b!, { stride: 2, outSize: [6, 6], crop: [1, 1] }) },
      { name: 'nin [2,3,4,6]->5', inputs: [r([2, 3, 4, 6]), r([6, 5]), r([5])], leaves: [1, 2], run: ([x, w, b]) => ops.nin(x!, w!, b!) },
      { name: 'add [3,4,5] + [5]', inputs: [r([5]), r([3, 4, 5])], leaves: [0], run: ([b, x]) => ops.add(x!, b!) },
    ];
    for (const c of cases) {
      const gy = r(engine.scope(() => c.run(c.inputs.map((t) => toGpu(engine, t)))).shape.slice());
      const prev = c.leaves.map((i) => r(c.inputs[i]!.shape.slice()));
      const plain = await gradsOf(c, gy, 'plain', prev);
      const sunk = await gradsOf(c, gy, 'sinks', prev);
      c.leaves.forEach((i, k) => {
        const want = k === 0 ? plain[k]! : plain[k]!.map((v, j) => v + prev[k]!.data[j]!);
        const cmp = compare(`${c.name}: input ${i} gradient via a ${k === 0 ? "'write'" : "'accumulate'"} sink`, c.inputs[i]!.shape, sunk[k]!, want, 1e-6);
        expect(cmp.err, cmp.message).toBeLessThanOrEqual(1e-6);
      });
    }
  });
});

describe('pending-gradient sinks', () => {
  it('elu, concatElu and gate add their input gradient into a pending one (x feeding four ops), as float64', async () => {
    engine ??= await testEngine();
    const rng = mulberry32(22);
    const [B, F] = [6, 5];
    const x = roundF32(randomData(rng, [B, F], -2, 2));
    const c2 = roundF32(randomData(rng, [B, 2 * F]));
    const dElu = (v: number): number => (v > 0 ? 1 : Math.exp(v));
    for (const order of [['elu', 'concatElu', 'gate', 'concatElu'], ['gate', 'concatElu', 'elu', 'gate']] as const) {
      const r = order.map((op) => roundF32(randomData(rng, op === 'concatElu' ? [B, 2 * F] : [B, F])));
      // float64: d/dx of sum_k <R_k, op_k(x)>
      const want = x.data.map((v, i) => {
        const [row, c] = [Math.floor(i / F), i % F];
        return order.reduce((acc, op, k) => {
          const R = r[k]!.data;
          if (op === 'elu') return acc + R[i]! * dElu(v);
          if (op === 'gate') return acc + R[i]!; // the residual's gradient
          return acc + R[row * 2 * F + c]! * dElu(v) - R[row * 2 * F + F + c]! * dElu(-v);
        }, 0);
      });
      const got = await engine.asyncScope(async () => {
        const gx = toGpu(engine, x, true);
        const gc2 = toGpu(engine, c2);
        let loss: Tensor | null = null;
        order.forEach((op, k) => {
          const y = op === 'elu' ? ops.elu(gx) : op === 'gate' ? gen.gate(gc2, gx) : gen.concatElu(gx);
          const t = ops.sum(ops.mul(y, toGpu(engine, r[k]!)), [0, 1]);
          loss = loss ? ops.add(loss, t) : t;
        });
        engine.backward(ops.reshape(loss!, [1]));
        return gx.grad!.read();
      });
      const cmp = compare(`x feeding ${order.join(', ')}: dL/dx`, [B, F], got, want, 1e-5);
      expect(cmp.err, cmp.message).toBeLessThanOrEqual(1e-5);
    }
  });
});

describe('slice into a pending gradient', () => {
  it('slices of one tensor add their gradients into its pending gradient over their windows only (float64)', async () => {
    engine ??= await testEngine();
    const rng = mulberry32(23);
    const shape = [2, 3, 4, 9];
    const x = roundF32(randomData(rng, shape));
    const windows: [number, number][] = [[0, 2], [2, 5], [4, 9], [1, 3]]; // channel ranges, overlapping too
    const rs = windows.map(([a, b]) => roundF32(randomData(rng, [2, 3, 4, b - a])));
    const want = x.data.map((_, i) => windows.reduce((acc, [a, b], k) => {
      const c = i % 9;
      return c >= a && c < b ? acc + rs[k]!.data[Math.floor(i / 9) * (b - a) + c - a]! : acc;
    }, 0));
    const got = await engine.asyncScope(async () => {
      const gx = toGpu(engine, x, true);
      let loss: Tensor | null = null;
      windows.forEach(([a, b], k) => {
        const t = ops.sum(ops.mul(ops.slice(gx, [0, 0, 0, a], [2, 3, 4, b]), toGpu(engine, rs[k]!)), [0, 1, 2, 3]);
        loss = loss ? ops.add(loss, t) : t;
      });
      engine.backward(ops.reshape(loss!, [1]));
      return gx.grad!.read();
    });
    const cmp = compare('four channel slices of [2,3,4,9]: dL/dx', shape, got, want, 1e-6);
    expect(cmp.err, cmp.message).toBeLessThanOrEqual(1e-6);
  });
});
