// Example: a 784-256-10 MLP on Fashion-MNIST with the engine's layer kit, cross-entropy and Adam (cosine
// schedule), in Node on Dawn. The model (mlp.ts) and loop (classifier.ts) are the browser page's too.
//   npm run example fashion-mnist-mlp [FOLDER] [--steps 1000] [--min-accuracy 0.85]
// FOLDER holds the four Fashion-MNIST .gz files (default: $AGAVE_DATA_DIR/fashion-mnist). Without them it says so
// and exits 0. With --min-accuracy it exits 1 when the test accuracy is below it (CI runs it that way).
import { Engine } from 'agave-webgpu';
import { fashionMnistFolder, flag, loadFromFolder, positional } from './fashion-mnist-node.js';
import { trainClassifier } from './classifier.js';
import { buildMlp } from './mlp.js';

const { folder, why } = fashionMnistFolder(positional());
if (!folder) {
  console.log(`fashion-mnist-mlp: skipped, Fashion-MNIST not found (${why}); pass its folder or set AGAVE_DATA_DIR`);
  process.exit(0);
}
const steps = Number(flag('steps') ?? 1000);
const minAccuracy = flag('min-accuracy') === undefined ? null : Number(flag('min-accuracy'));
if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps must be a positive integer, got ${flag('steps')}`);

const data = await loadFromFolder(folder);
const engine = await Engine.create({ seed: 1 });
console.log(`Fashion-MNIST: ${data.train.count} training and ${data.test.count} test images; ${engine.description}`);
const mlp = buildMlp(engine);
const result = await trainClassifier(engine, data, mlp, { steps, log: (step, loss) => console.log(`step ${step}: loss ${loss.toFixed(4)}`) });
mlp.params.dispose();
console.log(`test accuracy ${(100 * result.testAccuracy).toFixed(2)}% after ${steps} steps of batch 128; ${result.msPerStep.toFixed(1)} ms per step`);
engine.dispose();
if (minAccuracy !== null && !(result.testAccuracy >= minAccuracy)) {
  console.error(`test accuracy ${result.testAccuracy} is below --min-accuracy ${minAccuracy}`);
  process.exit(1);
}
