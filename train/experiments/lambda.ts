// Figure 4 / Figure 3 of the paper: the KL weight lambda swept over 1..12.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chartSvg, type Panel } from '../figures/svg.js';
import { composeGrids, fix, runsTable, sweepPanel, type Experiment } from './common.js';

export const LAMBDA: Experiment = {
  name: 'lambda',
  title: 'Figure 4 / Figure 3: the KL weight lambda',
  paper: 'As lambda grows the KL falls towards 0, the VAE reconstruction cost rises quickly and the PixelCNN reconstruction cost slowly; lambda 1 -> 2 gains ~0.2 bits/dim, larger lambda small further gains (best: lambda 12, 2.92 bits/dim).',
  quickSteps: 150,
  runs: (p) => (p === 'quick' ? [1, 2, 4, 8, 12] : [1, 2, 4, 8, 12]).map((l) => ({ name: `lambda-${l}`, label: `lambda ${l}`, options: { lambda: l } })),
  async report(x) {
    const xs = x.outcomes.map((o) => o.run.options.lambda!);
    const panels: Panel[] = [
      sweepPanel('PixelCNN decoder', 'lambda', xs, x.outcomes, [
        { name: 'total: -log p(x|z) + KL', value: (e) => e.testBitsPerDim },
        { name: 'reconstruction -log p(x|z)', value: (e) => e.pixelcnn },
        { name: 'KL', value: (e) => e.kl },
      ]),
      sweepPanel('VAE decoder', 'lambda', xs, x.outcomes, [
        { name: 'total: -log p(y|z) + KL', value: (e) => (e.aux === null ? null : e.aux + e.kl) },
        { name: 'reconstruction -log p(y|z)', value: (e) => e.aux },
        { name: 'KL', value: (e) => e.kl },
      ]),
      sweepPanel('KL (log scale)', 'lambda', xs, x.outcomes, [{ name: 'KL', value: (e) => e.kl }]),
      sweepPanel('VAE reconstruction quality', 'lambda', xs, x.outcomes, [{ name: 'PSNR of f(z) vs y', value: (e) => e.psnr }], false, 'dB'),
    ];
    panels[2]!.logY = true;
    writeFileSync(join(x.out, 'figure.svg'), chartSvg(`AGAVE: effect of lambda (${x.preset} preset)`, panels));
    composeGrids(join(x.out, 'reconstructions-and-samples.png'), x.outcomes, () => true);
    x.md.push('', '## Results', '', ...runsTable(x.outcomes), '');
    const kls = x.outcomes.map((o) => o.final.kl);
    const falls = kls.every((k, i) => i === 0 || k <= kls[i - 1]! * 1.05);
    x.md.push(`KL against lambda: ${kls.map((k) => fix(k, 4)).join(', ')} bits/dim: ${falls ? 'falls as lambda grows, as in the paper' : 'NOT monotone in this run'}.`, '');
    x.md.push('Figures: `figure.svg` (bits/dim of both decoders split into reconstruction and KL, against lambda), `reconstructions-and-samples.png` (per lambda: VAE reconstructions f(z), PixelCNN reconstructions given f(z), VAE samples, AGAVE samples).');
  },
};

