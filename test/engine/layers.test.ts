// The layer kit (engine/layers/): named initialisers draw exactly the Philox values of their std or limit from
// the fans (against the float64 Philox reference); Linear, Conv2d ('same' padding, stride 2) and LayerNorm
// forward and gradients against float64 references; one ParameterSet for the whole model; the errors a user
// hits (module used before create, duplicate names, wrong input sizes); a tiny model trains with Adam.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Layers, initializer, ops, type Engine } from '../../engine/index.js';
import { refConv2d, refConv2dVjp, type RefConvGeom } from '../reference/conv.js';
import { refLayerNorm, refLayerNormVjp } from '../reference/classify.js';
import * as R from '../reference/ops.js';
import { compare, mulberry32, randomData } from '../reference/gradcheck.js';
import { refNormal, refUniform } from '../reference/philox.js';
import { ref } from '../reference/tensor.js';
import { disposeTestEngine, roundF32, testEngine, toGpu } from '../helpers/gpu.js';

let engine: Engine;
beforeAll(async () => {
  engine = await testEngine();
});
afterAll(disposeTestEngine);

describe('named initialisers', () => {
  it('He, Glorot and LeCun give the std / limit of their definitions, drawn from the Philox stream of each parameter', async () => {
    const nn = new Layers();
    nn.linear('a', 37, 11, { init: 'heNormal' });
    nn.linear('b', 37, 11, { init: 'heUniform', bias: false });
    nn.conv2d('c', 3, 5, { kernel: [3, 2], init: 'glorotNormal' });
    nn.conv2d('d', 3, 5, { kernel: 3, init: 'glorotUniform', biasInit: { uniform: 0.5 } });
    nn.linear('e', 20, 7, { init: 'lecunNormal' });
    const want = [
      ['a.w', { normal: Math.sqrt(2 / 37) }],
      ['a.b', 'zeros'],
      ['b.w', { uniform: Math.sqrt(6 / 37) }],
      ['c.w', { normal: Math.sqrt(2 / (18 + 30)) }],
      ['c.b', 'zeros'],
      ['d.w', { uniform: Math.sqrt(6 / (27 + 45)) }],
      ['d.b', { uniform: 0.5 }],
      ['e.w', { normal: Math.sqrt(1 / 20) }],
      ['e.b', 'zeros'],
    ] as const;
    expect(nn.declared.map((s) => [s.name, s.init])).toEqual(want);
    const params = nn.create(engine, { seed: 31 });
    for (const [i, [name, init]] of want.entries()) {
      const got = await params.get(name).read();
      const n = got.length;
      const expected = init === 'zeros' ? new Float64Array(n) : 'normal' in init ? refNormal(n, 31, i, 0, init.normal) : refUniform(n, 31, i, -init.uniform, init.uniform);
      const r = compare(`initial '${name}' ${JSON.stringify(init)}`, params.get(name).shape, got, expected, 1e-5);
      expect(r.err, r.message).toBeLessThanOrEqual(1e-5);
    }
    expect(initializer({ normal: 0.1 }, 1, 1)).toEqual({ normal: 0.1 });
    expect(() => initializer('heNormal', 0, 3)).toThrow(/initializer 'heNormal': fans must be positive/);
    params.dispose();
  });
});

describe('modules vs float64', () => {
  it('Linear (2-D and batched input), Conv2d (same padding, stride 2) and LayerNorm: forward and every gradient', async () => {
    const rng = mulberry32(41);
    const nn = new Layers();
    const fc = nn.linear('fc', 13, 6);
    const conv = nn.conv2d('conv', 3, 5, { kernel: 3, stride: 2, pad: 'same', biasInit: { uniform: 0.3 } });
    const ln = nn.layerNorm('ln', 6);
    const params = nn.create(engine, { seed: 5 });
    const p = async (name: string) => ref(params.get(name).shape, await params.get(name).read());
    const [fw, fb, cw, cb, g, b] = await Promise.all(['fc.w', 'fc.b', 'conv.w', 'conv.b', 'ln.gamma', 'ln.beta'].map(p));
    const x1 = roundF32(randomData(rng, [2, 7, 13]));
    const x2 = roundF32(randomData(rng, [2, 9, 7, 3]));
    expect(conv.padFor(9, 7), "'same' at stride 2 on 9 x 7: ceil(9/2) x ceil(7/2) outputs").toEqual([1, 1, 1, 1]);
    const c1 = roundF32(randomData(rng, [2, 7, 6]));
    const c2 = roundF32(randomData(rng, [2, 5, 4, 5]));
    params.zeroGrad();
    const [y1, y2] = await engine.asyncScope(async () => {
      const a = ln.forward(fc.forward(toGpu(engine, x1))).keep();
      const c = conv.forward(toGpu(engine, x2)).keep();
      engine.backward(ops.add(ops.sum(ops.mul(a, toGpu(engine, c1))), ops.sum(ops.mul(c, toGpu(engine, c2)))));
      const values = [await a.read(), await c.read()];
      a.dispose();
      c.dispose();
      return values;
    });
    // Reference: ln(x1 fw + fb), conv2d(x2, cw, cb) with padding [1, 1, 1, 1] at stride 2.
    const lin = R.add(R.matmul(ref([14, 13], x1.data), fw!), fb!);
    const ya = refLayerNorm(lin, g!, b!, 1e-5);
    const geom: RefConvGeom = { taps: [0, 1, 2].flatMap((i) => [0, 1, 2].map((j): [number, number] => [i, j])), stride: 2, pad: [1, 1, 1, 1] };
    const cwTaps = ref([9, 3, 5], cw!.data); // [T, Cin, Cout]: the reference's layout of a full 3x3 kernel
    const yc = refConv2d(x2, cwTaps, cb!, geom);
    for (const [what, got, want] of [['Linear + LayerNorm', y1!, ya.data], ['Conv2d', y2!, yc.data]] as const) {
      const r = compare(`${what} forward`, [], got, want, 1e-5);
      expect(r.err, r.message).toBeLessThanOrEqual(1e-5);
    }
    const [, dwTaps, dbias] = refConv2dVjp(x2, cwTaps, cb!, geom, c2);
    const dw = ref(cw!.shape, dwTaps!.data);
    for (const [name, want] of [['conv.w', dw], ['conv.b', dbias!]] as const) {
      const r = compare(`Conv2d gradient '${name}'`, want.shape, await params.get(name).grad!.read(), want.data, 1e-4);
      expect(r.err, r.message).toBeLessThanOrEqual(1e-4);
    }
    // Through the norm to the linear layer: dL/dlin from the norm's vjp, then dL/dw = x^T dlin, dL/db its column sums.
    const [dlin, dgamma, dbeta] = refLayerNormVjp(lin, g!, b!, 1e-5, ref([14, 6], c1.data));
    const dfw = R.matmul(ref([14, 13], x1.data), dlin!, true, false);
    const dfb = R.sum(dlin!, [0]);
    for (const [name, want] of [['fc.w', dfw], ['fc.b', dfb], ['ln.gamma', dgamma!], ['ln.beta', dbeta!]] as const) {
      const r = compare(`Linear + LayerNorm gradient '${name}'`, want.shape, await params.get(name).grad!.read(), want.data, 1e-4);
      expect(r.err, r.message).toBeLessThanOrEqual(1e-4);
    }
    params.dispose();
  });

  it('says what is wrong: a module used before create(), duplicate names, wrong input sizes, a declaration after create()', () => {
    const nn = new Layers();
    const fc = nn.linear('fc', 4, 2);
    expect(() => fc.forward(engine.zeros([1, 4]))).toThrow(/fc\.forward: call create\(engine, \{ seed \}\) on the Layers first/);
    expect(() => nn.linear('fc', 2, 2)).toThrow(/a parameter 'fc.w' is already declared/);
    expect(() => nn.conv2d('c', 3, 0, { kernel: 3 })).toThrow(/Layers.conv2d 'c': outChannels must be a positive integer, got 0/);
    const params = nn.create(engine, { seed: 1 });
    expect(() => fc.forward(engine.zeros([1, 5]))).toThrow(/fc\.forward: input \[1, 5\] must end in 4 features/);
    expect(() => nn.linear('late', 1, 1)).toThrow(/'late.w' declared after create\(\)/);
    expect(() => nn.create(engine, { seed: 1 })).toThrow(/already created/);
    params.dispose();
  });
});

describe('a model in a few lines', () => {
  it('a 2-16-2 classifier (Linear, relu, crossEntropy, Adam) separates two rings', async () => {
    const nn = new Layers();
    const fc1 = nn.linear('fc1', 2, 16, { init: 'heNormal' });
    const fc2 = nn.linear('fc2', 16, 2);
    const params = nn.create(engine, { seed: 2 });
    const n = 128;
    const xs = new Float32Array(2 * n);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const r = i % 2 === 0 ? 0.5 : 1.5;
      const t = (2 * Math.PI * i) / n;
      xs[2 * i] = r * Math.cos(t);
      xs[2 * i + 1] = r * Math.sin(t);
      labels[i] = i % 2;
    }
    const x = engine.tensor(xs, [n, 2]);
    const y = engine.tensor(labels);
    const lossAt = (train: boolean): Promise<number> =>
      engine.asyncScope(async () => {
        if (train) params.zeroGrad();
        const loss = ops.crossEntropy(fc2.forward(ops.relu(fc1.forward(x))), y);
        const value = loss.item();
        if (train) {
          engine.backward(loss);
          params.adamStep({ lr: 0.05 });
        }
        return value;
      });
    const first = await lossAt(false);
    for (let s = 0; s < 60; s++) await lossAt(true);
    const last = await lossAt(false);
    const accuracy = await engine.asyncScope(() => ops.mean(ops.equal(ops.argmax(fc2.forward(ops.relu(fc1.forward(x)))), y)).item());
    expect(last, `loss ${first} -> ${last} after 60 Adam steps`).toBeLessThan(first / 4);
    expect(accuracy, 'training accuracy on the two rings').toBeGreaterThan(0.95);
    for (const t of [x, y]) t.dispose();
    params.dispose();
  });
});
