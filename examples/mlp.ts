// The Fashion-MNIST MLP of the examples: 784-256-10 with ReLU, built with the layer kit. The Node script
// (fashion-mnist-mlp.ts) and the browser page (browser/mlp-page.ts) both train it with classifier.ts: the same
// model and loop wherever WebGPU runs.
import { Layers, ops, type Engine } from 'agave-webgpu';
import type { Classifier } from './classifier.js';

export function buildMlp(engine: Engine, seed = 1, hidden = 256): Classifier {
  const nn = new Layers();
  const fc1 = nn.linear('fc1', 784, hidden, { init: 'heNormal' });
  const fc2 = nn.linear('fc2', hidden, 10);
  const params = nn.create(engine, { seed });
  return { params, logits: (x) => fc2.forward(ops.relu(fc1.forward(x))) };
}
