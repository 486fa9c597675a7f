// The op check every generic op's test runs (test/engine/ops.test.ts, test/engine/nn_ops.test.ts): on the
// shared poisoned engine, the GPU forward against the float64 reference (relErr <= 1e-5), every input's gradient
// against the reference vjp for a random cotangent (<= 1e-4), and the directional check <t, J^T c> against
// central differences of the float64 forward (<= 1e-4). Messages name the op, the shapes and the error.
import { expect } from 'vitest';
import type { Engine, Tensor } from '../../engine/index.js';
import type { RefAttrs, RefOp } from '../reference/ops.js';
import { type RefTensor, shapeStr } from '../reference/tensor.js';
import { compare, directionalCheck, randomData, type Rng } from '../reference/gradcheck.js';
import { roundF32, toGpu } from './gpu.js';

export const FWD_TOL = 1e-5;
export const BWD_TOL = 1e-4;
export const DIR_TOL = 1e-4;

export interface OpCase {
  /** The differentiable inputs (float32 values as float64). */
  inputs: RefTensor[];
  attrs: RefAttrs;
  /** What else the case's messages should show (e.g. a pooling geometry the attrs cannot hold). */
  describe?: unknown;
  /** Runs the GPU op on GPU tensors of `inputs` (non-differentiable operands, e.g. int32 indices, it makes itself). */
  run: (xs: Tensor[]) => Tensor;
}

/**
 * `storage` rounds the inputs and the cotangent to what the kernel holds (f16 for the f16-operand variants), so the
 * reference sees the values the kernel multiplied.
 */
export async function checkOpCase(engine: Engine, op: string, refOp: RefOp, c: OpCase, rng: Rng, storage: (t: RefTensor) => RefTensor = (t) => t): Promise<void> {
  const { attrs, describe, run } = c;
  const inputs = c.inputs.map(storage);
  const shapes = inputs.map((t) => t.shape);
  const label = `${op} ${shapes.map(shapeStr).join(' ')} ${JSON.stringify(attrs)}${describe === undefined ? '' : ` ${JSON.stringify(describe)}`}`;
  await engine.asyncScope(async () => {
    const xs = inputs.map((t) => toGpu(engine, t, true));
    const y = run(xs);
    const expected = refOp.fwd(inputs, attrs);
    expect(y.shape, `${label}: output shape`).toEqual(expected.shape);
    const fwd = compare(op, shapes, await y.read(), expected.data, FWD_TOL);
    expect(fwd.err, `forward: ${fwd.message}`).toBeLessThanOrEqual(FWD_TOL);

    const cot = storage(roundF32(randomData(rng, expected.shape)));
    engine.backward(y, toGpu(engine, cot));
    const refGrads = refOp.vjp(inputs, cot, attrs);
    const gpuGrads: Float32Array[] = [];
    for (let i = 0; i < xs.length; i++) {
      const g = xs[i]!.grad;
      expect(g, `${label}: input ${i} got no gradient`).not.toBeNull();
      expect(g!.shape, `${label}: gradient ${i} shape`).toEqual(inputs[i]!.shape);
      const data = await g!.read();
      gpuGrads.push(data);
      const bwd = compare(`${op} backward (input ${i})`, shapes, data, refGrads[i]!.data, BWD_TOL);
      expect(bwd.err, `backward: ${bwd.message}`).toBeLessThanOrEqual(BWD_TOL);
    }
    const tangents = inputs.map((t) => randomData(rng, t.shape));
    const dir = directionalCheck((xsRef) => refOp.fwd(xsRef, attrs), inputs, tangents, cot, gpuGrads);
    expect(dir.relErr, `${label}: directional <t, J^T c> = ${dir.lhs} vs <J t, c> = ${dir.rhs}`).toBeLessThanOrEqual(DIR_TOL);
    for (const x of xs) x.dispose();
  });
}
