// Weight-normed layers: data-dependent init leaves each channel with mean 0 and std init_scale on the init
// batch (docs/MODEL.md §7 assertion 3), a zero-variance channel keeps a finite gain (pitfall 20), and clamp.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, ParameterSet, ops } from '../../engine/index.js';
import { Ctx, ParamBuilder, WnConv, WnNin } from '../../model/layers.js';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create({ seed: 21, poison: true });
});
afterAll(() => engine.dispose());

async function moments(t: ReturnType<typeof ops.channelMoments>): Promise<{ mean: Float32Array; std: number[] }> {
  const mean = await t.mean.read();
  const v = await t.variance.read();
  return { mean, std: [...v].map(Math.sqrt) };
}

describe('weight-normed layers', () => {
  it('data-dependent init gives per-channel mean 0 and std init_scale on the init batch, then is a no-op', async () => {
    const b = new ParamBuilder();
    const conv = new WnConv(b, 'c', { kh: 2, kw: 3, cin: 5, cout: 7, pad: [1, 0, 1, 1], initScale: 0.1 });
    const nin = new WnNin(b, 'n', 7, 6, 1.0);
    const params = ParameterSet.create(engine, b.specs, 3);
    const x = engine.normal([4, 6, 6, 5], 0.3, 2, { seed: 5 }).keep();
    await engine.asyncScope(async () => {
      const init = new Ctx(engine, params, { seed: 1, init: true });
      const y = conv.forward(init, x);
      const z = nin.forward(init, y);
      const my = await moments(ops.channelMoments(y));
      const mz = await moments(ops.channelMoments(z));
      for (let c = 0; c < 7; c++) {
        expect(Math.abs(my.mean[c]!), `conv channel ${c} mean`).toBeLessThan(1e-5);
        expect(Math.abs(my.std[c]! - 0.1), `conv channel ${c} std`).toBeLessThan(1e-4);
      }
      for (let c = 0; c < 6; c++) {
        expect(Math.abs(mz.mean[c]!), `nin channel ${c} mean`).toBeLessThan(1e-5);
        expect(Math.abs(mz.std[c]! - 1), `nin channel ${c} std`).toBeLessThan(1e-3);
      }
      // Outside init mode the layer uses the initialised g, b: same statistics.
      const run = new Ctx(engine, params, { seed: 1 });
      const again = await moments(ops.channelMoments(conv.forward(run, x)));
      expect(Math.abs(again.std[3]! - 0.1)).toBeLessThan(1e-4);
    });
    x.dispose();
    params.dispose();
  });

  it('a channel with zero variance on the init batch keeps a finite gain (no 1/sqrt(1e-10) blow-up)', async () => {
    const b = new ParamBuilder();
    const nin = new WnNin(b, 'n', 3, 2, 0.1);
    const params = ParameterSet.create(engine, b.specs, 4);
    const x = engine.full([2, 3, 3, 3], 0.5).keep(); // constant input: every output channel has variance 0
    await engine.asyncScope(async () => {
      const init = new Ctx(engine, params, { seed: 1, init: true });
      const y = await nin.forward(init, x).read();
      expect([...y].every((v) => Number.isFinite(v) && Math.abs(v) < 1e-5), `outputs ${[...y].slice(0, 4)}`).toBe(true);
      const g = await params.get('n.g')!.read();
      expect([...g]).toEqual([1, 1]);
    });
    x.dispose();
    params.dispose();
  });

  it('clamp limits values and passes gradient only inside the range', async () => {
    await engine.asyncScope(async () => {
      const x = engine.tensor([-2, -0.5, 0.25, 3]);
      x.requiresGrad = true;
      const y = ops.clamp(x, -1, 1);
      expect([...(await y.read())]).toEqual([-1, -0.5, 0.25, 1]);
      engine.backward(ops.sum(y));
      expect([...(await x.grad!.read())].map((v) => (v === 0 ? 0 : v))).toEqual([0, 1, 1, 0]);
    });
  });
});
