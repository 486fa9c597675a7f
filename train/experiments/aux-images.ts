// Figure 9 / section 4.5 of the paper: low-resolution and grayscale auxiliary images.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chartSvg, type Panel } from '../figures/svg.js';
import type { TrainOptions } from '../types.js';
import { composeGrids, runsTable, sweepPanel, type Experiment } from './common.js';

export const AUX_IMAGES: Experiment = {
  name: 'aux-images',
  title: 'Figure 9 / section 4.5: low-resolution and grayscale auxiliary images',
  paper: 'Auxiliary images of 16x16 (2.94 bits/dim) and 8x8 (2.93) at 32x32 work almost as well as the full image (2.92); 4-bit grayscale: ECML version only (values not recovered).',
  quickSteps: 150,
  runs: (_p, _steps, size) => {
    const [half, quarter] = [`${size / 2}x${size / 2}`, `${size / 4}x${size / 4}`];
    return [
      { name: 'full', label: 'full image', options: { lambda: 8 } },
      { name: `res-${half}`, label: `${half} (half res.)`, options: { aux: half as TrainOptions['aux'], lambda: 8 } },
      { name: `res-${quarter}`, label: `${quarter} (quarter res.)`, options: { aux: quarter as TrainOptions['aux'], lambda: 8 } },
      { name: 'gray4', label: '4-bit gray', options: { aux: 'gray4', lambda: 8 } },
    ];
  },
  async report(x) {
    const xs = x.outcomes.map((_, i) => i + 1);
    const names = x.outcomes.map((o) => o.run.label).join(', ');
    const panels: Panel[] = [
      sweepPanel(`bits/dim per variant (${names})`, 'variant (1..4, see results.md)', xs, x.outcomes, [
        { name: 'total: -log p(x|z) + KL', value: (e) => e.testBitsPerDim },
        { name: '-log p(x|z)', value: (e) => e.pixelcnn },
      ]),
      sweepPanel('KL per variant', 'variant', xs, x.outcomes, [{ name: 'KL', value: (e) => e.kl }]),
    ];
    writeFileSync(join(x.out, 'figure.svg'), chartSvg(`AGAVE: auxiliary image variants (${x.preset} preset, lambda 8)`, panels));
    composeGrids(join(x.out, 'reconstructions-and-samples.png'), x.outcomes, () => true);
    x.md.push('', '## Results', '', ...runsTable(x.outcomes), '', 'Variants on the x axis of `figure.svg`: ' + x.outcomes.map((o, i) => `${i + 1} = ${o.run.label}`).join(', ') + '. `reconstructions-and-samples.png`: per variant the VAE output f(z) (at the aux resolution, shown enlarged), PixelCNN samples given it, VAE and AGAVE samples.');
  },
};

