// Example: an op of your own, a WGSL kernel with its backward, registered on the tape through the public API
// (engine.dispatch + engine.tape.record), checked against a float64 finite-difference gradient, then trained
// like any op. The op: a scaled softsign y[n, c] = a[c] * x[n, c] / (1 + |x[n, c]|), differentiable in x and in
// the per-channel scale a.
//   npm run example custom-op
import { Engine, Layers, ops, type KernelSource, type Tensor } from 'agave-webgpu';

// Kernels are { name, code }: one @compute fn main, bindings in @group(0) matched by name (read-only storage =
// inputs, read_write = outputs, one uniform struct filled from `params`). 1-D index over the runner's 2-D folding.
const forwardKernel: KernelSource = {
  name: 'example_scaled_softsign',
  code: /* wgsl */ `
    struct Params { n: u32, channels: u32 }
    @group(0) @binding(0) var<uniform> params: Params;
    @group(0) @binding(1) var<storage, read> x: array<f32>;
    @group(0) @binding(2) var<storage, read> a: array<f32>;
    @group(0) @binding(3) var<storage, read_write> y: array<f32>;
    @compute @workgroup_size(256)
    fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
      let i = (wid.y * nwg.x + wid.x) * 256u + lid;
      if (i >= params.n) { return; }
      y[i] = a[i % params.channels] * x[i] / (1.0 + abs(x[i]));
    }`,
};

// Backward: dx = g a / (1 + |x|)^2 for every element, and g x / (1 + |x|) per element, whose column sums are da.
const backwardKernel: KernelSource = {
  name: 'example_scaled_softsign_backward',
  code: /* wgsl */ `
    struct Params { n: u32, channels: u32 }
    @group(0) @binding(0) var<uniform> params: Params;
    @group(0) @binding(1) var<storage, read> x: array<f32>;
    @group(0) @binding(2) var<storage, read> a: array<f32>;
    @group(0) @binding(3) var<storage, read> g: array<f32>;
    @group(0) @binding(4) var<storage, read_write> dx: array<f32>;
    @group(0) @binding(5) var<storage, read_write> da_terms: array<f32>;
    @compute @workgroup_size(256)
    fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
      let i = (wid.y * nwg.x + wid.x) * 256u + lid;
      if (i >= params.n) { return; }
      let d = 1.0 + abs(x[i]);
      dx[i] = g[i] * a[i % params.channels] / (d * d);
      da_terms[i] = g[i] * x[i] / d;
    }`,
};

/** y = a * softsign(x) for x [N, C], a [C]. */
export function scaledSoftsign(x: Tensor, a: Tensor): Tensor {
  const engine = x.engine;
  const channels = a.size;
  if (x.rank !== 2 || x.shape[1] !== channels) throw new Error(`scaledSoftsign: x [${x.shape}] must be [N, ${channels}] for a [${a.shape}]`);
  const params = { n: x.size, channels };
  const workgroups = Math.ceil(x.size / 256);
  const y = engine.empty(x.shape, 'scaledSoftsign');
  engine.dispatch({ kernel: forwardKernel, params, inputs: { x, a }, outputs: { y }, workgroups });
  // The rule gets dL/dy and returns new tensors dL/dx, dL/da (null where an input needs none); it runs with
  // recording off. x and a stay alive until the backward (the tape frees only the op's output).
  return engine.tape.record('scaledSoftsign', y, [x, a], (g) => {
    const dx = engine.empty(x.shape, 'scaledSoftsign.dx');
    const daTerms = engine.empty(x.shape, 'scaledSoftsign.daTerms');
    engine.dispatch({ kernel: backwardKernel, params, inputs: { x, a, g }, outputs: { dx, da_terms: daTerms }, workgroups });
    const da = ops.sum(daTerms, 0);
    daTerms.dispose();
    return [x.requiresGrad ? dx : (dx.dispose(), null), da];
  });
}

/** The op in float64 on the CPU: L = sum(c * a * x / (1 + |x|)). */
function lossF64(x: ArrayLike<number>, a: ArrayLike<number>, c: ArrayLike<number>, channels: number): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += c[i]! * a[i % channels]! * x[i]! / (1 + Math.abs(x[i]!));
  return s;
}

const engine = await Engine.create({ seed: 3 });
const [N, C] = [37, 13];
const random = (n: number, lo: number, hi: number): Float32Array => Float32Array.from({ length: n }, () => Math.fround(lo + (hi - lo) * Math.random()));
const xv = random(N * C, -3, 3);
const av = random(C, 0.5, 2);
const cv = random(N * C, -1, 1);

// 1. The gradient check: <t, dL/d(x, a)> from the GPU against central differences of the float64 loss along t.
const x = engine.tensor(xv, [N, C]);
const a = engine.tensor(av, [C]);
x.requiresGrad = true;
a.requiresGrad = true;
engine.scope(() => engine.backward(ops.sum(ops.mul(scaledSoftsign(x, a), engine.tensor(cv, [N, C])))));
const [dx, da] = [await x.grad!.read(), await a.grad!.read()];
const tx = random(N * C, -1, 1);
const ta = random(C, -1, 1);
let lhs = 0;
for (let i = 0; i < tx.length; i++) lhs += tx[i]! * dx[i]!;
for (let i = 0; i < ta.length; i++) lhs += ta[i]! * da[i]!;
const h = 1e-6;
const shifted = (sign: number): number => lossF64(Array.from(xv, (v, i) => v + sign * h * tx[i]!), Array.from(av, (v, i) => v + sign * h * ta[i]!), cv, C);
const rhs = (shifted(1) - shifted(-1)) / (2 * h);
const relErr = Math.abs(lhs - rhs) / Math.max(Math.abs(lhs), Math.abs(rhs));
console.log(`gradient check of scaledSoftsign [${N}, ${C}]: GPU <t, grad> = ${lhs.toFixed(8)}, float64 finite differences ${rhs.toFixed(8)}, relative error ${relErr.toExponential(2)}`);
x.dispose();
a.dispose();

// 2. Trained like any op: a linear layer and the learnable scale fit y = 1.5 tanh(x w*).
const nn = new Layers();
const fc = nn.linear('fc', 4, 3);
nn.param('act.scale', [3], 'ones');
const params = nn.create(engine, { seed: 1 });
const inputs = engine.tensor(random(256 * 4, -2, 2), [256, 4]);
const target = engine.scope(() => ops.mulScalar(ops.tanh(ops.matmul(inputs, engine.tensor(random(12, -1, 1), [4, 3]))), 1.5));
const lossOf = (): Tensor => ops.mean(ops.square(ops.sub(scaledSoftsign(fc.forward(inputs), params.get('act.scale')), target)));
const before = await engine.asyncScope(() => lossOf().item());
for (let step = 0; step < 200; step++) {
  params.zeroGrad();
  engine.scope(() => engine.backward(lossOf()));
  params.adamStep({ lr: 0.03 });
}
const after = await engine.asyncScope(() => lossOf().item());
console.log(`training through it: loss ${before.toFixed(4)} -> ${after.toFixed(4)} after 200 Adam steps; learned scale [${[...(await params.get('act.scale').read())].map((v) => v.toFixed(3)).join(', ')}]`);
params.dispose();
engine.dispose();
if (!(relErr <= 1e-4) || !(after < before / 5)) {
  console.error('custom-op: the gradient check or the training failed');
  process.exit(1);
}
