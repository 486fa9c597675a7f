// `node train.js experiment <name>` at a tiny size (the tiny config on 8x8 images, 2 steps per run): not to
// reproduce the paper's effects but to prove that each command trains its runs, writes its results.md, SVG
// figure and PNG figures, and resumes (a second invocation skips the finished runs and rewrites the report).
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCheckpointMeta } from '../../train/run/checkpoint-file.js';
import { EXPERIMENTS, runExperiment } from '../../train/experiments/index.js';

/** The settings signature a run's checkpoint records (what really trained it). */
function signature(dir: string): Record<string, unknown> {
  return readCheckpointMeta<{ signature: Record<string, unknown> }>(join(dir, 'checkpoint.agave')).signature;
}

/** The keys in which two signatures differ. */
function differences(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  return Object.keys({ ...a, ...b }).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

const TINY = ['--config', 'tiny', '--image-size', '8', '--eval-images', '8'];

async function run(name: string, out: string, steps = 2): Promise<string[]> {
  const lines: string[] = [];
  const rc = await runExperiment([name, ...TINY, '--steps', String(steps), '--out', out], (l) => lines.push(l));
  expect(rc, `experiment ${name} exit code; log:\n${lines.join('\n')}`).toBe(0);
  return lines;
}

function isPng(path: string): boolean {
  return readFileSync(path).subarray(1, 4).toString('latin1') === 'PNG';
}

describe('experiments (tiny)', () => {
  it('lists every experiment of the paper in its help', async () => {
    const lines: string[] = [];
    expect(await runExperiment(['--help'], (l) => lines.push(l))).toBe(0);
    for (const e of ['lambda', 'aux-removal', 'levels', 'aux-images', 'samples', 'table1', 'baselines', '--checkpoints']) expect(lines.join('\n')).toContain(e);
    expect(EXPERIMENTS.map((e) => e.name)).toEqual(['lambda', 'aux-removal', 'levels', 'aux-images', 'samples', 'table1', 'baselines']);
    await expect(runExperiment(['nope'], () => undefined)).rejects.toThrow(/unknown experiment 'nope'/);
    await expect(runExperiment(['lambda', '--steps', '0'], () => undefined)).rejects.toThrow(/--steps must be a positive integer/);
    await expect(runExperiment(['lambda', '--preset', 'huge'], () => undefined)).rejects.toThrow(/--preset must be quick or paper/);
  });

  it('lambda: five runs, figure.svg, the per-lambda grid, results.md; a second invocation resumes (skips)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'agave-exp-lambda-'));
    await run('lambda', out);
    for (const l of [1, 2, 4, 8, 12]) expect(existsSync(join(out, `lambda-${l}`, 'checkpoint.agave'))).toBe(true);
    // Each run trained the model the experiment says: the same settings but lambda, which is the run's.
    const first = signature(join(out, 'lambda-1'));
    expect(first).toMatchObject({ config: 'tiny', imageSize: 8, kind: 'agave', aux: 'identity', lambda: 1 });
    for (const l of [2, 4, 8, 12]) {
      const s = signature(join(out, `lambda-${l}`));
      expect(s.lambda, `lambda-${l}`).toBe(l);
      expect(differences(first, s), `lambda-${l} differs from lambda-1 in lambda only`).toEqual(['lambda']);
    }
    const md = readFileSync(join(out, 'results.md'), 'utf8');
    expect(md).toContain('| lambda 12 | 2 |');
    expect(md).toMatch(/KL against lambda: /);
    expect(md).toMatch(/Wall time of this invocation: /);
    expect(readFileSync(join(out, 'figure.svg'), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\n$/);
    expect(isPng(join(out, 'reconstructions-and-samples.png'))).toBe(true);
    const again = await run('lambda', out);
    expect(again.filter((l) => /already trained to step 2: skipped/.test(l))).toHaveLength(5);
  }, 600_000);

  it('aux-removal: the dropped run forks from the control at half way and shares its first steps', async () => {
    const out = mkdtempSync(join(tmpdir(), 'agave-exp-aux-'));
    await run('aux-removal', out, 4);
    const metrics = (dir: string): { type: string; step: number; kl?: number }[] =>
      readFileSync(join(out, dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step: number; kl?: number });
    const a = metrics('with-aux').filter((r) => r.type === 'train');
    const b = metrics('aux-dropped').filter((r) => r.type === 'train');
    expect(a.map((r) => r.step)).toEqual([1, 2, 3, 4]);
    expect(b.map((r) => r.step)).toEqual([1, 2, 3, 4]);
    expect(b.slice(0, 2)).toEqual(a.slice(0, 2)); // the same steps before the fork
    expect(b[3]!.kl).not.toEqual(a[3]!.kl); // different objectives after it
    const [sa, sb] = [signature(join(out, 'with-aux')), signature(join(out, 'aux-dropped'))];
    expect([sa.dropAuxAt, sb.dropAuxAt]).toEqual([null, 2]);
    expect(differences(sa, sb)).toEqual(['dropAuxAt']);
    const md = readFileSync(join(out, 'results.md'), 'utf8');
    expect(md).toContain('| step | KL with the aux loss | KL after dropping it at step 2 |');
    expect(existsSync(join(out, 'figure.svg'))).toBe(true);
    expect(isPng(join(out, 'reconstructions.png'))).toBe(true);
    const again = await run('aux-removal', out, 4);
    expect(again.filter((l) => /skipped/.test(l))).toHaveLength(2);
  }, 600_000);

  it('levels and aux-images: one run per variant with figures', async () => {
    for (const [name, runs] of [['levels', ['levels-256', 'levels-64', 'levels-32', 'levels-16']], ['aux-images', ['full', 'res-4x4', 'res-2x2', 'gray4']]] as const) {
      const out = mkdtempSync(join(tmpdir(), `agave-exp-${name}-`));
      await run(name, out, 1);
      expect(readdirSync(out).filter((d) => (runs as readonly string[]).includes(d)).sort()).toEqual([...runs].sort());
      // The runs differ in the auxiliary image as the experiment says, all at lambda 8, nothing else.
      const wanted: Record<string, Record<string, unknown>> = {
        'levels-256': { aux: 'identity', levels: null }, 'levels-64': { aux: 'levels', levels: 64 }, 'levels-32': { aux: 'levels', levels: 32 },
        'levels-16': { aux: 'levels', levels: 16 }, full: { aux: 'identity', levels: null }, 'res-4x4': { aux: '4x4', levels: null },
        'res-2x2': { aux: '2x2', levels: null }, gray4: { aux: 'gray4', levels: null },
      };
      const base = signature(join(out, runs[0]));
      for (const r of runs) {
        const s = signature(join(out, r));
        expect(s, r).toMatchObject({ ...wanted[r], lambda: 8, config: 'tiny', imageSize: 8 });
        expect(differences(base, s).filter((k) => k !== 'aux' && k !== 'levels'), `${r}: only the aux image differs`).toEqual([]);
      }
      expect(readFileSync(join(out, 'results.md'), 'utf8')).toContain('## Results');
      expect(existsSync(join(out, 'figure.svg'))).toBe(true);
      expect(isPng(join(out, 'reconstructions-and-samples.png'))).toBe(true);
    }
  }, 600_000);

  it('samples: Figure 5 (f(z) with PixelCNN samples) and Figure 6 (interpolations); table1: the K=150 bound beside the paper', async () => {
    const out = mkdtempSync(join(tmpdir(), 'agave-exp-samples-'));
    await run('samples', out, 1);
    expect(isPng(join(out, 'figure5-samples.png'))).toBe(true);
    expect(isPng(join(out, 'figure6-interpolations.png'))).toBe(true);
    const t = mkdtempSync(join(tmpdir(), 'agave-exp-table1-'));
    await run('table1', t, 1);
    const md = readFileSync(join(t, 'results.md'), 'utf8');
    const iw = /\| importance-weighted, K = 150 \| ([\d.]+) \|/.exec(md);
    const single = /\| single sample: -log p\(x\\\|z\) \+ KL \| ([\d.]+) \|/.exec(md);
    expect(iw, md).not.toBeNull();
    expect(single, md).not.toBeNull();
    // The bound with 150 samples is never much worse than the single-sample one (it is tighter in expectation).
    expect(Number(iw![1])).toBeLessThan(Number(single![1]) + 0.05);
    expect(md).toContain('| AGAVE (lambda 12) | <= 2.92 |');
  }, 600_000);

  it('baselines: the IAF-VAE, PixelCNN++ and AGAVE runs, their table and one Figure 2', async () => {
    const out = mkdtempSync(join(tmpdir(), 'agave-exp-baselines-'));
    await run('baselines', out, 1);
    expect(isPng(join(out, 'figure2-samples.png'))).toBe(true);
    // The same config and recipe, three model kinds (the PixelCNN alone has no lambda of its own: 1).
    const kinds = ['vae', 'pixelcnn', 'agave'].map((d) => signature(join(out, d)));
    expect(kinds.map((k) => k.kind)).toEqual(['vae', 'pixelcnn', 'agave']);
    expect(differences(kinds[0]!, kinds[1]!)).toEqual(['kind']);
    expect(differences(kinds[1]!, kinds[2]!).sort()).toEqual(['kind', 'lambda']);
    const fig = JSON.parse(readFileSync(join(out, 'figure2-samples.json'), 'utf8')) as { rows: { label: string }[] };
    expect(fig.rows.map((r) => r.label)).toEqual(['IAF-VAE: VAE mean f(z)', 'IAF-VAE: VAE x drawn from p(x|z)', 'PixelCNN++: PixelCNN++ x', 'AGAVE: VAE f(z)', 'AGAVE: AGAVE x']);
    const md = readFileSync(join(out, 'results.md'), 'utf8');
    for (const m of ['IAF-VAE', 'PixelCNN++', 'AGAVE']) expect(md, md).toMatch(new RegExp(`\\| ${m.replace(/\+/g, '\\+')} \\| 1 \\| [\\d.]+ \\|`));
  }, 600_000);
});
