// A Node consumer of the packed library (test/consumer/run.mjs copies this into a fresh project that installed
// the tarball and `webgpu`, type-checks it with the project's own tsconfig, compiles and runs it): a 2-32-1 MLP
// fitted to a smooth function with ParameterSet's Adamax. Exits non-zero unless the loss falls 10-fold.
import { Engine, ParameterSet, ops, type Tensor } from 'agave-webgpu';

const engine = await Engine.create({ seed: 3 });
const n = 256;
const xs = new Float32Array(n * 2);
const ys = new Float32Array(n);
for (let i = 0; i < n; i++) {
  const a = -1 + (2 * (i % 16)) / 15;
  const b = -1 + (2 * Math.floor(i / 16)) / 15;
  xs[2 * i] = a;
  xs[2 * i + 1] = b;
  ys[i] = Math.sin(2 * a) + 0.5 * b * b;
}
const x = engine.tensor(xs, [n, 2]).keep();
const y = engine.tensor(ys, [n, 1]).keep();
const params = ParameterSet.create(engine, [
  { name: 'w1', shape: [2, 32], init: { normal: 0.7 } },
  { name: 'b1', shape: [32], init: 'zeros' },
  { name: 'w2', shape: [32, 1], init: { normal: 0.2 } },
  { name: 'b2', shape: [1], init: 'zeros' },
], 11);
const p = (name: string): Tensor => params.get(name);

async function step(train: boolean): Promise<number> {
  if (train) params.zeroGrad();
  const loss = engine.scope(() => {
    const h = ops.tanh(ops.add(ops.matmul(x, p('w1')), p('b1')));
    const out = ops.add(ops.matmul(h, p('w2')), p('b2'));
    const l = ops.mean(ops.square(ops.sub(out, y)));
    if (train) engine.backward(l);
    return l.keep();
  });
  if (train) params.adamaxStep({ lr: 0.02 });
  const value = (await loss.read())[0]!;
  loss.dispose();
  return value;
}

const first = await step(false);
for (let i = 0; i < 300; i++) await step(true);
const last = await step(false);
console.log(`MLP loss ${first.toFixed(4)} -> ${last.toFixed(4)} after 300 Adamax steps (${engine.description})`);
params.dispose();
engine.dispose();
if (!(last < first / 10)) throw new Error(`the MLP did not train: loss ${first} -> ${last}`);
