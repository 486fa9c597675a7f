// `npm run bench -- <name> [--sizes 256,512,1024,2048]`: names are matmul, elementwise, reduce, dispatch, core
// (all four). Prints markdown tables. Kernels are timed device-synchronised; see bench/harness.ts.
import { parseArgs } from 'node:util';
import { Engine } from '../engine/index.js';
import { benchDispatch, benchElementwise, benchMatmul, benchNin, benchReduce } from './core.js';
import { benchConv } from './conv.js';
import { benchOptim } from './optim.js';
import { benchClassify, benchOptimizers } from './classify.js';
import { benchVaeOps } from './vae_ops.js';
import { benchDmol } from './likelihood.js';
import { benchStep } from './step.js';
import { benchSample } from './sample.js';
import { compareStep, stepperBundle } from './compare.js';
import { benchTune } from './tune.js';
import { browserTune } from './browser.js';
import { benchAllreduce } from './allreduce.js';
import { DataParallel } from '../train/distributed/data-parallel.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { sizes: { type: 'string' }, configs: { type: 'string' }, batch: { type: 'string' }, steps: { type: 'string' }, profile: { type: 'boolean' }, compare: { type: 'string' }, rounds: { type: 'string' }, 'no-pipeline': { type: 'boolean' }, prepare: { type: 'boolean' }, census: { type: 'boolean' }, 'build-only': { type: 'boolean' }, 'naive-pixels': { type: 'string' }, rows: { type: 'string' }, check: { type: 'boolean' }, 'bucket-ms': { type: 'string' }, 'tables-only': { type: 'boolean' }, browser: { type: 'boolean' }, 'tune-cache': { type: 'string' }, tune: { type: 'string' }, filter: { type: 'string' }, variants: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
const BENCHES = ['matmul', 'nin', 'elementwise', 'reduce', 'dispatch', 'core', 'conv', 'optim', 'optimizers', 'classify', 'vae', 'dmol', 'step', 'sample', 'tune', 'allreduce'];
if (values.help || positionals.length === 0) {
  console.log(`usage: npm run bench -- <${BENCHES.join('|')}> [--sizes 256,512,1024,2048] [--filter substring] [--variants a,b]
  core = matmul + nin + elementwise + reduce + dispatch; classify: softmax, crossEntropy, argmax, layerNorm, maxPool2d,
  gather forward and backward; optimizers: one SGD / Adam / AdamW / Adamax step over a 16M-parameter arena; nin: the nin layers' matmuls of the training step; conv: --filter selects cases by name, --variants auto (default),direct64,tiled64,naive,...;
  step: the training loop's step: ms, img/s, dispatches/step, peak memory; --configs tiny,small,paper (or small:8,paper:1,
    each with its own batch) --batch N --steps N
    --profile (GPU time per kernel family and kernel) --no-pipeline (the old loop's sequential step)
    --prepare (create the step's pipelines ahead, asynchronously; the start-up table shows what it saves)
    --census (dispatches per step by op label: where they come from)
    --tune off|cached|on, --tune-cache DIR (the kernel choices the step runs with; default off)
    --compare REV: REV's step beside this tree's in this process, alternated (--rounds N blocks of --steps N each);
    REV is a commit (main, HEAD~1, a hash; bundled into .bench-cache/) or a stepper bundle .js; --build-only builds it
  tune: per config (--configs, default small:8,paper:1) tune one step's kernel choices from scratch and print every
    bucket's candidates (ms), static choice and winner; then the tuned step beside --tune off, alternated
    (--rounds N blocks of --steps N); --bucket-ms MS the race budget per bucket; --tables-only skips the steps;
    --browser: the same in headless Chromium (its WebGPU: SwiftShader here; default config small:8);
    --tune-cache DIR: read and write that tuning cache (a second run races only what is missing)
  allreduce: under  mpirun -np N node dist/bench.js allreduce [--configs small,paper]  the data-parallel gradient
    all-reduce of each config's parameter arena (GPU -> host -> MPI_Allreduce -> GPU, and MPI alone); needs Open MPI and koffi`);
  process.exit(values.help ? 0 : 1);
}
for (const p of positionals) if (!BENCHES.includes(p)) throw new Error(`unknown benchmark '${p}' (have ${BENCHES.join(', ')})`);
const num = (name: 'batch' | 'steps' | 'rounds' | 'bucket-ms'): number | undefined => {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be an integer >= 1, got '${v}'`);
  return n;
};
if (values['build-only']) {
  if (!values.compare) throw new Error('--build-only needs --compare REV');
  console.log(await stepperBundle(values.compare));
  process.exit(0);
}

/** NAME or NAME:BATCH (its own batch, e.g. small:8,paper:1), comma-separated. */
function stepConfigs(list: string): { config: 'tiny' | 'quick' | 'small' | 'paper'; batch?: number }[] {
  return list.split(',').map((entry) => {
    const [c, b] = entry.split(':') as [string, string | undefined];
    if (!['tiny', 'quick', 'small', 'paper'].includes(c)) throw new Error(`--configs: unknown config '${c}' (have tiny, quick, small, paper)`);
    if (b !== undefined && !(Number.isInteger(Number(b)) && Number(b) >= 1)) throw new Error(`--configs: batch of '${entry}' must be an integer >= 1`);
    return { config: c as 'tiny' | 'quick' | 'small' | 'paper', ...(b !== undefined ? { batch: Number(b) } : {}) };
  });
}

if (positionals.includes('tune')) {
  const steps = num('steps');
  const rounds = num('rounds');
  const bucketMs = num('bucket-ms');
  if (values.browser) await browserTune(stepConfigs(values.configs ?? 'small:8'), { ...(num('steps') ? { steps: num('steps')! } : {}), ...(num('rounds') ? { rounds: num('rounds')! } : {}), ...(num('bucket-ms') ? { bucketMs: num('bucket-ms')! } : {}) });
  else await benchTune(stepConfigs(values.configs ?? 'small:8,paper:1'), { ...(steps ? { steps } : {}), ...(rounds ? { rounds } : {}), ...(bucketMs ? { bucketMs } : {}), tablesOnly: values['tables-only'] ?? false, ...(values['tune-cache'] ? { cache: values['tune-cache'] } : {}) });
  if (positionals.length === 1) process.exit(0);
}

// The all-reduce bench runs as one MPI rank; its GPU is chosen (train/distributed/gpu-select.ts) before WebGPU starts.
const dp = positionals.includes('allreduce') ? await DataParallel.start({ backend: 'mpi', checksumEvery: Number.MAX_SAFE_INTEGER, timeoutSeconds: 600 }, console.log) : null;
const engine = await Engine.create();
console.log(`adapter: ${engine.description}`);
try {
  const want = (n: string): boolean => positionals.includes(n) || positionals.includes('core');
  if (want('matmul')) await benchMatmul(engine, (values.sizes ?? '256,512,1024,2048').split(',').map(Number));
  if (want('nin')) await benchNin(engine);
  if (want('elementwise')) await benchElementwise(engine);
  if (want('reduce')) await benchReduce(engine);
  if (want('dispatch')) await benchDispatch(engine);
  if (positionals.includes('optim')) await benchOptim(engine);
  if (positionals.includes('optimizers')) await benchOptimizers(engine);
  if (positionals.includes('classify')) await benchClassify(engine);
  if (positionals.includes('vae')) await benchVaeOps(engine);
  if (positionals.includes('dmol')) await benchDmol(engine);
  if (positionals.includes('step')) {
    const configs = stepConfigs(values.configs ?? 'tiny,small');
    const batch = num('batch');
    const steps = num('steps');
    const rounds = num('rounds');
    const pipeline = !values['no-pipeline'];
    const tune = values.tune ?? 'off';
    if (tune !== 'off' && tune !== 'cached' && tune !== 'on') throw new Error(`--tune must be off, cached or on, got '${tune}'`);
    if (values.compare) await compareStep(configs, { rev: values.compare, ...(batch ? { batch } : {}), ...(steps ? { steps } : {}), ...(rounds ? { rounds } : {}), pipeline });
    else await benchStep(configs, { ...(batch ? { batch } : {}), ...(steps ? { steps } : {}), profile: values.profile ?? false, pipeline, prepare: values.prepare ?? false, census: values.census ?? false, tune, ...(values['tune-cache'] ? { tuneCache: values['tune-cache'] } : {}) });
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
  if (dp) {
    const configs = (values.configs ?? 'small,paper').split(',') as ('tiny' | 'quick' | 'small' | 'paper')[];
    await benchAllreduce(engine, dp, configs, num('steps') ?? 5);
  }
} finally {
  engine.dispose();
  dp?.finish();
}
