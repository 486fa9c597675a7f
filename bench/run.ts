// `npm run bench -- <name> [--sizes 256,512,1024,2048]`: names are matmul, elementwise, reduce, dispatch, core
// (all four). Prints markdown tables. Kernels are timed device-synchronised; see bench/harness.ts.
import { parseArgs } from 'node:util';
import { Engine } from '../engine/index.js';
import { benchDispatch, benchElementwise, benchMatmul, benchReduce } from './core.js';
import { benchConv } from './conv.js';
import { benchOptim } from './optim.js';
import { benchVaeOps } from './vae_ops.js';
import { benchDmol } from './likelihood.js';
import { benchStep } from './step.js';
import { benchSample } from './sample.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { sizes: { type: 'string' }, configs: { type: 'string' }, batch: { type: 'string' }, steps: { type: 'string' }, profile: { type: 'boolean' }, 'naive-pixels': { type: 'string' }, rows: { type: 'string' }, check: { type: 'boolean' }, filter: { type: 'string' }, variants: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
const BENCHES = ['matmul', 'elementwise', 'reduce', 'dispatch', 'core', 'conv', 'optim', 'vae', 'dmol', 'step', 'sample'];
if (values.help || positionals.length === 0) {
  console.log(`usage: npm run bench -- <${BENCHES.join('|')}> [--sizes 256,512,1024,2048] [--filter substring] [--variants a,b]
  core = matmul + elementwise + reduce + dispatch; conv: --filter selects cases by name, --variants auto (default),direct64,tiled64,naive,...;
  step: training step time and peak memory, --configs tiny,small,paper --batch N --steps N --profile (GPU time per kernel)
  sample: autoregressive sampling, naive vs cached, --configs small,paper --batch 1,16 --naive-pixels N --rows N --check (full images, both samplers, compared)`);
  process.exit(values.help ? 0 : 1);
}
for (const p of positionals) if (!BENCHES.includes(p)) throw new Error(`unknown benchmark '${p}' (have ${BENCHES.join(', ')})`);

const engine = await Engine.create();
console.log(`adapter: ${engine.description}`);
try {
  const want = (n: string): boolean => positionals.includes(n) || positionals.includes('core');
  if (want('matmul')) await benchMatmul(engine, (values.sizes ?? '256,512,1024,2048').split(',').map(Number));
  if (want('elementwise')) await benchElementwise(engine);
  if (want('reduce')) await benchReduce(engine);
  if (want('dispatch')) await benchDispatch(engine);
  if (positionals.includes('optim')) await benchOptim(engine);
  if (positionals.includes('vae')) await benchVaeOps(engine);
  if (positionals.includes('dmol')) await benchDmol(engine);
  if (positionals.includes('step')) {
    const configs = (values.configs ?? 'tiny,small').split(',') as ('tiny' | 'small' | 'paper')[];
    await benchStep(configs, { ...(values.batch ? { batch: Number(values.batch) } : {}), ...(values.steps ? { steps: Number(values.steps) } : {}), profile: values.profile ?? false });
  }
  if (positionals.includes('sample')) {
    await benchSample({
      configs: (values.configs ?? 'small,paper').split(',') as ('tiny' | 'small' | 'paper')[],
      batches: (values.batch ?? '1,16').split(',').map(Number),
      ...(values['naive-pixels'] ? { naivePixels: Number(values['naive-pixels']) } : {}),
      ...(values.rows ? { rows: Number(values.rows) } : {}),
      check: values.check ?? false,
    });
  }
  if (positionals.includes('conv')) await benchConv(engine, values.filter, values.variants?.split(','));
} finally {
  engine.dispose();
}
