// Training-step benchmark: time of forward + backward + Adamax (+ EMA) for a model config, peak GPU memory,
// and (with --profile) GPU time per kernel from timestamp queries.
import { Engine, ParameterSet } from '../engine/index.js';
import { Agave, Ctx } from '../model/agave.js';
import { CONFIGS, type ConfigName } from '../model/config.js';
import { printTable, type BenchRow } from './harness.js';

export async function benchStep(configs: ConfigName[], opts: { batch?: number; steps?: number; profile?: boolean } = {}): Promise<void> {
  const rows: BenchRow[] = [];
  for (const name of configs) {
    const cfg = CONFIGS[name];
    const engine = await Engine.create({ seed: 1, timing: opts.profile ?? false });
    const batch = opts.batch ?? cfg.batch;
    const model = new Agave(cfg, { variant: 'identity' });
    const params = ParameterSet.create(engine, model.builder.specs, 1);
    const S = cfg.imageSize;
    const data = Float32Array.from({ length: batch * S * S * 3 }, (_, i) => (i * 7919) % 256);
    const x = engine.tensor(data, [batch, S, S, 3]).keep();
    const t0 = performance.now();
    engine.scope(() => {
      const ctx = new Ctx(engine, params, true, true, { p: cfg.pixelcnn.dropout, seed: 1 }, 0);
      engine.noGrad(() => model.loss(ctx, x, { lambda: 1, phase: 'joint', useAux: true }));
    });
    params.initEma();
    await engine.sync();
    const initMs = performance.now() - t0;
    if (opts.profile) await engine.timings(true);
    engine.resetPeak();
    const times: number[] = [];
    let dispatches = 0;
    const steps = opts.steps ?? 3;
    for (let s = 0; s < steps; s++) {
      const d0 = engine.runner.dispatchCount;
      const t1 = performance.now();
      await engine.asyncScope(async () => {
        params.zeroGrad(); // before the forward: weight gradients then land in place (engine/weight_norm.ts)
        const ctx = new Ctx(engine, params, false, true, { p: cfg.pixelcnn.dropout, seed: 1 }, (s + 1) << 16);
        const t = model.loss(ctx, x, { lambda: 1, phase: 'joint', useAux: true });
        engine.backward(t.loss);
        params.adamaxStep();
        params.emaUpdate(0.999);
        await t.loss.read();
      });
      times.push(performance.now() - t1);
      dispatches = engine.runner.dispatchCount - d0;
    }
    const med = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
    rows.push({ name: `${name} batch ${batch} (${params.count.toLocaleString('en-US')} params)`, ms: med, note: `${(batch / (med / 1000)).toFixed(2)} img/s, ${dispatches} dispatches/step, peak ${(engine.memory().peakBytes / 2 ** 20).toFixed(0)} MiB live tensors, init ${(initMs / 1000).toFixed(1)} s` });
    if (opts.profile) {
      const t = await engine.timings(true);
      const total = t.reduce((a, r) => a + r.totalMs, 0);
      const byKernel = new Map<string, { ms: number; calls: number }>();
      for (const r of t) {
        const k = r.kernel.split(':').slice(0, 2).join(':');
        const a = byKernel.get(k) ?? { ms: 0, calls: 0 };
        a.ms += r.totalMs;
        a.calls += r.calls;
        byKernel.set(k, a);
      }
      printTable(`GPU time per kernel, ${name}, ${steps} steps (total ${total.toFixed(0)} ms)`, [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25).map(([k, v]) => ({ name: k, ms: v.ms / steps, note: `${(v.calls / steps).toFixed(0)} calls/step, ${((100 * v.ms) / total).toFixed(1)}%` })));
    }
    x.dispose();
    params.dispose();
    engine.dispose();
  }
  printTable('training step (forward + backward + Adamax + EMA)', rows);
}
