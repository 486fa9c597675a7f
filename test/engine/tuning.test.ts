// The tuner (engine/tuning/): modes, races, the cache. A race checks each candidate's output against the static
// choice's before timing it (a wrong kernel is refused, however fast); tuned results equal the static ones within
// each op's tolerance; winners round-trip through the cache and a 'cached' engine uses them; a corrupt, foreign or
// stale cache is ignored with one warning and rewritten; an unwritable folder costs one warning; concurrent writers
// leave a valid file. The engine's version is the package's (it keys the cache).
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create } from 'webgpu';
import { ENGINE_VERSION, Engine, cacheName, nodeTuneCache, ops, relativeError, tuneCacheKey, type TunableOp, type Tensor, type TuneCacheEntry } from '../../engine/index.js';
import { nodeBundle } from '../../esbuild.options.mjs';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const gpu = create([]); // referenced while its devices live (docs/ENGINE.md §1)
let device: GPUDevice;

beforeAll(async () => {
  const adapter = await gpu.requestAdapter();
  device = await adapter!.requestDevice({ requiredFeatures: (['shader-f16', 'subgroups'] as const).filter((f) => adapter!.features.has(f)) });
});
afterAll(() => device.destroy());

const engineOn = (dir: string | null, tune: 'off' | 'cached' | 'on' = 'on'): Promise<Engine> => Engine.create({ device, seed: 5, tune, tuneCache: dir });

/** A small workload touching every tunable op: matmul (and its split weight gradient), conv (3 kinds), reductions, elementwise. */
function workload(e: Engine): Tensor {
  const x = e.uniform([2, 9, 9, 6], -1, 1, { seed: 1 });
  const w = e.uniform([3, 3, 6, 5], -0.5, 0.5, { seed: 2 });
  const m = e.uniform([1024, 12], -1, 1, { seed: 3 });
  const k = e.uniform([12, 7], -1, 1, { seed: 4 });
  for (const t of [x, w, m, k]) t.requiresGrad = true;
  const y = ops.conv2d(x, w, null, { pad: [1, 1, 1, 1] });
  const z = ops.matmul(m, k);
  const loss = ops.add(ops.sum(ops.tanh(y)), ops.mean(ops.mul(z, z)));
  e.backward(loss);
  return loss;
}

async function workloadValues(e: Engine): Promise<Float32Array[]> {
  return e.asyncScope(async () => {
    const loss = workload(e);
    const out: Float32Array[] = [await loss.read()];
    return out;
  });
}

describe('the tuner', () => {
  it('ENGINE_VERSION is the package version (the tuning cache is keyed by it)', () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
    expect(ENGINE_VERSION).toBe(pkg.version);
  });

  it("mode 'off' and 'cached' never note buckets; 'on' notes them in a dry run and races them; tuned results equal the static ones", async () => {
    const off = await engineOn(null, 'off');
    await off.tune(() => void workload(off));
    expect(off.tuner.pendingCount).toBe(0);
    const cached = await engineOn(null, 'cached');
    const rc = await cached.tune(() => void workload(cached));
    expect(rc.tuned).toBe(0);
    const on = await engineOn(null, 'on');
    const r = await on.tune(() => void workload(on), { bucketMs: 50, totalMs: 1e9 });
    const raced = new Set(r.results.map((x) => x.op));
    for (const op of ['matmul', 'matmul.wgrad_split', 'conv.fwd', 'conv.dgrad', 'conv.wgrad', 'reduce', 'elementwise.group']) expect(raced, `raced ops: ${[...raced].join(', ')}`).toContain(op);
    expect(on.tuner.pendingCount).toBe(0);
    for (const b of r.results) {
      // A bucket with one candidate (a weight gradient too short to split) has nothing to race.
      if (Object.keys(b.ms).length === 0) continue;
      expect(Object.keys(b.ms), `${b.op} ${b.bucket}: the winner was timed`).toContain(b.winner);
      expect(b.rounds, `${b.op} ${b.bucket}: rounds`).toBeGreaterThanOrEqual(Object.keys(b.ms).length > 1 ? 5 : 0);
    }
    // What the tuned choices compute is what the static ones do, within tolerance.
    const [a] = await workloadValues(on);
    const [s] = await workloadValues(off);
    expect(relativeError(a!, s!), 'loss, tuned vs static').toBeLessThan(1e-5);
    for (const e of [off, cached, on]) e.dispose();
  }, 600_000);

  it('a candidate whose output differs from the static choice is refused, however fast', async () => {
    const e = await engineOn(null, 'on');
    let calls = 0;
    const fake: TunableOp<{ n: number }> = {
      name: 'test.fake',
      bucket: (p) => `n${p.n}`,
      staticChoice: () => 'right',
      candidates: () => ['right', 'wrong', 'nan'],
      harness: (p, engine) => {
        const x = engine.uniform([p.n], -1, 1, { seed: 9 });
        return {
          run: (c) => {
            calls++;
            // 'wrong' does less work (faster) and is off by 1e-3; 'nan' returns NaN.
            if (c === 'wrong') return ops.addScalar(x, 1e-3);
            if (c === 'nan') return ops.log(ops.subScalar(x, 2));
            return ops.exp(ops.log(ops.exp(ops.log(ops.addScalar(ops.abs(x), 1)))));
          },
          dispose: () => x.dispose(),
        };
      },
      tolerance: () => 1e-6,
      describe: (p) => `${p.n} elements`,
    };
    expect(e.tuner.choose(fake, { n: 4096 })).toBe('right');
    const r = await e.tune();
    const b = r.results.find((x) => x.op === 'test.fake')!;
    expect(Object.keys(b.rejected).sort()).toEqual(['nan', 'wrong']);
    expect(b.winner).toBe('right');
    expect(calls).toBeGreaterThan(2);
    expect(e.tuner.choose(fake, { n: 4096 })).toBe('right');
    e.dispose();
  });

  it('winners round-trip through the cache; a cached engine uses them and races nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agave-tune-'));
    const on = await engineOn(dir, 'on');
    const r1 = await on.tune(() => void workload(on), { bucketMs: 50, totalMs: 1e9 });
    on.dispose();
    const files = readdirSync(dir);
    expect(files.filter((f) => f.endsWith('.json'))).toHaveLength(1);
    expect(files.filter((f) => f.endsWith('.tmp')), 'no temporary file left').toEqual([]);
    const stored = JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')) as { entries: Record<string, TuneCacheEntry> };
    expect(Object.keys(stored.entries)).toHaveLength(r1.tuned);
    for (const b of r1.results) expect(stored.entries[`${b.op}|${b.bucket}`]?.winner, `${b.op} ${b.bucket}`).toBe(b.winner);
    const cached = await engineOn(dir, 'cached');
    expect(cached.tuner.warnings).toEqual([]);
    const r2 = await cached.tune(() => void workload(cached));
    expect(r2.tuned).toBe(0);
    // Races note buckets of their own (a split weight gradient's chunk matmuls for each split tried): the workload
    // itself uses some of the cached buckets, never one that was not raced.
    expect(r2.cached).toBeGreaterThan(0);
    expect(r2.cached).toBeLessThanOrEqual(r1.tuned);
    for (const b of cached.tuner.results()) expect(b.winner, `${b.op} ${b.bucket}`).toBe(stored.entries[`${b.op}|${b.bucket}`]!.winner);
    // An 'on' engine with the cache races nothing that is cached.
    const again = await engineOn(dir, 'on');
    const r3 = await again.tune(() => void workload(again), { bucketMs: 50, totalMs: 1e9 });
    expect(r3.tuned).toBe(0);
    cached.dispose();
    again.dispose();
  }, 300_000);
});

describe('the tuning cache', () => {
  const key = tuneCacheKey('mesa / software / test', 'dawn-node webgpu@0.6.2', false);
  const entry = (winner: string): TuneCacheEntry => ({ winner, staticChoice: 'a', ms: { a: 1, [winner]: 0.5 }, at: '2026-01-01T00:00:00Z' });

  it('a corrupt, foreign or stale file is ignored with one warning and rewritten', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agave-tune-'));
    const file = join(dir, cacheName(key));
    const cache = nodeTuneCache(dir);
    writeFileSync(file, '{"key": {"format": 1, "dev');
    let r = await cache.read(key);
    expect(r.entries).toEqual({});
    expect(r.warning).toMatch(new RegExp(`tuning cache ${file} is not valid JSON: ignored, it will be rewritten`));
    expect(r.warning).not.toContain('\n');
    expect(await cache.write(key, { 'matmul|x': entry('b') })).toBeUndefined();
    r = await cache.read(key);
    expect(r.warning).toBeUndefined();
    expect(r.entries['matmul|x']?.winner).toBe('b');
    writeFileSync(file, JSON.stringify({ key: { ...key, device: 'nvidia / ampere / 2204 / RTX 3090' }, entries: { 'matmul|x': entry('c') } }));
    r = await cache.read(key);
    expect(r.entries).toEqual({});
    expect(r.warning).toMatch(/belongs to another device or WebGPU implementation \(nvidia \/ ampere/);
    writeFileSync(file, JSON.stringify({ key: { ...key, kernels: '0123456789abcdef' }, entries: { 'matmul|x': entry('c') } }));
    r = await cache.read(key);
    expect(r.entries).toEqual({});
    expect(r.warning).toMatch(/is stale \(engine .*, kernels 0123456789abcdef; now/);
    expect(await cache.write(key, { 'matmul|y': entry('d') })).toBeUndefined();
    r = await cache.read(key);
    expect(Object.keys(r.entries)).toEqual(['matmul|y']);
    writeFileSync(file, '[1, 2, 3]');
    expect((await cache.read(key)).warning).toMatch(/is not a tuning cache file: ignored, it will be rewritten/);
  });

  it('an unwritable folder: one warning line, and the winners stay in memory', async () => {
    const base = mkdtempSync(join(tmpdir(), 'agave-tune-'));
    // A folder path through a file fails for root too (root ignores permission bits).
    const blocker = join(base, 'a-file');
    writeFileSync(blocker, 'not a folder');
    const w = await nodeTuneCache(join(blocker, 'cache')).write(key, { 'matmul|x': entry('b') });
    expect(w).toMatch(new RegExp(`tuning cache ${join(blocker, 'cache')}/tuning-[0-9a-f]{16}\\.json cannot be written \\(ENOTDIR\\): this run's winners are kept in memory only`));
    if (process.getuid?.() !== 0) {
      const ro = join(base, 'ro');
      writeFileSync(join(base, 'x'), '');
      chmodSync(base, 0o555);
      expect(await nodeTuneCache(ro).write(key, { 'matmul|x': entry('b') })).toMatch(/cannot be written \(EACCES\)/);
      chmodSync(base, 0o755);
    }
    // An engine on such a cache tunes, warns once, and keeps its winners.
    const e = await engineOn(join(blocker, 'cache'), 'on');
    const r = await e.tune(() => void ops.sum(e.uniform([300, 40], -1, 1, { seed: 1 }), [0]), { bucketMs: 20 });
    expect(r.tuned).toBe(1);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/cannot be written \(ENOTDIR\)/);
    expect(e.tuner.winnerCount).toBe(1);
    e.dispose();
  });

  it('two processes writing at once leave a valid file holding entries of both, and no temporary file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agave-tune-'));
    const script = join(dir, 'writer.mjs');
    await build({
      ...nodeBundle,
      stdin: {
        contents: `import { nodeTuneCache, tuneCacheKey } from './engine/tuning/cache.ts';
const [dir, who] = process.argv.slice(2);
const key = tuneCacheKey('mesa / software / test', 'dawn-node webgpu@0.6.2', false);
const cache = nodeTuneCache(dir);
for (let i = 0; i < 40; i++) {
  const w = await cache.write(key, { [who + '|' + i]: { winner: who, staticChoice: 'a', ms: { a: 1 }, at: 'now' } });
  if (w) { console.error(w); process.exit(2); }
}`,
        resolveDir: REPO,
        sourcefile: 'writer.ts',
        loader: 'ts',
      },
      outfile: script,
      logLevel: 'error',
    });
    const run = (who: string): Promise<number | null> =>
      new Promise((res) => {
        const child = spawn(process.execPath, [script, dir, who], { stdio: 'inherit' });
        child.on('close', (code) => res(code));
      });
    const codes = await Promise.all([run('p1'), run('p2')]);
    expect(codes).toEqual([0, 0]);
    const files = readdirSync(dir).filter((f) => f.startsWith('tuning-'));
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const r = await nodeTuneCache(dir).read(key);
    expect(r.warning).toBeUndefined();
    const keys = Object.keys(r.entries);
    expect(keys.some((k) => k.startsWith('p1|')) && keys.some((k) => k.startsWith('p2|')), `entries: ${keys.length}`).toBe(true);
    expect(existsSync(join(dir, cacheName(key)))).toBe(true);
  }, 60_000);
});
