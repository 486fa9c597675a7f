// Engine.preparePipelines (engine/runner.ts): a dry run notes the pipelines a computation needs and creates them
// asynchronously, all at once; nothing of the dry run reaches the GPU (no dispatch counted, copy commands
// dropped, the RNG state restored); a readback inside it is an error; the real run afterwards needs no new
// pipeline and computes the same values as without preparing.
import { afterAll, describe, expect, it } from 'vitest';
import { ops, type Engine, type Tensor } from '../../engine/index.js';
import { disposeTestEngine, testEngine } from '../helpers/gpu.js';

afterAll(disposeTestEngine);

/** A small forward and backward: matmul, bias, sigmoid, sum; gradients of both inputs. */
function step(engine: Engine, a: Tensor, b: Tensor): Tensor[] {
  const y = ops.sum(ops.sigmoid(ops.add(ops.matmul(a, b), engine.uniform([3], -1, 1, { seed: 7 }))));
  engine.backward(y);
  return [y, a.grad!, b.grad!];
}

describe('preparePipelines', () => {
  it('creates the pipelines of a dry run ahead; the dry run runs nothing; the real run is unchanged', async () => {
    const engine = await testEngine();
    const a = engine.tensor([0.5, -1, 2, 0.25, 1.5, -0.75], [2, 3]);
    a.requiresGrad = true;
    const b = engine.tensor([1, 0.5, -0.5, 2, 0.25, -1, 0.75, 1.25, -2], [3, 3]);
    b.requiresGrad = true;
    a.keep();
    b.keep();
    const keepMe = engine.tensor([1, 2, 3, 4], [4]).keep();
    const rng = { ...engine.rng };
    const d0 = engine.runner.dispatchCount;
    const p = await engine.preparePipelines(() => {
      step(engine, a, b);
      engine.uniform([4]); // advances the RNG stream in a real run
      engine.runner.copyEncoder().clearBuffer(keepMe.gpuBuffer.buffer, keepMe.byteOffset, keepMe.byteLength);
    });
    expect(p.created, 'pipelines created by the dry run').toBeGreaterThan(3);
    expect(engine.runner.dispatchCount - d0, 'dispatches of the dry run').toBe(0);
    expect(engine.rng, 'RNG state after the dry run').toEqual(rng);
    expect([...(await keepMe.read())], 'a tensor the dry run cleared').toEqual([1, 2, 3, 4]);
    a.grad = null;
    b.grad = null;
    // The same again: nothing left to create.
    expect((await engine.preparePipelines(() => void step(engine, a, b))).created, 'pipelines created by a second dry run').toBe(0);
    a.grad = null;
    b.grad = null;
    const got = await Promise.all(engine.scope(() => step(engine, a, b).map((t) => t.keep())).map((t) => t.read()));
    // CPU float64 of the same step.
    const A = [0.5, -1, 2, 0.25, 1.5, -0.75];
    const B = [1, 0.5, -0.5, 2, 0.25, -1, 0.75, 1.25, -2];
    const bias = await engine.uniform([3], -1, 1, { seed: 7 }).read();
    let y = 0;
    const gA = new Array<number>(6).fill(0);
    const gB = new Array<number>(9).fill(0);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) {
      let z = bias[j]!;
      for (let k = 0; k < 3; k++) z += A[i * 3 + k]! * B[k * 3 + j]!;
      const s = 1 / (1 + Math.exp(-z));
      y += s;
      const dz = s * (1 - s);
      for (let k = 0; k < 3; k++) {
        gA[i * 3 + k]! += dz * B[k * 3 + j]!;
        gB[k * 3 + j]! += dz * A[i * 3 + k]!;
      }
    }
    const close = (g: Float32Array, w: number[], what: string): void => {
      const err = Math.max(...w.map((v, i) => Math.abs(v - g[i]!)));
      expect(err, `${what}: max abs error vs float64`).toBeLessThan(1e-5);
    };
    close(got[0]!, [y], 'sum(sigmoid(a[2,3] @ b[3,3] + bias[3]))');
    close(got[1]!, gA, 'grad a [2,3]');
    close(got[2]!, gB, 'grad b [3,3]');
  });

  it('a readback inside the dry run is an error naming preparePipelines', async () => {
    const engine = await testEngine();
    const x = engine.tensor([1, 2], [2]).keep();
    let readRejected = false;
    await expect(engine.preparePipelines(() => void x.read().catch(() => (readRejected = true)))).rejects.toThrow(/preparePipelines: the dry run read back or flushed/);
    expect(readRejected, 'the read itself fails too').toBe(true);
    await expect(engine.runner.preparePipelines(() => engine.flush())).rejects.toThrow(/dry run read back or flushed/);
    // The engine still works afterwards.
    expect([...(await engine.scope(() => ops.mulScalar(x, 3).keep()).read())]).toEqual([3, 6]);
  });
});
