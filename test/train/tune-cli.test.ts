// Tuning as `node train.js` does it (--tune on, the CLI's default; the suite sets AGAVE_TUNE=off, so these runs
// ask for it): the first run races the step's buckets within --tune-budget and caches the winners, the second
// reads them; a garbage cache file, an unwritable cache folder and two runs tuning at once each end with a working
// run and one clear warning line. Tiny config, one step, two seconds of tuning each (six runs in all).
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from 'webgpu';
import { describe, expect, it } from 'vitest';
import { Engine, cacheName } from '../../engine/index.js';
import { REPO, runCli } from '../helpers/cli.js';

const RUN = ['--config', 'tiny', '--steps', '1', '--batch', '2', '--eval-images', '4', '--pixelcnn-recon', '0', '--tune', 'on', '--tune-budget', '2'];

/** Dawn's GPU object stays referenced while its devices live, and after (docs/ENGINE.md §1). */
const gpu = create([]);

/** The cache file a run on this machine's adapter uses (its name hashes the adapter and the WebGPU implementation). */
async function cacheFileName(): Promise<string> {
  const device = await (await gpu.requestAdapter())!.requestDevice();
  const engine = await Engine.create({ device, tune: 'cached', tuneCache: null });
  const name = cacheName(engine.tuner.cacheKey);
  engine.dispose();
  device.destroy();
  return name;
}

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'agave-tune-cli-'));
  chmodSync(d, 0o777);
  return d;
}

const tuningLine = (out: string): string => /^tuning: .*$/m.exec(out)?.[0] ?? '(no tuning line)';
const warnings = (out: string): string[] => out.split('\n').filter((l) => /^tuning cache /.test(l));

describe('node train.js --tune', () => {
  it('a fresh cache: the first run tunes within its budget and logs it, the second reads the cache', async () => {
    const base = tmp();
    const cache = join(base, 'cache');
    const first = await runCli([...RUN, '--out', join(base, 'r1'), '--tune-cache', cache]);
    expect(first.code, first.output).toBe(0);
    const l1 = tuningLine(first.output);
    expect(l1).toMatch(/^tuning: [1-9]\d* buckets? raced in \d+\.\d s/);
    const seconds = Number(/raced in (\d+\.\d) s/.exec(l1)![1]);
    // The budget is checked between buckets: one bucket's race may run past it.
    expect(seconds, l1).toBeLessThan(2 + 30);
    expect(warnings(first.output)).toEqual([]);
    const files = readdirSync(cache);
    expect(files).toEqual([await cacheFileName()]);
    const second = await runCli([...RUN.slice(0, -4), '--tune', 'cached', '--out', join(base, 'r2'), '--tune-cache', cache]);
    expect(second.code, second.output).toBe(0);
    expect(tuningLine(second.output)).toMatch(/^tuning: --tune cached: [1-9]\d* buckets? from the tuning cache/);
  }, 600_000);

  it('a garbage cache file: one warning line, the run works and the file is rewritten', async () => {
    const base = tmp();
    const cache = join(base, 'cache');
    mkdirSync(cache);
    const file = join(cache, await cacheFileName());
    writeFileSync(file, '\u0000garbage{{{');
    const r = await runCli([...RUN, '--out', join(base, 'r1'), '--tune-cache', cache]);
    expect(r.code, r.output).toBe(0);
    expect(warnings(r.output)).toEqual([`tuning cache ${file} is not valid JSON: ignored, it will be rewritten`]);
    expect(() => JSON.parse(readFileSync(file, 'utf8'))).not.toThrow();
  }, 600_000);

  it('an unwritable cache folder: one warning line, and the run works', async () => {
    const base = tmp();
    // A cache path through a file cannot be created, for root too.
    writeFileSync(join(base, 'file'), '');
    const r = await runCli([...RUN, '--out', join(base, 'r1'), '--tune-cache', join(base, 'file', 'cache')]);
    expect(r.code, r.output).toBe(0);
    const w = warnings(r.output);
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(/cannot be written \(ENOTDIR\): this run's winners are kept in memory only$/);
    expect(r.output).toMatch(/^done: 1 steps/m);
    if (process.getuid?.() === 0) {
      // A read-only folder (mode 555) as user nobody, who cannot write it (root ignores permission bits).
      const probe = await runCli(['--help'], { uid: 65534, gid: 65534 });
      if (probe.code !== 0) return; // the repository is not readable by nobody here; the ENOTDIR case stands
      const ro = join(base, 'ro');
      mkdirSync(ro);
      chmodSync(ro, 0o555);
      const n = await runCli([...RUN, '--out', join(base, 'r2'), '--tune-cache', ro], { uid: 65534, gid: 65534, cwd: REPO, env: { HOME: base } });
      expect(n.code, n.output).toBe(0);
      expect(warnings(n.output)).toHaveLength(1);
      expect(warnings(n.output)[0]).toMatch(/cannot be written \(EACCES\)/);
    }
  }, 600_000);

  it('two runs tuning into one cache at once both work and leave one valid cache file', async () => {
    const base = tmp();
    const cache = join(base, 'cache');
    const [a, b] = await Promise.all([
      runCli([...RUN, '--out', join(base, 'r1'), '--tune-cache', cache]),
      runCli([...RUN, '--out', join(base, 'r2'), '--tune-cache', cache]),
    ]);
    expect(a.code, a.output).toBe(0);
    expect(b.code, b.output).toBe(0);
    expect(warnings(a.output)).toEqual([]);
    expect(warnings(b.output)).toEqual([]);
    const files = readdirSync(cache);
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const json = files.filter((f) => f.endsWith('.json'));
    expect(json).toHaveLength(1);
    const stored = JSON.parse(readFileSync(join(cache, json[0]!), 'utf8')) as { entries: Record<string, unknown> };
    expect(Object.keys(stored.entries).length).toBeGreaterThan(0);
  }, 600_000);

  it('bad values are refused naming the flag (or AGAVE_TUNE)', async () => {
    const r = await runCli(['--tune', 'fast']);
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/--tune must be one of off, cached, on, got 'fast'/);
    const e = await runCli(['--config', 'tiny', '--steps', '1'], { env: { AGAVE_TUNE: 'maybe' } });
    expect(e.code).toBe(1);
    expect(e.output).toMatch(/AGAVE_TUNE must be one of off, cached, on, got 'maybe'/);
    const b = await runCli(['--tune-budget', '0']);
    expect(b.code).toBe(1);
    expect(b.output).toMatch(/--tune-budget must be a number > 0, got '0'/);
  }, 60_000);
});
