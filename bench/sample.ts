// Sampling benchmark (`npm run bench -- sample`): images per second of the autoregressive PixelCNN++ sampler,
// naive (a full network pass per pixel) against cached (model/pixelcnn_cached.ts), for the conditional PixelCNN++
// of a config at its image size, with the dispatches and GPU time per image.
// The naive sampler costs the same for every pixel, so it is timed over its first pixels (--naive-pixels) and
// scaled to the H*W pixels of an image; the cached one is timed over whole rows (--rows, default all: the full
// image) plus its initial full pass. --check draws whole images with both and compares them (identical pixels).
// GPU time comes from a second engine with timestamp queries over a few pixels (the adapter's support permitting).
import { Engine, ParameterSet, type Tensor } from '../engine/index.js';
import { Ctx, ParamBuilder } from '../model/layers.js';
import { PixelCnn } from '../model/pixelcnn.js';
import { drawPixels, type SamplerKind } from '../model/sampler.js';
import { CONFIGS, type ConfigName } from '../model/config.js';
import { printTable, type BenchRow } from './harness.js';

export interface SampleBenchOptions {
  configs: ConfigName[];
  batches: number[];
  /** Pixels timed for the naive sampler (default: one row at small sizes, 2 at the paper config). */
  naivePixels?: number;
  /** Rows timed for the cached sampler (default: all, except 4 at the paper config with batch > 4). */
  rows?: number;
  /** Draw full images with both samplers and compare them. */
  check?: boolean;
}

interface Setup {
  engine: Engine;
  pc: PixelCnn;
  params: ParameterSet;
  cond: Tensor;
  S: number;
}

async function setup(name: ConfigName, batch: number, timing: boolean): Promise<Setup> {
  const cfg = CONFIGS[name];
  const engine = await Engine.create({ seed: 1, timing });
  const b = new ParamBuilder();
  const pc = new PixelCnn(b, { ...cfg.pixelcnn, dropout: 0, channels: 3, condChannels: 3 });
  const params = ParameterSet.create(engine, b.specs, 1);
  const S = cfg.imageSize;
  const cond = engine.uniform([batch, S, S, 3], -1, 1, { seed: 5 }).keep();
  return { engine, pc, params, cond, S };
}

function dispose(s: Setup): void {
  s.cond.dispose();
  s.params.dispose();
  s.engine.dispose();
}

interface Timed {
  ms: number;
  dispatches: number;
  canvas: Float32Array;
  /** Per-row wall times (ms) after the first sync (cached: the first includes the initial pass). */
  rowMs: number[];
}

interface RunHooks {
  /** After the warm-up, before the timed sampling. */
  onStart?: () => Promise<void>;
  /** After the cached sampler's initial pass. */
  afterInit?: () => Promise<void>;
  /** Print progress per row. */
  progress?: string;
}

async function run(s: Setup, kind: SamplerKind, batch: number, pixels: number, read = false, hooks: RunHooks = {}): Promise<Timed> {
  const { engine, pc, params, cond, S } = s;
  const ctx = new Ctx(engine, params, { seed: 1, streamBase: 0x5000 }).freeze();
  const canvas = engine.zeros([batch, S, S, 3]).keep();
  // Warm the frozen context (effective weights, conditioning stream) and the pipelines outside the timing.
  engine.scope(() => engine.noGrad(() => pc.forward(ctx, canvas, cond)));
  await engine.sync();
  await hooks.onStart?.();
  const d0 = engine.runner.dispatchCount;
  const t0 = performance.now();
  const rowMs: number[] = [];
  let last = t0;
  await drawPixels(ctx, pc, canvas, cond, {
    sampler: kind,
    seed: 3,
    stream: 0,
    pixels,
    onRow: (r) => {
      const now = performance.now();
      rowMs.push(now - last);
      last = now;
      if (hooks.progress) console.log(`${hooks.progress}: row ${r + 1} done, ${((now - t0) / 1000).toFixed(1)} s`);
    },
    ...(hooks.afterInit ? { afterInit: hooks.afterInit } : {}),
  });
  const ms = performance.now() - t0;
  const dispatches = engine.runner.dispatchCount - d0;
  const out = read ? await canvas.read() : new Float32Array(0);
  canvas.dispose();
  ctx.releaseFrozen();
  return { ms, dispatches, canvas: out, rowMs };
}

/**
 * GPU ms per image from timestamp queries, or null without support: the sampler's first `pixels` pixels, scaled
 * to the image; the cached sampler's initial full pass (read out before its first pixel) counts once.
 */
async function gpuTime(name: ConfigName, kind: SamplerKind, batch: number, pixels: number): Promise<number | null> {
  const s = await setup(name, batch, true);
  try {
    if (!s.engine.runner.timingEnabled) return null;
    const total = async (): Promise<number> => (await s.engine.timings(true)).reduce((a, r) => a + r.totalMs, 0);
    let init = 0;
    await run(s, kind, batch, pixels, false, {
      onStart: async () => void (await total()),
      afterInit: async () => {
        init = await total();
      },
    });
    const part = await total();
    return (init + part * ((s.S * s.S) / pixels)) / batch;
  } finally {
    dispose(s);
  }
}

export async function benchSample(opts: SampleBenchOptions): Promise<void> {
  const rows: BenchRow[] = [];
  for (const name of opts.configs) {
    const S = CONFIGS[name].imageSize;
    const big = name === 'paper';
    for (const batch of opts.batches) {
      const s = await setup(name, batch, false);
      try {
        const nPix = Math.min(S * S, opts.naivePixels ?? (big ? 2 : S));
        const naive = await run(s, 'naive', batch, nPix);
        const naiveImageMs = (naive.ms * (S * S)) / nPix;
        const naiveDisp = (naive.dispatches * (S * S)) / nPix / batch;
        const cRows = Math.min(S, opts.rows ?? (big && batch > 4 ? 4 : S));
        const cached = await run(s, 'cached', batch, cRows * S, false, big ? { progress: `${name} batch ${batch} cached` } : {});
        // Whole images: the measured rows scaled to S rows (rows repeat with period 4: the three resolutions).
        const initAndFirst = cached.rowMs[0]!;
        const rest = cached.rowMs.slice(1);
        const perRow = rest.length > 0 ? rest.reduce((a, b) => a + b, 0) / rest.length : initAndFirst;
        const cachedImageMs = cRows === S ? cached.ms : initAndFirst + perRow * (S - 1);
        const cachedDisp = (cached.dispatches * (cRows === S ? 1 : S / cRows)) / batch;
        const gN = await gpuTime(name, 'naive', batch, Math.min(nPix, big ? 1 : 2));
        const gC = await gpuTime(name, 'cached', batch, Math.min(cRows, big ? 1 : 4) * S);
        const gpu = (g: number | null): string => (g === null ? 'GPU time n/a (no timestamp queries)' : `GPU ${(g / 1000).toFixed(2)} s/image`);
        const ips = (ms: number): string => (batch / (ms / 1000)).toPrecision(3);
        rows.push({
          name: `${name} ${S}x${S} batch ${batch}: naive`,
          ms: naiveImageMs,
          note: `${ips(naiveImageMs)} img/s (batch of ${batch} in ${(naiveImageMs / 1000).toFixed(1)} s, from ${nPix} of ${S * S} passes), ${Math.round(naiveDisp)} dispatches/image, ${gpu(gN)}`,
        });
        rows.push({
          name: `${name} ${S}x${S} batch ${batch}: cached`,
          ms: cachedImageMs,
          note: `${ips(cachedImageMs)} img/s (batch of ${batch} in ${(cachedImageMs / 1000).toFixed(1)} s${cRows === S ? '' : `, from ${cRows} of ${S} rows`}), ${Math.round(cachedDisp)} dispatches/image, ${gpu(gC)}; ${(naiveImageMs / cachedImageMs).toFixed(1)}x faster`,
        });
        console.log(`${rows[rows.length - 2]!.name}: ${rows[rows.length - 2]!.note}\n${rows[rows.length - 1]!.name}: ${rows[rows.length - 1]!.note}`);
        if (opts.check) {
          const a = await run(s, 'naive', batch, S * S, true);
          const b = await run(s, 'cached', batch, S * S, true);
          const bad = a.canvas.findIndex((v, i) => v !== b.canvas[i]);
          const msg = bad < 0 ? `identical (${a.canvas.length} values; naive ${(a.ms / 1000).toFixed(1)} s, cached ${(b.ms / 1000).toFixed(1)} s: ${(a.ms / b.ms).toFixed(1)}x)` : `DIFFER at value ${bad}: naive ${a.canvas[bad]}, cached ${b.canvas[bad]}`;
          console.log(`check ${name} batch ${batch}, full images: ${msg}`);
          rows.push({ name: `${name} batch ${batch}: full-image check`, ms: a.ms, note: msg });
        }
      } finally {
        dispose(s);
      }
    }
  }
  printTable('autoregressive PixelCNN++ sampling, conditional, per batch (ms per batch of images)', rows);
}
