// ParameterSet.nonFiniteCheck (engine/optim.ts, shaders/nonfinite_check.wgsl): the first NaN/Inf element of the
// parameter, EMA and Adamax v/u arenas in one fused reduction, against the float64 reference
// (test/reference/optim.ts refFirstNonFinite), on >= 3 random parameter layouts (sizes not multiples of
// 4/64/256), whole-arena and chunked dispatches; large finite values and subnormals are not flagged; arenas
// that do not exist yet are not reported; an element in an alignment gap is located after its parameter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../engine/index.js';
import { ParameterSet, STATE_ARENAS, type ParamSpec, type ParameterCheckpoint } from '../../engine/index.js';
import { mulberry32, type Rng } from '../reference/gradcheck.js';
import { refFirstNonFinite } from '../reference/optim.js';
import { disposeTestEngine, testEngine } from '../helpers/gpu.js';

let engine: Engine;
beforeAll(async () => {
  engine = await testEngine();
});
afterAll(disposeTestEngine);

function randomSpecs(rng: Rng, count: number): ParamSpec[] {
  return Array.from({ length: count }, (_, i) => {
    const dims = 1 + Math.floor(rng() * 3);
    const shape = Array.from({ length: dims }, () => 1 + Math.floor(rng() * 23));
    return { name: `layer${i}.${['V', 'g', 'b'][i % 3]}`, shape, init: { normal: 0.1 } };
  });
}

function finiteValues(rng: Rng, n: number): Float32Array {
  // Ordinary values plus the extremes that must not be flagged: the largest float32, subnormals, zeros.
  return Float32Array.from({ length: n }, () => {
    const r = rng();
    if (r < 0.02) return 3.4028234663852886e38 * (rng() < 0.5 ? -1 : 1);
    if (r < 0.04) return 1e-45;
    if (r < 0.06) return -0;
    return Math.fround((rng() - 0.5) * 4);
  });
}

const LAYOUTS = [
  { seed: 1, params: 5 },
  { seed: 2, params: 11 },
  { seed: 3, params: 23 },
];

describe('nonFiniteCheck', () => {
  for (const layout of LAYOUTS) {
    for (const maxChunkElements of [undefined, 64]) {
      it(`finds the first NaN/Inf of params, EMA, v and u (layout ${layout.seed}, ${layout.params} parameters, chunk ${maxChunkElements ?? 'whole'})`, async () => {
        const rng = mulberry32(100 + layout.seed);
        const specs = randomSpecs(rng, layout.params);
        const set = ParameterSet.create(engine, specs, 7, maxChunkElements === undefined ? {} : { maxChunkElements });
        const where = `layout ${layout.seed} (${specs.map((s) => `[${s.shape.join('x')}]`).join(' ')}), chunk ${maxChunkElements ?? 'whole'}`;
        try {
          // Only parameters exist yet: finite, and the missing arenas are not reported.
          expect(await set.nonFiniteCheck(), `fresh parameters, ${where}`).toEqual({ finite: true, hits: [] });
          const n = set.count;
          for (let trial = 0; trial < 6; trial++) {
            const arrays = [0, 1, 2, 3].map(() => finiteValues(rng, n));
            arrays[3] = arrays[3]!.map(Math.abs); // u >= 0 as Adamax keeps it
            // Trial 0 all finite; then 1-3 bad values per arena, anywhere, in some arenas.
            if (trial > 0) {
              for (const a of arrays) {
                if (rng() < 0.35) continue;
                const bad = 1 + Math.floor(rng() * 3);
                for (let b = 0; b < bad; b++) a[Math.floor(rng() * n)] = [NaN, Infinity, -Infinity][Math.floor(rng() * 3)]!;
              }
            }
            const ck: ParameterCheckpoint = { names: set.names, shapes: set.shapes, params: arrays[0]!, ema: arrays[1]!, v: arrays[2]!, u: arrays[3]! };
            set.load(ck);
            const want = refFirstNonFinite(arrays);
            const got = await set.nonFiniteCheck();
            const gotIndex = STATE_ARENAS.map((arena) => got.hits.find((h) => h.arena === arena)?.packedIndex ?? -1);
            expect(gotIndex, `first non-finite index per arena (params, ema, v, u), trial ${trial}, ${where}`).toEqual(want);
            expect(got.finite, `finite flag, trial ${trial}, ${where}`).toBe(want.every((i) => i < 0));
            for (const h of got.hits) {
              // The named parameter and element are the packed index's.
              let k = h.packedIndex;
              const i = specs.findIndex((s) => {
                const size = s.shape.reduce((a, b) => a * b, 1);
                if (k < size) return true;
                k -= size;
                return false;
              });
              expect([h.parameter, h.element], `location of the ${h.arena} hit, ${where}`).toEqual([specs[i]!.name, k]);
            }
          }
        } finally {
          set.dispose();
        }
      });
    }
  }

  it('reports only the arenas that exist, and locates a bad value in an alignment gap', async () => {
    const specs: ParamSpec[] = [
      { name: 'a.V', shape: [5, 3], init: { normal: 1 } },
      { name: 'a.g', shape: [7], init: 'ones' },
    ];
    const set = ParameterSet.create(engine, specs, 3, { maxChunkElements: 64 });
    try {
      set.initEma();
      const p = Float32Array.from(await set.paramArena.read());
      p[17] = NaN; // arena layout: a.V at 0..14, gap 15..63, a.g at 64..70
      engine.write(set.paramArena, p);
      const r = await set.nonFiniteCheck();
      expect(r.finite).toBe(false);
      expect(r.hits, 'a NaN in the gap after a.V; EMA copied before it, no Adamax state yet').toEqual([{ arena: 'params', parameter: '', element: 2, packedIndex: -1, after: 'a.V' }]);
      // Swapping the EMA in is refused rather than reporting the arenas under each other's names.
      set.swapToEma();
      await expect(set.nonFiniteCheck()).rejects.toThrow(/swapped in/);
      set.swapBack();
    } finally {
      set.dispose();
    }
  });
});
