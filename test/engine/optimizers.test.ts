// The optimizers beside Adamax (engine/params/optimizers.ts) step by step against float64 references of their
// published update rules (test/reference/optim.ts): SGD (plain, momentum with dampening, Nesterov), Adam, AdamW,
// each with weight decay (one value, and per parameter name), global-norm gradient clipping (active and not),
// learning-rate schedules, whole arenas and small chunks; 10 steps each, the parameters compared after every step
// and every state arena after the last (relErr <= 1e-5). Their state and step counts saved and restored (a resumed run is bit-identical to
// the uninterrupted one); a checkpoint with only what the trainer stores (params, ema, v, u) still loads; the
// finiteness check names the optimizer's arenas; the schedules against their definitions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParameterSet, constantLr, cosineLr, stepLr, type AdamOptions, type Engine, type ParamSpec, type SgdOptions } from '../../engine/index.js';
import { compare, mulberry32, type Rng } from '../reference/gradcheck.js';
import { refAdamStep, refClip, refSchedules, refSgdStep } from '../reference/optim.js';
import { disposeTestEngine, testEngine } from '../helpers/gpu.js';

const TOL = 1e-5;
let engine: Engine;
beforeAll(async () => {
  engine = await testEngine();
});
afterAll(disposeTestEngine);

const SPECS: ParamSpec[] = [
  { name: 'conv.w', shape: [3, 5, 7], init: { normal: 0.3 } },
  { name: 'conv.b', shape: [7], init: { uniform: 0.1 } },
  { name: 'fc.w', shape: [13, 31], init: { normal: 0.5 } },
  { name: 'fc.b', shape: [31], init: 'zeros' },
  { name: 'scale', shape: [1], init: 'ones' },
  { name: 'big', shape: [2, 3, 67], init: { uniform: 1 } },
];
const SIZES = SPECS.map((s) => s.shape.reduce((a, b) => a * b, 1));
const COUNT = SIZES.reduce((a, b) => a + b, 0);
const decayOf = (name: string): number => (name.endsWith('.b') ? 0 : name === 'big' ? 0.02 : 0.005);
/** The per-name decay spread over the packed elements, for the reference. */
const PACKED_DECAY = Float64Array.from(SPECS.flatMap((s, i) => new Array<number>(SIZES[i]!).fill(decayOf(s.name))));

function randomGrads(rng: Rng): Float32Array[] {
  // Mixed magnitudes and some exact zeros; the global norm is ~10, so clipNorm 2 clips and 100 does not.
  return SIZES.map((n) => Float32Array.from({ length: n }, () => {
    const r = rng();
    return r < 0.05 ? 0 : Math.fround((rng() - 0.5) * (r < 0.5 ? 2 : 0.02));
  }));
}

function writeGrads(set: ParameterSet, grads: Float32Array[]): void {
  set.zeroGrad();
  SPECS.forEach((s, i) => engine.write(set.get(s.name).grad!, grads[i]!));
}

interface Config {
  name: string;
  kind: 'sgd' | 'adam' | 'adamw';
  opts: SgdOptions & AdamOptions;
  maxChunkElements?: number;
}

const CONFIGS: Config[] = [
  { name: 'SGD, plain', kind: 'sgd', opts: { lr: 0.05 } },
  { name: 'SGD, momentum 0.9, dampening 0.1, L2 decay per name, chunks of 128', kind: 'sgd', opts: { lr: 0.03, momentum: 0.9, dampening: 0.1, weightDecay: decayOf }, maxChunkElements: 128 },
  { name: 'SGD, Nesterov 0.8, L2 decay 0.01, step schedule, clipNorm 2 (clipping)', kind: 'sgd', opts: { lr: stepLr({ lr: 0.1, every: 3, gamma: 0.5 }), momentum: 0.8, nesterov: true, weightDecay: 0.01, clipNorm: 2 } },
  { name: 'Adam, defaults, clipNorm 2 (clipping), chunks of 256', kind: 'adam', opts: { clipNorm: 2 }, maxChunkElements: 256 },
  { name: 'Adam, L2 decay 0.01, cosine schedule with warm-up, betas 0.8 / 0.99, eps 1e-6, clipNorm 100 (not clipping)', kind: 'adam', opts: { lr: cosineLr({ lr: 0.01, warmup: 3, total: 9, min: 0.001 }), weightDecay: 0.01, beta1: 0.8, beta2: 0.99, eps: 1e-6, clipNorm: 100 } },
  { name: 'AdamW, decoupled decay per name, lr 0.02, chunks of 128', kind: 'adamw', opts: { lr: 0.02, weightDecay: decayOf }, maxChunkElements: 128 },
  { name: 'AdamW, default decay 0.01, constant schedule', kind: 'adamw', opts: { lr: constantLr(0.005) } },
];

function lrAt(opts: Config['opts'], step: number, fallback: number): number {
  return typeof opts.lr === 'function' ? opts.lr(step) : (opts.lr ?? fallback);
}

function stepSet(set: ParameterSet, c: Config): void {
  if (c.kind === 'sgd') set.sgdStep(c.opts);
  else if (c.kind === 'adam') set.adamStep(c.opts);
  else set.adamwStep(c.opts);
}

describe('SGD, Adam and AdamW vs float64 references of their update rules, 10 steps', () => {
  for (const c of CONFIGS) {
    it(c.name, async () => {
      const set = ParameterSet.create(engine, SPECS, 99, c.maxChunkElements ? { maxChunkElements: c.maxChunkElements } : {});
      if (c.maxChunkElements) expect(set.chunkCount, 'several chunks').toBeGreaterThan(2);
      const rng = mulberry32(c.name.length * 131);
      const p = Float64Array.from((await set.serialize()).params);
      const s1 = new Float64Array(COUNT);
      const s2 = new Float64Array(COUNT);
      const wd = typeof c.opts.weightDecay === 'function' ? PACKED_DECAY : new Float64Array(COUNT).fill(c.opts.weightDecay ?? (c.kind === 'adamw' ? 0.01 : 0));
      let clip = { norm: 0, factor: 1 };
      for (let step = 0; step < 10; step++) {
        const grads = randomGrads(rng);
        writeGrads(set, grads);
        stepSet(set, c);
        const flat = Float64Array.from(grads.flatMap((g) => [...g]));
        if (c.opts.clipNorm !== undefined) {
          clip = refClip(flat, c.opts.clipNorm);
          flat.forEach((v, i) => (flat[i] = v * clip.factor));
        }
        if (c.kind === 'sgd') {
          refSgdStep({ p, buf: s1 }, flat, { lr: lrAt(c.opts, step, 0.01), momentum: c.opts.momentum ?? 0, dampening: c.opts.dampening ?? 0, nesterov: c.opts.nesterov ?? false, wd, first: step === 0 });
        } else {
          refAdamStep({ p, m: s1, v: s2 }, flat, { lr: lrAt(c.opts, step, 0.001), beta1: c.opts.beta1 ?? 0.9, beta2: c.opts.beta2 ?? 0.999, eps: c.opts.eps ?? 1e-8, wd, decoupled: c.kind === 'adamw', t: step + 1 });
        }
        // Step by step: the parameters after every update.
        const now = (await set.serialize()).params;
        const r = compare(`${c.name}: all parameters after step ${step + 1}`, [COUNT], now, p, TOL);
        expect(r.err, r.message).toBeLessThanOrEqual(TOL);
      }
      const ck = await set.serialize();
      let k = 0;
      SPECS.forEach((s, i) => {
        const n = SIZES[i]!;
        const r = compare(`${c.name}: '${s.name}' after 10 steps`, s.shape, ck.params.subarray(k, k + n), p.subarray(k, k + n), TOL);
        expect(r.err, r.message).toBeLessThanOrEqual(TOL);
        k += n;
      });
      const state = c.kind === 'sgd' ? (c.opts.momentum ? { 'sgd.momentum': s1 } : {}) : { 'adam.m': s1, 'adam.v': s2 };
      expect(Object.keys(ck.state ?? {}).sort(), 'state arenas in the checkpoint').toEqual(Object.keys(state).sort());
      for (const [name, want] of Object.entries(state)) {
        const r = compare(`${c.name}: state '${name}' after 10 steps`, [COUNT], ck.state![name]!, want, TOL);
        expect(r.err, r.message).toBeLessThanOrEqual(TOL);
      }
      expect(ck.steps, 'step counts').toEqual({ [c.kind === 'sgd' ? 'sgd' : 'adam']: 10 });
      if (c.opts.clipNorm !== undefined) {
        const got = (await set.lastClipping())!;
        expect(Math.abs(got.norm - clip.norm) / clip.norm, `${c.name}: last gradient norm ${got.norm} vs ${clip.norm}`).toBeLessThan(1e-5);
        expect(Math.abs(got.factor - clip.factor), `${c.name}: clipping factor ${got.factor} vs ${clip.factor}`).toBeLessThan(1e-6);
        expect(clip.factor < 1, 'the bound decides whether it clips').toBe(c.opts.clipNorm < 10);
      } else expect(await set.lastClipping()).toBeNull();
      set.dispose();
    });
  }
});

describe('optimizer state and step counts are saved and restored', () => {
  it('a run resumed from serialize()/load() at step 5 ends bit-identical to the uninterrupted run (Adam with a schedule, SGD momentum)', async () => {
    const opts: Config[] = [CONFIGS[4]!, CONFIGS[1]!];
    for (const c of opts) {
      const straight = ParameterSet.create(engine, SPECS, 7, c.maxChunkElements ? { maxChunkElements: c.maxChunkElements } : {});
      const first = ParameterSet.create(engine, SPECS, 7, c.maxChunkElements ? { maxChunkElements: c.maxChunkElements } : {});
      const grads = Array.from({ length: 10 }, (_, i) => randomGrads(mulberry32(1000 + i)));
      for (let s = 0; s < 10; s++) {
        writeGrads(straight, grads[s]!);
        stepSet(straight, c);
      }
      for (let s = 0; s < 5; s++) {
        writeGrads(first, grads[s]!);
        stepSet(first, c);
      }
      const ck = await first.serialize();
      first.dispose();
      const resumed = ParameterSet.create(engine, SPECS, 12345, c.maxChunkElements ? { maxChunkElements: c.maxChunkElements } : {});
      resumed.load(ck);
      expect(resumed.optimizerSteps(c.kind === 'sgd' ? 'sgd' : 'adam')).toBe(5);
      for (let s = 5; s < 10; s++) {
        writeGrads(resumed, grads[s]!);
        stepSet(resumed, c);
      }
      const a = await straight.serialize();
      const b = await resumed.serialize();
      expect(b.params.every((v, i) => v === a.params[i]), `${c.name}: resumed parameters differ from the uninterrupted run`).toBe(true);
      for (const name of Object.keys(a.state!)) expect(b.state![name]!.every((v, i) => v === a.state![name]![i]), `${c.name}: state '${name}'`).toBe(true);
      expect(b.steps).toEqual(a.steps);
      straight.dispose();
      resumed.dispose();
    }
  });

  it("loads a checkpoint holding only the trainer's fields (params, ema, v, u), zeroing other optimizers' state and counts", async () => {
    const set = ParameterSet.create(engine, SPECS, 3);
    set.initEma();
    writeGrads(set, randomGrads(mulberry32(5)));
    set.adamaxStep();
    set.adamStep();
    const full = await set.serialize();
    expect(Object.keys(full.state!).sort()).toEqual(['adam.m', 'adam.v']);
    expect(full.steps).toEqual({ adamax: 1, adam: 1 });
    const trainerFields = { names: full.names, shapes: full.shapes, params: full.params, ema: full.ema!, v: full.v!, u: full.u! };
    set.load(trainerFields);
    const back = await set.serialize();
    expect([...back.params]).toEqual([...full.params]);
    expect([...back.v!]).toEqual([...full.v!]);
    expect([...back.u!]).toEqual([...full.u!]);
    expect([...back.ema!]).toEqual([...full.ema!]);
    expect(back.state!['adam.m']!.every((v) => v === 0), "Adam's m is zeroed when the checkpoint has none").toBe(true);
    expect(back.steps, 'no step counts in the checkpoint: all 0').toBeUndefined();
    expect(() => set.load({ ...trainerFields, state: { 'adam.m': new Float32Array(3) } })).toThrow(/ParameterSet.load: state 'adam.m' has 3 values, expected 949/);
    expect(() => set.load({ ...trainerFields, steps: { adam: -1 } })).toThrow(/steps of 'adam' must be a non-negative integer/);
    set.dispose();
  });
});

describe('optimizer checks and health', () => {
  it('refuses bad hyper-parameters, naming the optimizer and the setting, before changing anything', async () => {
    const set = ParameterSet.create(engine, SPECS, 3);
    const before = await set.serialize();
    expect(() => set.sgdStep({ momentum: 1 })).toThrow(/SGD: momentum must be in \[0, 1\), got 1/);
    expect(() => set.sgdStep({ nesterov: true })).toThrow(/SGD: Nesterov momentum needs momentum > 0 and dampening 0/);
    expect(() => set.adamStep({ beta2: 1 })).toThrow(/Adam: beta2 must be in \[0, 1\), got 1/);
    expect(() => set.adamwStep({ weightDecay: (n) => (n === 'fc.w' ? -1 : 0) })).toThrow(/AdamW: weightDecay of 'fc.w' must be a finite number >= 0, got -1/);
    expect(() => set.adamStep({ lr: () => NaN })).toThrow(/Adam: the learning-rate schedule's value at step 0 must be a finite number >= 0, got NaN/);
    expect(() => set.adamStep({ clipNorm: 0 })).toThrow(/clipNorm must be a finite number > 0, got 0/);
    expect(set.optimizerSteps('adam')).toBe(0);
    expect([...(await set.serialize()).params]).toEqual([...before.params]);
    set.dispose();
  });

  it("nonFiniteCheck names the arenas of the optimizer that stepped last (Adam's m and v)", async () => {
    const set = ParameterSet.create(engine, SPECS, 3);
    const grads = randomGrads(mulberry32(9));
    grads[2]![4] = NaN;
    writeGrads(set, grads);
    set.adamStep();
    const report = await set.nonFiniteCheck();
    expect(report.finite).toBe(false);
    expect(report.hits.map((h) => `${h.arena}:${h.parameter}[${h.element}]`)).toEqual(['params:fc.w[4]', 'adam.m:fc.w[4]', 'adam.v:fc.w[4]']);
    set.dispose();
  });

  it('the schedules follow their definitions at every step, and check their settings', () => {
    const cos = cosineLr({ lr: 0.3, warmup: 5, total: 40, min: 0.01 });
    const st = stepLr({ lr: 0.2, every: 7, gamma: 0.3 });
    for (let s = 0; s < 50; s++) {
      expect(Math.abs(cos(s) - refSchedules.cosine(0.3, 40, 5, 0.01, s)), `cosineLr at step ${s}`).toBeLessThan(1e-15);
      expect(Math.abs(st(s) - refSchedules.step(0.2, 7, 0.3, s)), `stepLr at step ${s}`).toBeLessThan(1e-15);
    }
    expect(cos(0)).toBeCloseTo(0.06, 15);
    expect(cos(4)).toBeCloseTo(0.3, 15);
    expect(cos(40)).toBe(0.01);
    expect(constantLr(0.5)(123)).toBe(0.5);
    expect(() => cosineLr({ lr: 1, total: 5, warmup: 5 })).toThrow(/cosineLr: total must be an integer above warmup \(5\), got 5/);
    expect(() => stepLr({ lr: 1, every: 0 })).toThrow(/stepLr: every must be a positive integer, got 0/);
    expect(() => constantLr(-1)).toThrow(/constantLr: lr must be a finite number >= 0/);
  });
});
