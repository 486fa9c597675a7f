// Table 1 of the paper: the importance-weighted bound (150 samples) beside the paper's values.
import { evaluate } from '../evaluate/evaluate.js';
import { formatDuration } from '../run/metrics.js';
import { setupRun } from '../step/setup.js';
import type { EvalRecord } from '../types.js';
import { fix, runsTable, type Experiment } from './common.js';

/** Table 1 of the paper (CIFAR-10 test bits/dim), printed beside ours. */
const PAPER_TABLE1: [string, string][] = [
  ['NICE', '4.48'], ['Conv. DRAW', '<= 3.58'], ['Real NVP', '3.49'], ['MatNet', '<= 3.24'], ['PixelCNN', '3.14'], ['VAE-IAF', '<= 3.11'],
  ['Gated PixelCNN', '3.03'], ['PixelRNN', '3.00'], ['Aux. PixelCNN', '2.98'], ['Lossy VAE', '<= 2.95'], ['PixelCNN++', '2.92'], ['AGAVE (lambda 12)', '<= 2.92'],
];

export const TABLE1: Experiment = {
  name: 'table1',
  title: 'Table 1: the importance-weighted bound',
  paper: 'AGAVE (lambda 12, 32x32 aux image): <= 2.92 bits/dim on the CIFAR-10 test set with 150 importance samples.',
  quickSteps: 300,
  runs: () => [{ name: 'model', label: 'lambda 12', options: { lambda: 12, agaveSamples: 0, pixelcnnRecon: 0 } }],
  async report(x) {
    const o = x.outcomes[0]!;
    const K = 150;
    const images = x.preset === 'quick' ? 32 : 10000;
    const run = await setupRun({ ...x.base, ...o.run.options, out: o.dir, resume: true, evalImages: images }, () => undefined);
    let rec: EvalRecord;
    const t0 = performance.now();
    try {
      x.log(`importance-weighted bound: K=${K} samples on ${images} test images`);
      rec = await evaluate(run, run.startStep, x.log, { iw: K, pixelcnnRecon: 0 });
    } finally {
      run.dispose();
    }
    x.md.push('', '## Results', '', ...runsTable(x.outcomes), '',
      `Bounds of the trained model on ${rec.images} test images (${formatDuration((performance.now() - t0) / 1000)}):`, '',
      '| bound | bits/dim |', '|---|---|',
      `| single sample: -log p(x\\|z) + KL | ${fix(rec.testBitsPerDim)} |`,
      `| importance-weighted, K = ${K} | ${fix(rec.iwBitsPerDim)} |`, '',
      `The paper's Table 1 (CIFAR-10 test set, full models trained for days on GPUs; ${x.preset === 'quick' ? 'not comparable with the quick preset, whose model is tiny, trained for minutes on 16x16 images' : 'the paper preset is the comparable one'}):`, '',
      '| model | bits/dim |', '|---|---|', ...PAPER_TABLE1.map(([m, v]) => `| ${m} | ${v} |`));
  },
};

