// The examples' Fashion-MNIST MLP (784-256-10, ReLU, softmax cross-entropy, Adam, batch 128) on TensorFlow.js's
// WebGPU backend in Node (Dawn from the `webgpu` package, its globals installed), timed like the engine's
// example (examples/fashion-mnist-mlp.ts): wall time per step after the first 10, batches copied from the CPU
// every step, the loss read back every 100 steps. tfjs is never a dependency of this repository: run it from a
// scratch folder,
//   mkdir /tmp/tfjs && cp bench/tfjs-mlp.mjs /tmp/tfjs && cd /tmp/tfjs && npm init -y &&
//   npm install @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-webgpu@4.22.0 webgpu@0.6.2 &&
//   AGAVE_DATA_DIR=<folder with fashion-mnist/> node tfjs-mlp.mjs webgpu 300
// and the engine's side with `npm run example fashion-mnist-mlp -- --steps 300` on the same machine, alternated.
// (tfjs's synchronous readbacks need OffscreenCanvas, which Node lacks: everything here reads asynchronously.)
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
globalThis.navigator = { gpu: create([]) };
const tf = await import('@tensorflow/tfjs');
await import('@tensorflow/tfjs-backend-webgpu');
const backend = process.argv[2] ?? 'webgpu';
await tf.setBackend(backend);
await tf.ready();
const steps = Number(process.argv[3] ?? 300);
const dir = process.env.AGAVE_DATA_DIR + '/fashion-mnist/';
const idx = (f) => new Uint8Array(gunzipSync(readFileSync(dir + f)));
const ti = idx('train-images-idx3-ubyte.gz').subarray(16), tl = idx('train-labels-idx1-ubyte.gz').subarray(8);
const vi = idx('t10k-images-idx3-ubyte.gz').subarray(16), vl = idx('t10k-labels-idx1-ubyte.gz').subarray(8);
const images = Float32Array.from(ti, (v) => v / 255);
const B = 128;
const w1 = tf.variable(tf.randomNormal([784, 256], 0, Math.sqrt(2 / 784)));
const b1 = tf.variable(tf.zeros([256]));
const lim = Math.sqrt(6 / 266);
const w2 = tf.variable(tf.randomUniform([256, 10], -lim, lim));
const b2 = tf.variable(tf.zeros([10]));
const model = (x) => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2), b2);
const opt = tf.train.adam(2e-3);
const xs = new Float32Array(B * 784), ys = new Int32Array(B);
let t0 = 0, last = 0;
for (let s = 0; s < steps; s++) {
  if (s === 10) { t0 = performance.now(); }
  for (let i = 0; i < B; i++) { const k = Math.floor(Math.random() * 60000); xs.set(images.subarray(k * 784, k * 784 + 784), i * 784); ys[i] = tl[k]; }
  const loss = tf.tidy(() => {
    const x = tf.tensor2d(xs, [B, 784]);
    const y = tf.oneHot(tf.tensor1d(ys, 'int32'), 10);
    return opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model(x)), true);
  });
  if ((s + 1) % 100 === 0 || s + 1 === steps) last = (await loss.data())[0];
  loss.dispose();
}
const ms = (performance.now() - t0) / (steps - 10);
const accT = tf.tidy(() => {
  const x = tf.tensor2d(Float32Array.from(vi, (v) => v / 255), [10000, 784]);
  return tf.mean(tf.cast(tf.equal(tf.argMax(model(x), 1), tf.tensor1d(Int32Array.from(vl), 'int32')), 'float32'));
});
const acc = (await accT.data())[0];
console.log(`tfjs ${tf.version.tfjs} backend ${tf.getBackend()}: ${steps} steps, ${ms.toFixed(1)} ms per step, final loss ${last.toFixed(4)}, test accuracy ${(100 * acc).toFixed(2)}%`);
process.exit(0);
