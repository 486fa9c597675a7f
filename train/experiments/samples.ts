// Figures 5 and 6 of the paper: samples for z from the prior, and latent interpolations between test images.
import { join } from 'node:path';
import { ops } from '../../engine/index.js';
import { Ctx, toPixels } from '../../model/agave.js';
import { auxToDisplay, writeLabelledRows } from '../evaluate/images.js';
import { interpolateLatents, samplePixelcnn } from '../evaluate/sampling.js';
import { setupRun } from '../step/setup.js';
import { runsTable, type Experiment } from './common.js';

export const SAMPLES: Experiment = {
  name: 'samples',
  title: 'Figures 5 and 6: samples for z from the prior, and latent interpolations',
  paper: 'Fig. 5 (lambda 8): each f(z) with several PixelCNN samples: they share the global structure and colours of f(z) and differ in detail. Fig. 6: interpolating z between encoded test images changes f(z) smoothly and the full model follows.',
  quickSteps: 300,
  runs: () => [{ name: 'model', label: 'lambda 8', options: { lambda: 8, agaveSamples: 0, pixelcnnRecon: 0 } }],
  async report(x) {
    const o = x.outcomes[0]!;
    const run = await setupRun({ ...x.base, ...o.run.options, out: o.dir, resume: true }, () => undefined);
    try {
      const { engine, model, params } = run;
      const S = model.cfg.imageSize;
      const C = model.channels;
      const nz = 4;
      const per = x.preset === 'quick' ? 6 : 10;
      const fig5 = await params.withEma(async () => {
        const ctx = new Ctx(engine, params, { seed: 7, streamBase: 0xb0000000 });
        const fz = engine.noGrad(() => model.auxMean(model.vae.sample(ctx, nz)));
        const rep = engine.noGrad(() => ops.reshape(ops.broadcastTo(ops.reshape(fz, [nz, 1, ...fz.shape.slice(1)]), [nz, per, ...fz.shape.slice(1)]), [nz * per, ...fz.shape.slice(1)])).keep();
        const f = await engine.noGrad(() => toPixels(fz)).read();
        fz.dispose();
        try {
          const xs = await samplePixelcnn(run, rep, 0xb1000000, x.log, `Figure 5 samples (${nz} x ${per})`);
          return { f, xs };
        } finally {
          rep.dispose();
        }
      });
      // Figure 5: one row per z: f(z), then its samples.
      const one = S * S * C;
      const fShow = auxToDisplay(fig5.f, nz, model, S, C);
      const rows5 = Array.from({ length: nz }, (_, i) => {
        const row = new Uint8Array((per + 1) * one);
        row.set(fShow.subarray(i * one, (i + 1) * one), 0);
        for (let j = 0; j < per; j++) row.set(Uint8Array.from(fig5.xs.subarray((i * per + j) * one, (i * per + j + 1) * one), Math.round), (j + 1) * one);
        return { label: `z${i + 1}: f(z), x`, images: row };
      });
      writeLabelledRows(join(x.out, 'figure5-samples.png'), rows5, per + 1, S, C);
      // Figure 6: interpolations between pairs of encoded test images.
      const pairs: [number, number][] = [[0, 1], [2, 3]];
      const T = 7;
      const fig6 = await params.withEma(async () => {
        const path = await interpolateLatents(run, pairs, T, { seed: 7, streamBase: 0xb2000000 });
        try {
          const xs = await samplePixelcnn(run, path.fz, 0xb3000000, x.log, `Figure 6 interpolations (${pairs.length} x ${T})`);
          return { f: path.f, xs, originals: path.originals };
        } finally {
          path.fz.dispose();
        }
      });
      const fShow6 = auxToDisplay(fig6.f, pairs.length * T, model, S, C);
      const rows6: { label: string; images: Uint8Array }[] = [];
      pairs.forEach((pr, p) => {
        const ends = new Uint8Array((T + 2) * one);
        ends.set(fig6.originals.subarray(2 * p * one, (2 * p + 1) * one), 0);
        ends.set(fig6.originals.subarray((2 * p + 1) * one, (2 * p + 2) * one), (T + 1) * one);
        const fRow = new Uint8Array((T + 2) * one);
        fRow.set(fShow6.subarray(p * T * one, (p + 1) * T * one), one);
        const xRow = new Uint8Array((T + 2) * one);
        xRow.set(Uint8Array.from(fig6.xs.subarray(p * T * one, (p + 1) * T * one), Math.round), one);
        rows6.push({ label: `test ${pr[0]}, ${pr[1]}`, images: ends }, { label: 'f(z_t)', images: fRow }, { label: 'x | f(z_t)', images: xRow });
      });
      writeLabelledRows(join(x.out, 'figure6-interpolations.png'), rows6, T + 2, S, C);
      x.md.push('', '## Results', '', ...runsTable(x.outcomes), '',
        `- \`figure5-samples.png\`: ${nz} draws z from the prior; each row is f(z) followed by ${per} PixelCNN samples conditioned on it.`,
        `- \`figure6-interpolations.png\`: for ${pairs.length} pairs of test images (first row: the two images at the ends), z of each encoded (one posterior sample), linearly interpolated in ${T} steps; rows f(z_t) and PixelCNN samples conditioned on f(z_t).`);
    } finally {
      run.dispose();
    }
  },
};

