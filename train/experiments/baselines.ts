// Table 1 and Figure 2 of the paper: AGAVE beside its baselines PixelCNN++ alone and the IAF-VAE alone.
import { drawFigure2, FIGURE2_PAPER } from './figure2.js';
import { runsTable, type Experiment } from './common.js';

export const BASELINES: Experiment = {
  name: 'baselines',
  title: 'Table 1 and Figure 2: AGAVE beside its baselines PixelCNN++ alone and the IAF-VAE alone',
  paper: FIGURE2_PAPER,
  quickSteps: 300,
  runs: () => [
    { name: 'vae', label: 'IAF-VAE', options: { kind: 'vae', agaveSamples: 0, pixelcnnRecon: 0 } },
    { name: 'pixelcnn', label: 'PixelCNN++', options: { kind: 'pixelcnn', agaveSamples: 0, pixelcnnRecon: 0 } },
    { name: 'agave', label: 'AGAVE', options: { agaveSamples: 0, pixelcnnRecon: 0 } },
  ],
  async report(x) {
    const n = x.preset === 'quick' ? 8 : 16;
    const fig = await drawFigure2(x.outcomes.map((o) => o.dir), x.out, n, x.base.data, x.log, x.base.stopSignal);
    x.md.push('', '## Results', '', 'The same config, data, steps and evaluation for the three models (the baselines are parts of AGAVE trained alone: `--model vae`, `--model pixelcnn`). Test bits/dim: PixelCNN++ exact; IAF-VAE and AGAVE the single-sample bound -log p(x|z) + KL (for the IAF-VAE, -log p(x|z) is the `aux` column: its decoder models x).', '', ...runsTable(x.outcomes), '', ...fig.table);
  },
};

