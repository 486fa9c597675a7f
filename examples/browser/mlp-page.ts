// The Fashion-MNIST MLP (../mlp.ts, trained by ../classifier.ts) in a browser page: the same model and loop as the
// Node example, on navigator.gpu. The page (index.html) imports this module and calls runMlpPage(); the data are
// the four .gz files fetched from `dataUrl` and gunzipped with the browser's DecompressionStream.
// Bundle it for the page with esbuild, leaving 'agave-webgpu' to the import map:
//   npx esbuild examples/browser/mlp-page.ts --bundle --format=esm --external:agave-webgpu --outfile=mlp-page.js
import { Engine } from 'agave-webgpu';
import { trainClassifier, type TrainResult } from '../classifier.js';
import { loadFashionMnist } from '../fashion-mnist.js';
import { buildMlp } from '../mlp.js';

export interface PageOptions {
  /** Where the four Fashion-MNIST .gz files are served (default './data'). */
  dataUrl?: string;
  steps?: number;
  log?: (line: string) => void;
}

async function fetchGunzipped(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok || !response.body) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await new Response(response.body.pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
}

export async function runMlpPage(o: PageOptions = {}): Promise<TrainResult & { description: string; steps: number }> {
  const log = o.log ?? ((line: string) => console.log(line));
  const steps = o.steps ?? 1000;
  const dataUrl = o.dataUrl ?? './data';
  const data = await loadFashionMnist((file) => fetchGunzipped(`${dataUrl}/${file}`));
  const engine = await Engine.create({ seed: 1 });
  log(`Fashion-MNIST: ${data.train.count} training, ${data.test.count} test images; ${engine.description}`);
  const mlp = buildMlp(engine);
  const result = await trainClassifier(engine, data, mlp, { steps, log: (step, loss) => log(`step ${step}: loss ${loss.toFixed(4)}`) });
  log(`test accuracy ${(100 * result.testAccuracy).toFixed(2)}% after ${steps} steps; ${result.msPerStep.toFixed(1)} ms per step`);
  mlp.params.dispose();
  const description = engine.description;
  engine.dispose();
  return { ...result, description, steps };
}
