// AGAVE Studio's page-side pieces that run in Node too (the browser test, test/studio/run.mjs, covers the page
// itself): the page's RunStore (studio/app/browser-store.ts) with a stand-in for IndexedDB: what an auto-save
// holds, a full storage quota (auto-save off, said so, training goes on, Save still has the state), a non-finite
// state refused, a resume's records trimmed; the same tiny run trained through it and through Node's run folder
// ends in the same parameters; the form's values checked as the CLI's flags and mapped to the same run settings;
// the messages for a config too large for the adapter and for enabling WebGPU; the server's paths.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AutoSave, AutoSaveDb } from '../../studio/app/autosave.js';
import { BrowserRunStore, type StoreView } from '../../studio/app/browser-store.js';
import { configTooLarge, enableWebGpuHelp } from '../../studio/app/gpu.js';
import { checkSetting, defaultSettings, trainOptionsOf } from '../../studio/app/settings.js';
import { fileFor, serveStudio } from '../../studio/server.js';
import { loadBundledSample } from '../../train/data/datasets.js';
import { loadCheckpoint } from '../../train/run/checkpoint-file.js';
import { NonFiniteCheckpointError, decodeCheckpoint, type Checkpoint } from '../../train/run/checkpoint-format.js';
import { validateRunCheckpoint } from '../../train/run/checkpoint-state.js';
import { parseOptions } from '../../train/options.js';
import { trainSteps } from '../../train/step/loop.js';
import { openRun, resolveRecipe, runSignature, setupRun } from '../../train/step/setup.js';
import type { TrainOptions, TrainResult } from '../../train/trainer.js';

const tmp = mkdtempSync(join(tmpdir(), 'agave-studio-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A stand-in for the IndexedDB slot: keeps what is put, or refuses as a full quota does. */
class FakeDb implements AutoSaveDb {
  saved: AutoSave | null = null;
  puts = 0;
  full = false;
  async get(): Promise<AutoSave | null> {
    return this.saved;
  }
  async put(save: AutoSave): Promise<void> {
    this.puts++;
    if (this.full) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    this.saved = save;
  }
  async clear(): Promise<void> {
    this.saved = null;
  }
}

function view(): StoreView & { notices: string[]; autosaves: number[] } {
  const notices: string[] = [];
  const autosaves: number[] = [];
  const ignore = (): void => undefined;
  return { notices, autosaves, record: ignore, curves: ignore, rows: ignore, progress: ignore, autosaved: (step) => void autosaves.push(step), notice: (text) => void notices.push(text) };
}

const settings = defaultSettings('tiny');
const ckpt = (step: number, value = 1): Checkpoint<unknown> => ({ meta: { version: 1, step }, arrays: { params: new Float32Array([value, 2, 3]) } });

describe("the page's RunStore (studio/app/browser-store.ts)", () => {
  it('an auto-save holds the checkpoint bytes, the records up to its step and the settings; the view hears of it', async () => {
    const db = new FakeDb();
    const v = view();
    const store = new BrowserRunStore(db, v, (step) => ({ settings, running: step < 10 }));
    store.appendRecord({ type: 'train', step: 1, loss: 5 });
    store.appendRecord({ type: 'train', step: 2, loss: Number.NaN });
    await store.saveCheckpoint(ckpt(2));
    expect(db.saved).toMatchObject({ version: 1, step: 2, running: true, settings });
    expect(db.saved!.records, 'records as metrics.jsonl holds them (NaN as null)').toEqual([{ type: 'train', step: 1, loss: 5 }, { type: 'train', step: 2, loss: null }]);
    expect(decodeCheckpoint(db.saved!.checkpoint).arrays.params).toEqual(new Float32Array([1, 2, 3]));
    expect(store.hasCheckpoint()).toBe(true);
    expect(v.autosaves).toEqual([2]);
  });

  it('a full storage quota: auto-save off and said so, no error (training goes on), Save still gets the latest state', async () => {
    const db = new FakeDb();
    db.full = true;
    const v = view();
    const store = new BrowserRunStore(db, v, () => ({ settings, running: true }));
    await expect(store.saveCheckpoint(ckpt(20))).resolves.toBeUndefined();
    expect(store.autosaveOff).toMatch(/^the storage quota is full \(QuotaExceededError: The quota has been exceeded\.\)$/);
    expect(v.notices).toEqual(['Auto-save is off: the storage quota is full (QuotaExceededError: The quota has been exceeded.). Training continues; Save downloads the current state (step 20).']);
    await store.saveCheckpoint(ckpt(40, 7));
    expect(db.puts, 'no more writes once it is off').toBe(1);
    expect(store.last?.step).toBe(40);
    expect(decodeCheckpoint(store.last!.bytes).arrays.params![0], 'Save downloads the state of step 40').toBe(7);
  });

  it('never a non-finite checkpoint: refused before anything is written, the previous one kept', async () => {
    const db = new FakeDb();
    const store = new BrowserRunStore(db, view(), () => ({ settings, running: true }));
    await store.saveCheckpoint(ckpt(3));
    const before = db.saved;
    await expect(store.saveCheckpoint(ckpt(4, Number.NaN))).rejects.toThrow(NonFiniteCheckpointError);
    await expect(store.saveCheckpoint(ckpt(4, Number.NaN))).rejects.toThrow("not writing the auto-save (IndexedDB): array 'params' holds NaN at element 0; the checkpoint of step 3 is kept unchanged");
    expect(db.saved).toBe(before);
    expect(store.last?.step).toBe(3);
  });

  it('a resume keeps the records up to its checkpoint (the steps after it are redone) and reads that checkpoint', async () => {
    const bytes = new Uint8Array([1]);
    const point = { checkpoint: ckpt(2), bytes, step: 2, records: [1, 2, 3].map((step) => ({ type: 'train' as const, step })) };
    const store = new BrowserRunStore(null, view(), () => ({ settings, running: true }), point, 'no IndexedDB here');
    expect(store.records.map((r) => r.step)).toEqual([1, 2]);
    expect(await store.readCheckpoint()).toBe(point.checkpoint);
    expect(store.hasCheckpoint()).toBe(true);
    expect(store.autosaveOff).toBe('no IndexedDB here');
  });

  it('the same tiny run, 3 steps through the page\'s store and through a Node run folder: the same parameters, EMA and Adamax state', async () => {
    const o: TrainOptions = { ...trainOptionsOf({ ...settings, steps: 3, autosaveEvery: 3, evalEvery: 1000 }, false, { requested: false }), logEvery: 1000, pixelcnnRecon: 0, evalImages: 8 };
    const quiet = (): void => undefined;
    const db = new FakeDb();
    const store = new BrowserRunStore(db, view(), () => ({ settings, running: false }));
    const page = await openRun(o, quiet, { data: loadBundledSample(), store });
    const result = (): TrainResult => ({ steps: [], evals: [], stoppedEarly: null, parameterCount: 0 });
    try {
      await trainSteps(page, result(), quiet);
    } finally {
      page.dispose();
    }
    const out = join(tmp, 'node-run');
    const node = await setupRun({ ...o, out }, quiet);
    try {
      await trainSteps(node, result(), quiet);
    } finally {
      node.dispose();
    }
    const fromPage = validateRunCheckpoint(decodeCheckpoint(db.saved!.checkpoint), 'page');
    const fromNode = validateRunCheckpoint(loadCheckpoint(join(out, 'checkpoint.agave')), 'node');
    expect(fromPage.meta.step).toBe(3);
    expect({ ...fromPage.meta, data: { ...fromPage.meta.data, source: '' } }).toEqual({ ...fromNode.meta, data: { ...fromNode.meta.data, source: '' } });
    for (const k of ['params', 'ema', 'v', 'u']) expect(Buffer.compare(Buffer.from(fromPage.arrays[k]!.buffer), Buffer.from(fromNode.arrays[k]!.buffer)), k).toBe(0);
  });
});

describe("the page's form", () => {
  it('its settings are the run of the same CLI flags (the same recipe and run signature)', () => {
    const s = { ...defaultSettings('quick'), lambda: 3, batch: 4, lr: 0.001, steps: 40, evalEvery: 20, autosaveEvery: 10 };
    const page = trainOptionsOf(s, false, { requested: false });
    const cli = parseOptions(['--config', 'quick', '--lambda', '3', '--batch', '4', '--lr', '0.001', '--steps', '40', '--eval-every', '20', '--checkpoint-every', '10', '--out', join(tmp, 'x')]);
    if (typeof cli === 'string') throw new Error(cli);
    expect(resolveRecipe(page)).toEqual(resolveRecipe(cli));
    expect(runSignature(page, resolveRecipe(page), 3, 16)).toEqual(runSignature(cli, resolveRecipe(cli), 3, 16));
    for (const k of ['evalEvery', 'evalImages', 'checkpointEvery', 'pixelcnnRecon', 'logEvery', 'seed', 'aux'] as const) expect(page[k], k).toEqual(cli[k]);
  });

  it('values are checked as flags are (decimal, finite, in range), naming the field', () => {
    expect(checkSetting('steps', ' 40 ', { integer: true, min: 1 })).toBe(40);
    expect(checkSetting('learning rate', '2e-3', { integer: false, min: 0, above: true })).toBe(0.002);
    for (const [raw, why] of [['0x10', 'a whole number >= 1'], ['Infinity', 'a whole number >= 1'], ['', 'a whole number >= 1'], ['1.5', 'a whole number >= 1'], ['0', 'a whole number >= 1']]) {
      expect(() => checkSetting('steps', raw!, { integer: true, min: 1 })).toThrow(`steps must be ${why}, got '${raw}'`);
    }
    expect(() => checkSetting('learning rate', '0', { integer: false, min: 0, above: true })).toThrow("learning rate must be a number > 0, got '0'");
  });
});

describe("the page's messages", () => {
  it("a config too large for the adapter: the engine's errors name the limit; the smaller configs are offered", () => {
    const binding = configTooLarge(new Error("conv: [8,32,32,320] is 10485760 bytes, over the device's maxStorageBufferBindingSize (8388608): a tensor is one binding"), 'small');
    expect(binding).toMatchObject({ limit: 'maxStorageBufferBindingSize', smaller: ['tiny', 'quick'] });
    expect(binding!.message).toMatch(/^The config 'small' needs more than this adapter's maxStorageBufferBindingSize \(8,388,608 bytes\): .* Choose a smaller config: tiny or quick\.$/);
    expect(configTooLarge(new Error("Cannot allocate 9 bytes for x: larger than the device's maxBufferSize (8)."), 'quick')).toMatchObject({ limit: 'maxBufferSize', smaller: ['tiny'] });
    expect(configTooLarge(new Error('kernel matmul: GPU out of memory'), 'tiny')).toMatchObject({ limit: 'memory', smaller: [] });
    expect(configTooLarge(new Error('something else'), 'quick')).toBeNull();
  });

  it("how to enable WebGPU: every browser, the reader's first; Linux's Chrome flags on Linux", () => {
    const chromeLinux = enableWebGpuHelp('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36', 'Linux x86_64');
    expect(chromeLinux).toHaveLength(4);
    expect(chromeLinux[0]).toMatch(/^Chrome \/ Chromium: .*chrome:\/\/flags\/#enable-unsafe-webgpu/);
    const firefox = enableWebGpuHelp('Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0', 'Win32');
    expect(firefox[0]).toMatch(/^Firefox: .*dom\.webgpu\.enabled/);
    expect(firefox.join(' ')).not.toMatch(/enable-unsafe-webgpu and/);
    expect(enableWebGpuHelp('Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15', 'MacIntel')[0]).toMatch(/^Safari: /);
  });
});

describe('the server (npm run studio)', () => {
  it('serves the folder and nothing outside it', async () => {
    const site = mkdtempSync(join(tmp, 'site-'));
    writeFileSync(join(site, 'index.html'), '<!doctype html><title>x</title>');
    writeFileSync(join(tmp, 'secret.txt'), 'no');
    expect(fileFor(site, '/')).toBe(join(site, 'index.html'));
    expect(fileFor(site, '/index.html?x=1')).toBe(join(site, 'index.html'));
    for (const bad of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/%00', '/%E0%A4%A']) expect(fileFor(site, bad), bad).toBeNull();
    const { url, server } = await serveStudio(site, '127.0.0.1', 0);
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const index = await fetch(url);
      expect([index.status, index.headers.get('content-type'), await index.text()]).toEqual([200, 'text/html; charset=utf-8', '<!doctype html><title>x</title>']);
      expect((await fetch(`${url}missing.js`)).status).toBe(404);
      expect((await fetch(`${url}%2e%2e/secret.txt`)).status).toBe(404);
      expect((await fetch(url, { method: 'POST', body: 'x' })).status).toBe(405);
    } finally {
      server.close();
    }
  });
});
