// --precision mixed: the dynamic loss scale (train/loss-scale.ts) skips a step whose gradients overflowed and
// halves, doubles after GROWTH_INTERVAL good steps, and round-trips through a checkpoint's state (validated);
// the flag is parsed strictly; a tiny run with it trains, says so in its log, and a resume in f32 is refused.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GROWTH_INTERVAL, INITIAL_LOSS_SCALE, LossScaler } from '../../train/step/loss-scale.js';
import { parseOptions } from '../../train/options.js';
import { runCli } from '../helpers/cli.js';

describe('the dynamic loss scale', () => {
  it('skips and halves on overflow, doubles after a run of good steps, restores from a checkpoint', () => {
    const s = new LossScaler();
    expect(s.scale).toBe(INITIAL_LOSS_SCALE);
    expect(s.update(false)).toBe(false);
    expect(s.scale).toBe(INITIAL_LOSS_SCALE / 2);
    expect(s.skipped).toBe(1);
    for (let i = 0; i < GROWTH_INTERVAL - 1; i++) expect(s.update(true)).toBe(true);
    expect(s.scale).toBe(INITIAL_LOSS_SCALE / 2);
    s.update(true);
    expect(s.scale).toBe(INITIAL_LOSS_SCALE);
    const t = new LossScaler();
    t.restore(s.state());
    expect(t.state()).toEqual(s.state());
    expect(() => t.restore({ scale: Number.NaN, goodSteps: 0, skipped: 0 })).toThrow(/loss scale state is invalid/);
    for (let i = 0; i < 40; i++) t.update(false);
    expect(t.scale).toBe(1);
  });

  it('--precision is parsed strictly', () => {
    expect(() => parseOptions(['--precision', 'half'])).toThrow(/--precision must be f32 or mixed, got 'half'/);
    const o = parseOptions(['--precision', 'mixed']);
    expect(o !== 'help' && o !== 'check-gpu' && o.precision).toBe('mixed');
  });

  it('a tiny run with --precision mixed trains and logs it; resuming it in f32 is refused by name', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'agave-mixed-')), 'run');
    const args = ['--config', 'tiny', '--batch', '2', '--eval-images', '4', '--pixelcnn-recon', '0', '--out', out];
    const r = await runCli([...args, '--steps', '2', '--precision', 'mixed']);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/precision mixed: matmul and conv operands in f16 .* dynamic loss scale from 4096/);
    expect(r.output).toMatch(/^done: 2 steps/m);
    const f = await runCli([...args, '--steps', '3', '--resume']);
    expect(f.code).toBe(1);
    expect(f.output).toMatch(/precision \(checkpoint "mixed", now "f32"\)/);
  }, 300_000);
});
