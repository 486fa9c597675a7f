// Example: a small conv net on Fashion-MNIST (NHWC): conv 3x3 1 -> 16, ReLU, 2x2 max-pool, conv 3x3 16 -> 32,
// ReLU, 2x2 max-pool, linear 1568 -> 10; cross-entropy and Adam (examples/classifier.ts).
//   npm run example conv-net [FOLDER] [--steps 300] [--batch 32] [--min-accuracy A]
// FOLDER holds the Fashion-MNIST .gz files (default: $AGAVE_DATA_DIR/fashion-mnist); without them it says so and
// exits 0. With --min-accuracy it exits 1 when the test accuracy is below it.
import { Engine, Layers, ops, type Tensor } from 'agave-webgpu';
import { trainClassifier } from './classifier.js';
import { fashionMnistFolder, flag, loadFromFolder, positional } from './fashion-mnist-node.js';

const { folder, why } = fashionMnistFolder(positional());
if (!folder) {
  console.log(`conv-net: skipped, Fashion-MNIST not found (${why}); pass its folder or set AGAVE_DATA_DIR`);
  process.exit(0);
}
const steps = Number(flag('steps') ?? 300);
const batch = Number(flag('batch') ?? 32);
const minAccuracy = flag('min-accuracy') === undefined ? null : Number(flag('min-accuracy'));

const data = await loadFromFolder(folder);
const engine = await Engine.create({ seed: 1 });

const nn = new Layers();
const conv1 = nn.conv2d('conv1', 1, 16, { kernel: 3, pad: 'same', init: 'heNormal' });
const conv2 = nn.conv2d('conv2', 16, 32, { kernel: 3, pad: 'same', init: 'heNormal' });
const fc = nn.linear('fc', 7 * 7 * 32, 10);
const params = nn.create(engine, { seed: 1 });
const logits = (x: Tensor): Tensor => {
  const img = ops.reshape(x, [x.shape[0]!, 28, 28, 1]);
  const h1 = ops.maxPool2d(ops.relu(conv1.forward(img)), { size: 2 });
  const h2 = ops.maxPool2d(ops.relu(conv2.forward(h1)), { size: 2 });
  return fc.forward(ops.reshape(h2, [x.shape[0]!, 7 * 7 * 32]));
};
console.log(`conv net: ${params.count} parameters; ${engine.description}`);
const result = await trainClassifier(engine, data, { params, logits }, { steps, batch, lr: 2e-3, logEvery: 50, log: (s, loss) => console.log(`step ${s}: loss ${loss.toFixed(4)}`) });
console.log(`test accuracy ${(100 * result.testAccuracy).toFixed(2)}% after ${steps} steps of batch ${batch}; ${result.msPerStep.toFixed(1)} ms per step`);
params.dispose();
engine.dispose();
if (minAccuracy !== null && !(result.testAccuracy >= minAccuracy)) {
  console.error(`test accuracy ${result.testAccuracy} is below --min-accuracy ${minAccuracy}`);
  process.exit(1);
}
