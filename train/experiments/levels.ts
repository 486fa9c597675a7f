// Figure 8 of the paper: colour levels K of the auxiliary likelihood.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chartSvg, type Panel } from '../figures/svg.js';
import { composeGrids, runsTable, sweepPanel, type Experiment } from './common.js';

export const LEVELS: Experiment = {
  name: 'levels',
  title: 'Figure 8: colour levels K of the auxiliary likelihood',
  paper: 'Fewer colour levels in the auxiliary image give small but consistent gains in bits/dim (Fig. 5b/8, lambda 8); the VAE then models only coarse colour and leaves detail to the PixelCNN.',
  quickSteps: 150,
  runs: () => [256, 64, 32, 16].map((k) => ({ name: `levels-${k}`, label: `K ${k}`, options: k === 256 ? { lambda: 8 } : { aux: 'levels' as const, levels: k, lambda: 8 } })),
  async report(x) {
    const xs = [256, 64, 32, 16];
    const panels: Panel[] = [
      sweepPanel('PixelCNN decoder (the model of x)', 'colour levels K of y', xs, x.outcomes, [
        { name: 'total: -log p(x|z) + KL', value: (e) => e.testBitsPerDim },
        { name: '-log p(x|z)', value: (e) => e.pixelcnn },
      ], true),
      sweepPanel('KL', 'colour levels K of y', xs, x.outcomes, [{ name: 'KL', value: (e) => e.kl }], true),
      sweepPanel('VAE decoder', 'colour levels K of y', xs, x.outcomes, [{ name: '-log p(y|z) (bits per dim of y)', value: (e) => e.aux }], true),
      sweepPanel('VAE reconstruction quality', 'colour levels K of y', xs, x.outcomes, [{ name: 'PSNR of f(z) vs y', value: (e) => e.psnr }], true, 'dB'),
    ];
    writeFileSync(join(x.out, 'figure.svg'), chartSvg(`AGAVE: colour levels of the auxiliary image (${x.preset} preset, lambda 8)`, panels));
    composeGrids(join(x.out, 'reconstructions-and-samples.png'), x.outcomes, () => true);
    x.md.push('', '## Results', '', ...runsTable(x.outcomes), '', 'Figures: `figure.svg` (bits/dim against K), `reconstructions-and-samples.png` (per K).');
  },
};

