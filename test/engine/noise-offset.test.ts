// The noise counter offset (RandomOptions.offset, DropoutNoise.offset, Ctx.noiseOffset): a part of a larger
// tensor drawn with offset = the elements before it gets exactly the values the whole draw has there. This is
// what lets a data-parallel rank (train/distributed/) draw, for its images of a global batch, the latent noise
// and dropout masks a single process gets for the same images of the whole batch. Checked against the whole
// draw on the GPU (bit for bit) and against the float64 CPU Philox reference (test/reference/philox.ts,
// gated.ts), for normal(), uniform(), dropout and concatElu with fused dropout (forward and backward masks).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ops, ParameterSet, type Engine } from '../../engine/index.js';
import { concatElu } from '../../engine/generative/index.js';
import { Ctx } from '../../model/context.js';
import { refNormal, refUniform } from '../reference/philox.js';
import { refConcatElu, refDropoutMask } from '../reference/gated.js';
import { mulberry32, randomData } from '../reference/gradcheck.js';
import { disposeTestEngine, roundF32, testEngine, toGpu } from '../helpers/gpu.js';

let engine: Engine;
beforeAll(async () => {
  engine = await testEngine();
});
afterAll(disposeTestEngine);

/** ||got - want|| / ||want|| (the suite's relative error). */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let d = 0;
  let w = 0;
  for (let i = 0; i < want.length; i++) {
    d += (got[i]! - want[i]!) ** 2;
    w += want[i]! ** 2;
  }
  return Math.sqrt(d / w);
}

describe('noise counter offset', () => {
  // Parts of a batch of 5 "images" of 7x3 elements (sizes that are not multiples of 4/64/256).
  const perImage = 21;
  const images = 5;
  const parts: [number, number][] = [[0, 2], [2, 1], [3, 2]];

  for (const kind of ['normal', 'uniform'] as const) {
    it(`${kind}(): a part drawn with offset equals the whole draw's part (bit for bit) and the float64 reference`, async () => {
      const seed = 2 ** 33 + 7;
      const draw = (shape: number[], offset?: number) =>
        engine.asyncScope(async () => {
          const opts = { seed, stream: 11, ...(offset !== undefined ? { offset } : {}) };
          return (kind === 'normal' ? engine.normal(shape, 0.5, 2, opts) : engine.uniform(shape, -1, 3, opts)).read();
        });
      const whole = await draw([images, 7, 3]);
      const ref = kind === 'normal' ? refNormal(images * perImage, seed, 11, 0.5, 2) : refUniform(images * perImage, seed, 11, -1, 3);
      const err = relErr(whole, ref);
      expect(err, `${kind} [${images},7,3]: relErr ${err.toExponential(3)} against the float64 reference`).toBeLessThan(1e-5);
      for (const [start, count] of parts) {
        const part = await draw([count, 7, 3], start * perImage);
        const want = whole.subarray(start * perImage, (start + count) * perImage);
        const bad = part.findIndex((v, i) => v !== want[i]);
        expect(bad, `${kind} [${count},7,3] offset ${start * perImage}: element ${bad} is ${part[bad]}, the whole draw has ${want[bad]}`).toBe(-1);
      }
    });
  }

  it('dropout: a part masked with offset gets the whole mask\'s part, forward and backward', async () => {
    const n = images * perImage;
    const noise = { p: 0.4, seed: 77, stream: 5 };
    const mask = refDropoutMask(n, noise.p, noise.seed, noise.stream);
    for (const [start, count] of parts) {
      const m = count * perImage;
      const got = await engine.asyncScope(async () => {
        const x = engine.ones([m]).keep();
        x.requiresGrad = true;
        try {
          const y = ops.dropout(x, noise.p, { ...noise, training: true, offset: start * perImage });
          const yv = await y.read();
          engine.backward(y, engine.ones([m]));
          return { y: yv, dx: await x.grad!.read() };
        } finally {
          x.dispose();
        }
      });
      for (let i = 0; i < m; i++) {
        const kept = mask[start * perImage + i] === 1;
        if ((got.y[i] !== 0) !== kept || (got.dx[i] !== 0) !== kept) {
          throw new Error(`dropout [${m}] offset ${start * perImage}: element ${i} (y ${got.y[i]}, dx ${got.dx[i]}) does not follow the reference mask (${kept ? 'kept' : 'dropped'})`);
        }
      }
    }
  });

  it('concatElu with dropout: images of a batch with offset = images before them x 2C x H x W equal the whole batch\'s rows (forward, backward)', async () => {
    const shape = [images, 2, 3, 5];
    const rng = mulberry32(3);
    const x = roundF32(randomData(rng, shape, -2, 2));
    const noise = { p: 0.3, seed: 1234, stream: 9 };
    const outPerImage = 2 * 3 * 2 * 5;
    const run = (from: number, count: number) =>
      engine.asyncScope(async () => {
        const xs = toGpu(engine, { shape: [count, 2, 3, 5], data: x.data.slice(from * 30, (from + count) * 30) }, true).keep();
        try {
          const y = concatElu(xs, { dropout: { ...noise, offset: from * outPerImage } });
          const yv = await y.read();
          engine.backward(y, engine.ones(y.shape));
          return { y: yv, dx: await xs.grad!.read() };
        } finally {
          xs.dispose();
        }
      });
    const whole = await run(0, images);
    const ref = refConcatElu(x, noise);
    const err = relErr(whole.y, ref.data);
    expect(err, `concatElu+dropout [${shape.join(',')}]: relErr ${err.toExponential(3)} against the float64 reference`).toBeLessThan(1e-5);
    for (const [start, count] of parts) {
      const part = await run(start, count);
      const y = whole.y.subarray(start * outPerImage, (start + count) * outPerImage);
      const dx = whole.dx.subarray(start * 30, (start + count) * 30);
      const badY = part.y.findIndex((v, i) => v !== y[i]);
      const badDx = part.dx.findIndex((v, i) => v !== dx[i]);
      expect(badY, `concatElu+dropout images ${start}..${start + count - 1}: output element ${badY} differs from the whole batch's`).toBe(-1);
      expect(badDx, `concatElu+dropout images ${start}..${start + count - 1}: gradient element ${badDx} differs from the whole batch's`).toBe(-1);
    }
  });

  it('streams past 2^32 draw noise of their own (the counter\'s upper stream word), as the float64 reference does; Ctx streams do not wrap', async () => {
    // A training loop gives each step 2^16 streams: step 65,536's are past 2^32. With one stream word they
    // repeated step 0's noise from there.
    const far = 2 ** 32 + 11;
    for (const kind of ['normal', 'uniform'] as const) {
      const draw = (stream: number) => engine.asyncScope(async () => (kind === 'normal' ? engine.normal([64], 0, 1, { seed: 5, stream }) : engine.uniform([64], 0, 1, { seed: 5, stream })).read());
      const [near, high] = [await draw(11), await draw(far)];
      expect(Array.from(high), `${kind}(): stream 2^32 + 11 repeats stream 11`).not.toEqual(Array.from(near));
      const err = relErr(high, kind === 'normal' ? refNormal(64, 5, far) : refUniform(64, 5, far));
      expect(err, `${kind}() [64] stream 2^32 + 11: relErr ${err.toExponential(3)} against the float64 reference`).toBeLessThan(1e-5);
    }
    const mask = refDropoutMask(256, 0.5, 77, far);
    const y = await engine.asyncScope(async () => ops.dropout(engine.ones([256]), 0.5, { seed: 77, stream: far, training: true }).read());
    const bad = mask.findIndex((m, i) => (y[i] !== 0) !== (m === 1));
    expect(bad, `dropout [256] stream 2^32 + 11: element ${bad} does not follow the reference mask`).toBe(-1);
    expect(Array.from(mask), 'the reference masks of streams 11 and 2^32 + 11 differ').not.toEqual(Array.from(refDropoutMask(256, 0.5, 77, 11)));
    const x = roundF32(randomData(mulberry32(4), [2, 3, 4], -2, 2));
    const got = await engine.asyncScope(async () => concatElu(toGpu(engine, x), { dropout: { p: 0.3, seed: 9, stream: far } }).read());
    const cErr = relErr(got, refConcatElu(x, { p: 0.3, seed: 9, stream: far }).data);
    expect(cErr, `concatElu+dropout [2,3,4] stream 2^32 + 11: relErr ${cErr.toExponential(3)} against the float64 reference`).toBeLessThan(1e-5);
    const params = ParameterSet.create(engine, [{ name: 'w', shape: [1], init: 'zeros' }], 1);
    try {
      const ctx = new Ctx(engine, params, { seed: 1, training: true, streamBase: 65536 * 2 ** 16 });
      expect(ctx.nextStream(), 'Ctx.nextStream at step 65,536').toBe(2 ** 32);
    } finally {
      params.dispose();
    }
    expect(() => engine.uniform([2], 0, 1, { seed: 1, stream: -1 })).toThrow(/stream must be a non-negative safe integer/);
    expect(() => ops.dropout(engine.ones([2]), 0.5, { seed: 1, stream: 2 ** 53, training: true })).toThrow(/stream must be a non-negative safe integer/);
  });

  it('Ctx.noiseOffset counts the elements of the images before the pass\'s images; offsets are checked', () => {
    const params = ParameterSet.create(engine, [{ name: 'w', shape: [1], init: 'zeros' }], 1);
    try {
      expect(new Ctx(engine, params, { seed: 1, training: true }).noiseOffset([4, 3, 5])).toBe(0);
      expect(new Ctx(engine, params, { seed: 1, training: true, batchOffset: 8 }).noiseOffset([4, 3, 5])).toBe(8 * 15);
    } finally {
      params.dispose();
    }
    expect(() => engine.normal([2], 0, 1, { seed: 1, offset: -1 })).toThrow(/offset must be a non-negative safe integer/);
    expect(() => ops.dropout(engine.ones([2]), 0.5, { seed: 1, stream: 0, training: true, offset: 0.5 })).toThrow(/offset must be a non-negative safe integer/);
  });
});
