// The training loop and CLI options on the tiny config and the bundled sample (fitted to 8x8): a resumed run
// repeats the uninterrupted one exactly, a different setting is refused by name, a non-finite loss stops
// training and keeps the last good checkpoint, the tiny model overfits 16 images, and the outputs exist.
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { PixelCnn } from '../../model/pixelcnn.js';
import { SAMPLE_LABELS } from '../../train/evaluate/sampling.js';
import { resolveRecipe, train, type TrainOptions } from '../../train/trainer.js';
import { parseOptions, HELP } from '../../train/options.js';
import { loadCheckpoint } from '../../train/run/checkpoint-file.js';
import { tinyRunOptions } from '../helpers/tiny-run.js';

const quiet = (): void => {};

const opts = (out: string, extra: Partial<TrainOptions> = {}): TrainOptions => tinyRunOptions(out, { lambda: 2, steps: 4, lr: 0.002, ...extra });

describe('training loop', () => {
  it('resume continues exactly: losses after resuming equal the uninterrupted run', async () => {
    const a = mkdtempSync(join(tmpdir(), 'agave-a-'));
    const b = mkdtempSync(join(tmpdir(), 'agave-b-'));
    const full = await train(opts(a, { steps: 4, vaePretrain: 1, pixelcnnPretrain: 1 }), quiet);
    await train(opts(b, { steps: 2, vaePretrain: 1, pixelcnnPretrain: 1 }), quiet);
    const resumed = await train(opts(b, { steps: 4, vaePretrain: 1, pixelcnnPretrain: 1, resume: true }), quiet);
    expect(full.steps.map((s) => s.phase)).toEqual(['vae', 'pixelcnn', 'joint', 'joint']);
    expect(resumed.steps.map((s) => s.step)).toEqual([3, 4]);
    for (const k of ['loss', 'pixelcnn', 'aux', 'kl'] as const) {
      expect(resumed.steps.map((s) => s[k]), `${k} after resume`).toEqual(full.steps.slice(2).map((s) => s[k]));
    }
    expect(resumed.evals.at(-1)!.testBitsPerDim).toBe(full.evals.at(-1)!.testBitsPerDim);
    // Outputs: metrics, a PNG grid and the checkpoint.
    const files = readdirSync(a);
    expect(files).toContain('metrics.jsonl');
    expect(files).toContain('checkpoint.agave');
    expect(files.some((f) => f.startsWith('samples-step') && f.endsWith('.png'))).toBe(true);
    const lines = readFileSync(join(a, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(lines.filter((l) => l.type === 'train')).toHaveLength(4);
    expect(lines.filter((l) => l.type === 'eval')).toHaveLength(1);
    // A different setting is refused, naming it.
    await expect(train(opts(b, { steps: 6, lambda: 4, resume: true, vaePretrain: 1, pixelcnnPretrain: 1 }), quiet)).rejects.toThrow(/different settings: lambda \(checkpoint 2, now 4\)/);
  });

  it('stops on a non-finite loss and keeps the last good checkpoint unchanged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agave-nan-'));
    const lines: string[] = [];
    // An absurd learning rate makes the parameters overflow within a few steps; a checkpoint after every step.
    const r = await train(opts(dir, { steps: 12, lr: 1e38, checkpointEvery: 1 }), (l) => lines.push(l));
    expect(r.stoppedEarly).toBe('nan');
    expect(lines.join('\n')).toMatch(/non-finite .* stopping\. The last good checkpoint .* is kept unchanged/);
    const good = r.steps.length;
    expect(good).toBeGreaterThan(0);
    const ck = loadCheckpoint<{ step: number }>(join(dir, 'checkpoint.agave'));
    expect(ck.meta.step, 'the checkpoint is the one of the last step with a finite loss').toBe(good);
    // The last good checkpoint is finite throughout (params, EMA, Adamax state; verified before every write).
    for (const [name, a] of Object.entries(ck.arrays)) {
      const bad = a.findIndex((v) => !Number.isFinite(v));
      expect(bad, `checkpoint array '${name}' has a non-finite value at ${bad}`).toBe(-1);
    }
    expect(Object.keys(ck.arrays).sort()).toEqual(['ema', 'params', 'u', 'v']);
  }, 300_000);

  it('an update that overflows the state stops before anything non-finite is saved, naming the parameter group', async () => {
    // lr 1e39 is Infinity in float32 (the CLI refuses it; the library API takes it): the first update makes the
    // parameters, EMA and Adamax state non-finite while the loss before it was fine. Nothing may be saved.
    const dir = mkdtempSync(join(tmpdir(), 'agave-inf-'));
    const lines: string[] = [];
    const r = await train(opts(dir, { steps: 3, lr: 1e39, checkpointEvery: 1 }), (l) => lines.push(l));
    expect(r.stoppedEarly).toBe('nan');
    expect(r.steps, 'the bad step is not recorded').toEqual([]);
    const text = lines.join('\n');
    expect(text).toMatch(/step 1: non-finite parameters, EMA(, Adamax [uv])* after the update \(first bad parameter group '[\w.]+'; first NaN\/Inf: parameters at '[\w.]+'\[\d+\], EMA at '[\w.]+'\[\d+\]/);
    expect(text).toMatch(/stopping\. The last good checkpoint \(none written yet\) is kept unchanged\./);
    expect(existsSync(join(dir, 'checkpoint.agave')), 'no checkpoint of a non-finite model').toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-') || f === 'run.lock')).toEqual([]);
  }, 300_000);

  it('the tiny model overfits 16 images: bits/dim falls by more than 1.0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agave-fit-'));
    const r = await train(opts(dir, { steps: 60, trainImages: 16, batch: 8, lr: 0.005, emaDecay: 0.9, evalEvery: 1000 }), quiet);
    const first = r.steps.slice(0, 2).reduce((a, s) => a + s.loss, 0) / 2;
    const last = r.steps.slice(-2).reduce((a, s) => a + s.loss, 0) / 2;
    console.log(`overfit 16 images: loss ${first.toFixed(3)} -> ${last.toFixed(3)} bits/dim (pixelcnn ${r.steps[0]!.pixelcnn!.toFixed(3)} -> ${r.steps.at(-1)!.pixelcnn!.toFixed(3)})`);
    expect(first - last, `training loss went from ${first} to ${last} bits/dim`).toBeGreaterThan(1.0);
  }, 600_000);
});

describe('AGAVE sampling', () => {
  it('draws samples pixel by pixel (the cached sampler), conditioned on f(z) of prior z, the same as the naive sampler (one PixelCNN pass per pixel, counted) for a seed; reports the IWAE bound', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agave-sample-'));
    const lines: string[] = [];
    const r = await train(opts(dir, { steps: 1, agaveSamples: 2, iwSamples: 3 }), (l) => lines.push(l));
    expect(lines.join('\n')).toMatch(/2 AGAVE samples \(64 pixels, cached sampler\)/);
    expect(lines.join('\n')).toMatch(/AGAVE sampling: row 8\/8, [\d.]+ rows\/s \(cached sampler, batch 2, \d+ dispatches per pixel\), ETA/);
    expect(existsSync(join(dir, 'agave-samples.png'))).toBe(true);
    const first = readFileSync(join(dir, 'agave-samples.json'), 'utf8');
    // The final evaluation also reports the importance-weighted bound (never much worse than the single-sample
    // one; the bound itself is checked against a float64 logsumexp in test/train/iw-bound.test.ts).
    const ev = r.evals.at(-1)!;
    expect(ev.iwSamples).toBe(3);
    expect(Number.isFinite(ev.iwBitsPerDim)).toBe(true);
    expect(ev.iwBitsPerDim!).toBeLessThan(ev.testBitsPerDim + 0.05);
    // Sampling again from the checkpoint (resume at its step: sampling only) with the naive sampler, counting
    // the PixelCNN passes: one per pixel (8x8), both samples in each pass; the same seed gives the same samples.
    const passes = vi.spyOn(PixelCnn.prototype, 'forward');
    try {
      const again: string[] = [];
      await train(opts(dir, { steps: 1, agaveSamples: 2, resume: true, sampler: 'naive' }), (l) => again.push(l));
      expect(again.join('\n')).toMatch(/2 AGAVE samples \(64 pixels, naive sampler\)/);
      expect(passes.mock.calls.length, 'PixelCNN passes while sampling 2 images of 8x8').toBe(64);
      expect(passes.mock.calls.map((c) => c[1].shape[0]), 'images per pass').toEqual(Array.from({ length: 64 }, () => 2));
    } finally {
      passes.mockRestore();
    }
    expect(readFileSync(join(dir, 'agave-samples.json'), 'utf8'), 'samples drawn twice with the same seed (cached, then naive sampler)').toBe(first);
    // The sampled pixels: 2 images of 8x8x3 in the AGAVE row, whole values in 0..255 (PNG bytes), not constant.
    const rows = JSON.parse(first) as { rows: { label: string; images: string }[] };
    const x = Buffer.from(rows.rows.find((row) => row.label === SAMPLE_LABELS.agave)!.images, 'base64');
    expect(x.length).toBe(2 * 8 * 8 * 3);
    expect(new Set(x).size, 'distinct pixel values in the samples').toBeGreaterThan(8);
  }, 300_000);
});

describe('CLI options', () => {
  it('parses defaults and flags, documents every flag, rejects bad values', () => {
    const o = parseOptions([]);
    if (typeof o === 'string') throw new Error('expected options');
    expect(o.config).toBe('quick');
    // Recipe entries not given as flags come from the config table.
    expect([o.lr, o.lambda, o.steps, o.batch]).toEqual([undefined, undefined, undefined, undefined]);
    expect(resolveRecipe(o)).toEqual({ batch: 8, steps: 400, lambda: 2, lr: 0.002, ema: { vae: 0.999, pixelcnn: 0.9995 }, pretrain: 0 });
    const paper = parseOptions(['--config', 'paper', '--ema', '0.99']);
    if (typeof paper === 'string') throw new Error('expected options');
    expect(resolveRecipe(paper)).toEqual({ batch: 16, steps: 300000, lambda: 12, lr: 0.002, ema: { vae: 0.99, pixelcnn: 0.99 }, pretrain: 20000 });
    expect(o.pixelcnnRecon).toBe(8);
    // A new folder per run, runs/latest pointing to it; --resume without --out resumes runs/latest.
    expect(o.out).toMatch(/^runs\/\d{8}-\d{6}(-\d+)?$/);
    expect(o.linkLatest).toBe(true);
    const r = parseOptions(['--resume']);
    if (typeof r === 'string') throw new Error('expected options');
    expect([r.out, r.linkLatest]).toEqual(['runs/latest', undefined]);
    const p = parseOptions(['--config', 'tiny', '--aux', 'levels', '--levels', '32', '--lambda', '12', '--drop-aux-at', '50', '--resume']);
    if (typeof p === 'string') throw new Error('expected options');
    expect([p.config, p.aux, p.levels, p.lambda, p.dropAuxAt, p.resume]).toEqual(['tiny', 'levels', 32, 12, 50, true]);
    expect(parseOptions(['--help'])).toBe('help');
    expect(() => parseOptions(['--config', 'huge'])).toThrow(/--config must be one of tiny, quick, small, paper/);
    expect(() => parseOptions(['--steps=-3'])).toThrow(/--steps must be an integer >= 1/);
    expect(() => parseOptions(['--aux', 'levels'])).toThrow(/needs --levels/);
    expect(() => parseOptions(['--bogus'])).toThrow();
    for (const flag of ['--data', '--config', '--aux', '--levels', '--lambda', '--steps', '--batch', '--lr', '--seed', '--out', '--eval-every', '--resume', '--vae-pretrain', '--pixelcnn-pretrain', '--drop-aux-at', '--time-limit', '--pretrain', '--image-size', '--aux-scale-init', '--pixelcnn-recon', '--ema', 'experiment']) {
      expect(HELP, `--help documents ${flag}`).toContain(flag);
    }
    expect(existsSync('train/cli.ts')).toBe(true);
  });
});
