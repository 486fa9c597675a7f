// The baselines end to end at the tiny size (8x8, 2 steps): `--model pixelcnn` and `--model vae` train,
// evaluate (PixelCNN++ alone: exact NLL, no KL; VAE alone: -log p(x|z) + KL, single-sample and
// importance-weighted), checkpoint with the kind recorded (a resume with another kind is refused), sample into
// PNGs, and `experiment samples --checkpoints` writes one Figure 2 from a run of each kind. The flags only
// AGAVE has are refused for the baselines.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { train, type TrainOptions } from '../../train/trainer.js';
import { parseOptions } from '../../train/options.js';
import { loadCheckpoint } from '../../train/run/checkpoint-file.js';
import { runExperiment } from '../../train/experiments/index.js';
import { tinyRunOptions } from '../helpers/tiny-run.js';

const opts = (out: string, extra: Partial<TrainOptions> = {}): TrainOptions => tinyRunOptions(out, { steps: 2, pixelcnnRecon: 0, ...extra });

function isPng(path: string): boolean {
  return readFileSync(path).subarray(1, 4).toString('latin1') === 'PNG';
}

describe('baselines (tiny)', () => {
  it('PixelCNN++ alone and the IAF-VAE alone train, evaluate, checkpoint (kind recorded, other kinds refused) and sample; Figure 2 from their checkpoints', async () => {
    // PixelCNN++ alone.
    const p = mkdtempSync(join(tmpdir(), 'agave-pcnn-'));
    const pl: string[] = [];
    const pr = await train(opts(p, { kind: 'pixelcnn', agaveSamples: 1, iwSamples: 2 }), (l) => pl.push(l));
    const plog = pl.join('\n');
    expect(plog).toMatch(/model: PixelCNN\+\+ alone \(unconditional\); config tiny .*; [\d,]+ parameters/);
    expect(plog).toMatch(/\[pixelcnn\]/);
    expect(plog).toMatch(/the PixelCNN\+\+ likelihood is exact/);
    expect(pr.steps.every((s) => s.phase === 'pixelcnn' && s.aux === null && s.kl === 0 && Number.isFinite(s.loss) && s.loss === s.pixelcnn)).toBe(true);
    const pe = pr.evals.at(-1)!;
    expect([pe.aux, pe.psnr, pe.kl, pe.iwBitsPerDim, pe.latentChannels]).toEqual([null, null, 0, undefined, 0]);
    expect(pe.testBitsPerDim).toBe(pe.pixelcnn);
    expect(Number.isFinite(pe.testBitsPerDim)).toBe(true);
    expect(plog).toMatch(/1 PixelCNN\+\+ samples \(64 pixels, cached sampler\)/);
    expect(isPng(join(p, 'pixelcnn-samples.png'))).toBe(true);
    expect(loadCheckpoint<{ signature: { kind: string } }>(join(p, 'checkpoint.agave')).meta.signature.kind).toBe('pixelcnn');

    // A resume with another kind is refused, naming both.
    await expect(train(opts(p, { steps: 3, resume: true }), () => undefined)).rejects.toThrow(/holds a pixelcnn model .*, not agave; resume it with --model pixelcnn/);
    await expect(train(opts(p, { kind: 'vae', steps: 3, resume: true }), () => undefined)).rejects.toThrow(/holds a pixelcnn model .*, not vae/);

    // The IAF-VAE alone.
    const v = mkdtempSync(join(tmpdir(), 'agave-vae-'));
    const vl: string[] = [];
    const vr = await train(opts(v, { kind: 'vae', agaveSamples: 2, iwSamples: 3 }), (l) => vl.push(l));
    const vlog = vl.join('\n');
    expect(vlog).toMatch(/model: IAF-VAE alone .*; [\d,]+ parameters/);
    expect(vlog).toMatch(/recipe: batch 4, lambda 1 \(free bits 0\.1\)/);
    expect(vr.steps.every((s) => s.phase === 'vae' && s.pixelcnn === null && s.aux !== null && Number.isFinite(s.loss))).toBe(true);
    const ve = vr.evals.at(-1)!;
    expect(ve.pixelcnn).toBeNull();
    // (aux is the batch mean of the GPU's float32 sum, the bound the sum of float32 per-image terms: equal to float32 rounding.)
    expect(Math.abs(ve.testBitsPerDim - (ve.aux! + ve.kl)) / ve.testBitsPerDim, 'test bits/dim = -log p(x|z) + KL').toBeLessThan(1e-6);
    expect(ve.iwSamples).toBe(3);
    expect(ve.iwBitsPerDim!).toBeLessThan(ve.testBitsPerDim + 0.05);
    expect(vlog).toMatch(/2 VAE samples \(decoder mean and a draw from p\(x\|z\)\)/);
    expect(isPng(join(v, 'vae-samples.png'))).toBe(true);
    const rows = JSON.parse(readFileSync(join(v, 'vae-samples.json'), 'utf8')) as { rows: { label: string }[] };
    expect(rows.rows.map((r) => r.label)).toEqual(['VAE mean f(z)', 'VAE x drawn from p(x|z)']);
    await expect(train(opts(v, { steps: 3, resume: true }), () => undefined)).rejects.toThrow(/holds a vae model/);

    // Figure 2 from the two checkpoints (each reopened with its own settings).
    const f = mkdtempSync(join(tmpdir(), 'agave-fig2-'));
    const fl: string[] = [];
    expect(await runExperiment(['samples', '--checkpoints', `${v},${join(p, 'checkpoint.agave')}`, '--samples', '1', '--out', f], (l) => fl.push(l))).toBe(0);
    expect(isPng(join(f, 'figure2-samples.png'))).toBe(true);
    const fig = JSON.parse(readFileSync(join(f, 'figure2-samples.json'), 'utf8')) as { rows: { label: string }[]; cols: number };
    expect(fig.rows.map((r) => r.label)).toEqual(['IAF-VAE: VAE mean f(z)', 'IAF-VAE: VAE x drawn from p(x|z)', 'PixelCNN++: PixelCNN++ x']);
    expect(fig.cols).toBe(1);
    const md = readFileSync(join(f, 'results.md'), 'utf8');
    expect(md).toMatch(/\| IAF-VAE \| .* \| 2 \| [\d.]+ \| [\d.]+ \|/);
    expect(md).toMatch(/\| PixelCNN\+\+ \| .* \| 2 \| [\d.]+ \| - \|/);
    expect(existsSync(join(v, 'run.lock'))).toBe(false);
    await expect(runExperiment(['lambda', '--checkpoints', v], () => undefined)).rejects.toThrow(/belong to the samples experiment/);
  }, 600_000);

  it('--model parses; the flags only AGAVE has are refused for the baselines, by name', () => {
    const o = parseOptions(['--model', 'pixelcnn', '--config', 'tiny']);
    if (typeof o === 'string') throw new Error('expected options');
    expect(o.kind).toBe('pixelcnn');
    const a = parseOptions(['--model', 'agave']);
    if (typeof a === 'string') throw new Error('expected options');
    expect(a.kind).toBeUndefined();
    const s = parseOptions(['--model', 'vae', '--samples', '3', '--lambda', '2']);
    if (typeof s === 'string') throw new Error('expected options');
    expect([s.kind, s.agaveSamples, s.lambda]).toEqual(['vae', 3, 2]);
    expect(() => parseOptions(['--model', 'gan'])).toThrow(/--model must be one of agave, pixelcnn, vae, got 'gan'/);
    expect(() => parseOptions(['--model', 'pixelcnn', '--aux', '8x8'])).toThrow(/--model pixelcnn .* does not take --aux 8x8/);
    expect(() => parseOptions(['--model', 'pixelcnn', '--lambda', '3'])).toThrow(/does not take --lambda/);
    expect(() => parseOptions(['--model', 'vae', '--vae-pretrain', '5', '--drop-aux-at', '9'])).toThrow(/does not take --vae-pretrain, --drop-aux-at: they are AGAVE's/);
    expect(() => parseOptions(['--samples', '2', '--agave-samples', '2'])).toThrow(/same flag/);
  });
});
