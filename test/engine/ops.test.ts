// Every core op against the float64 CPU reference (test/reference): forward (relative error <= 1e-5),
// backward vs the reference vjp (<= 1e-4), and the directional check <t, J^T c> vs <J t, c> with J t from
// finite differences of the float64 forward (<= 1e-4); >= 3 random shapes per op, including sizes that are
// not multiples of the workgroup sizes; all GPU outputs are poisoned with NaN before the kernels run. Every
// matmul kernel variant forced in turn (several tiles), checked to have run; max backward with ties.
import { afterAll, describe, expect, it } from 'vitest';
import { ops, type Engine, type Tensor } from '../../engine/index.js';
import { REF_OPS, type RefOp } from '../reference/ops.js';
import { type RefTensor, broadcastTo as refBroadcastTo, ref } from '../reference/tensor.js';
import { MATMUL_VARIANTS } from '../../engine/index.js';
import { compare, mulberry32, randomData, randomInt, randomPositive, randomShape, type Rng } from '../reference/gradcheck.js';
import { disposeTestEngine, f16, roundF16, roundF32, testEngine, toGpu } from '../helpers/gpu.js';
import { checkOpCase, type OpCase } from '../helpers/opcheck.js';


type Case = OpCase;

type CaseGen = (rng: Rng) => Case;

function input(rng: Rng, op: string, i: number, shape: number[]): RefTensor {
  const domain = REF_OPS[op]!.domain[i] ?? REF_OPS[op]!.domain[0] ?? 'real';
  return roundF32(domain === 'positive' ? randomPositive(rng, shape) : randomData(rng, shape, -2, 2));
}

/** A shape broadcastable to `out`: some dims set to 1, maybe fewer leading dims. */
function broadcastable(rng: Rng, out: number[]): number[] {
  const drop = randomInt(rng, 0, Math.max(0, out.length - 1));
  return out.slice(drop).map((d) => (rng() < 0.35 ? 1 : d));
}

const UNARY = ['neg', 'exp', 'log', 'sqrt', 'square', 'sigmoid', 'tanh', 'elu', 'softplus', 'abs', 'relu', 'gelu', 'geluTanh', 'silu'] as const;
const SCALAR = ['addScalar', 'subScalar', 'rsubScalar', 'mulScalar', 'divScalar', 'rdivScalar', 'maximumScalar', 'powScalar', 'leakyRelu'] as const;
const BINARY = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'] as const;
const REDUCE = ['sum', 'mean', 'max', 'logsumexp'] as const;

const GENERATORS: Record<string, CaseGen> = {};

for (const op of UNARY) {
  GENERATORS[op] = (rng) => {
    const shape = randomShape(rng, randomInt(rng, 1, 4), 40);
    const scale = op === 'exp' || op === 'sigmoid' || op === 'tanh' || op === 'softplus' || op === 'elu' || op === 'gelu' || op === 'geluTanh' || op === 'silu' ? 3 : 1;
    const x = input(rng, op, 0, shape);
    if (scale !== 1) x.data.forEach((v, i) => (x.data[i] = Math.fround(v * scale)));
    return { inputs: [x], attrs: {}, run: ([a]) => (ops[op] as (t: Tensor) => Tensor)(a!) };
  };
}
for (const op of SCALAR) {
  GENERATORS[op] = (rng) => {
    const shape = randomShape(rng, randomInt(rng, 1, 4), 40);
    const s = op === 'powScalar' ? [1.7, 3, 0.5][randomInt(rng, 0, 2)]! : Math.fround((rng() < 0.5 ? -1 : 1) * (0.3 + 2 * rng()));
    return { inputs: [input(rng, op, 0, shape)], attrs: { s }, run: ([a]) => (ops[op] as (t: Tensor, s: number) => Tensor)(a!, s) };
  };
}
for (const op of BINARY) {
  GENERATORS[op] = (rng) => {
    const out = randomShape(rng, randomInt(rng, 1, 4), 24);
    const r = rng();
    const sa = r < 0.3 ? [...out] : broadcastable(rng, out);
    const sb = r < 0.6 ? [...out] : broadcastable(rng, out);
    return { inputs: [input(rng, op, 0, sa), input(rng, op, 1, sb)], attrs: {}, run: ([a, b]) => (ops[op] as (x: Tensor, y: Tensor) => Tensor)(a!, b!) };
  };
}
for (const op of REDUCE) {
  GENERATORS[op] = (rng) => {
    const rank = randomInt(rng, 1, 4);
    // Sometimes one long axis (exercises the workgroup tree), sometimes many short reductions.
    const shape = rng() < 0.3 ? [randomInt(rng, 300, 3000)] : randomShape(rng, rank, 30);
    const axes = shape.map((_, i) => i).filter(() => rng() < 0.5);
    if (axes.length === 0) axes.push(randomInt(rng, 0, shape.length - 1));
    const keepDims = rng() < 0.5;
    return { inputs: [input(rng, op, 0, shape)], attrs: { axes, keepDims }, run: ([a]) => (ops[op] as (t: Tensor, ax: number[], k: boolean) => Tensor)(a!, axes, keepDims) };
  };
}
GENERATORS.reshape = (rng) => {
  const shape = randomShape(rng, randomInt(rng, 1, 4), 12);
  const n = shape.reduce((a, b) => a * b, 1);
  const target = [n];
  return { inputs: [input(rng, 'reshape', 0, shape)], attrs: { shape: target }, run: ([a]) => ops.reshape(a!, target) };
};
GENERATORS.permute = (rng) => {
  const rank = randomInt(rng, 2, 5);
  const shape = randomShape(rng, rank, 10);
  const perm = shape.map((_, i) => i).sort(() => rng() - 0.5);
  return { inputs: [input(rng, 'permute', 0, shape)], attrs: { perm }, run: ([a]) => ops.permute(a!, perm) };
};
GENERATORS.transpose = (rng) => {
  const shape = randomShape(rng, randomInt(rng, 2, 4), 20);
  return { inputs: [input(rng, 'transpose', 0, shape)], attrs: {}, run: ([a]) => ops.transpose(a!) };
};
GENERATORS.slice = (rng) => {
  const shape = randomShape(rng, randomInt(rng, 1, 4), 16);
  const starts = shape.map((d) => randomInt(rng, 0, d - 1));
  const ends = shape.map((d, i) => randomInt(rng, starts[i]! + 1, d));
  return { inputs: [input(rng, 'slice', 0, shape)], attrs: { starts, ends }, run: ([a]) => ops.slice(a!, starts, ends) };
};
GENERATORS.pad = (rng) => {
  const shape = randomShape(rng, randomInt(rng, 1, 4), 12);
  const before = shape.map(() => randomInt(rng, 0, 3));
  const after = shape.map(() => randomInt(rng, 0, 3));
  const value = Math.fround(rng() - 0.5);
  return { inputs: [input(rng, 'pad', 0, shape)], attrs: { before, after, value }, run: ([a]) => ops.pad(a!, before, after, value) };
};
GENERATORS.concat = (rng) => {
  const shape = randomShape(rng, randomInt(rng, 1, 4), 12);
  const axis = randomInt(rng, 0, shape.length - 1);
  const count = randomInt(rng, 2, 4);
  const inputs = Array.from({ length: count }, () => {
    const s = [...shape];
    s[axis] = randomInt(rng, 1, 9);
    return input(rng, 'concat', 0, s);
  });
  return { inputs, attrs: { axis }, run: (xs) => ops.concat(xs, axis) };
};
function matmulCase(rng: Rng, maxM: number, maxN: number, maxK: number, variant?: string): Case {
  const M = randomInt(rng, 1, maxM);
  const N = randomInt(rng, 1, maxN);
  const K = randomInt(rng, 1, maxK);
  const transA = rng() < 0.5;
  const transB = rng() < 0.5;
  const kind = randomInt(rng, 0, 3); // 0: 2-D, 1: same batch, 2: weight-style 2-D B, 3: broadcast batch
  const batch = randomInt(rng, 2, 3);
  const aBatch = kind === 0 ? [] : kind === 3 ? [batch, 1] : [batch];
  const bBatch = kind === 0 || kind === 2 ? [] : kind === 3 ? [1, 2] : [batch];
  const aShape = [...aBatch, ...(transA ? [K, M] : [M, K])];
  const bShape = [...bBatch, ...(transB ? [N, K] : [K, N])];
  return {
    inputs: [input(rng, 'matmul', 0, aShape), input(rng, 'matmul', 1, bShape)],
    attrs: { transA, transB },
    run: ([a, b]) => ops.matmul(a!, b!, { transA, transB, ...(variant ? { variant } : {}) }),
  };
}
GENERATORS.matmul = (rng) => matmulCase(rng, 70, 70, 90);

const CASES_PER_OP = 4;
let engine: Engine;

afterAll(async () => {
  await disposeTestEngine();
});

/** `storage` rounds the inputs and the cotangent to what the kernel holds (f16 for the f16-operand variants). */
async function checkCase(op: string, refName: string | RefOp, c: Case, rng: Rng, storage?: (t: RefTensor) => RefTensor): Promise<void> {
  const refOp = typeof refName === 'string' ? REF_OPS[refName] : refName;
  if (!refOp) throw new Error(`no reference for ${String(refName)}`);
  await checkOpCase(engine, op, refOp, c, rng, storage);
}

function seedOf(op: string): number {
  return 0x5eed + op.length * 7919 + op.charCodeAt(0) * 131 + op.charCodeAt(op.length - 1);
}

describe('core ops vs float64 reference', () => {
  for (const [op, gen] of Object.entries(GENERATORS)) {
    it(`${op}: forward, backward and directional checks on ${CASES_PER_OP} random shapes`, async () => {
      engine ??= await testEngine();
      const rng = mulberry32(seedOf(op));
      for (let c = 0; c < CASES_PER_OP; c++) await checkCase(op, op, gen(rng), rng);
    });
  }
});

describe('broadcastTo vs float64 reference', () => {
  // The reference's broadcast, and as its vjp the reference's own gradient of a broadcast operand of add.
  const REF_BROADCAST: RefOp = {
    name: 'broadcastTo',
    arity: 1,
    attrs: ['shape'],
    domain: ['real'],
    fwd: ([a], attrs) => refBroadcastTo(a!, attrs!.shape!),
    vjp: ([a], g, attrs) => [REF_OPS.add!.vjp([a!, ref(attrs!.shape!)], g, {})[0]!],
  };
  it(`broadcastTo: forward, backward and directional checks on ${CASES_PER_OP} random shapes`, async () => {
    engine ??= await testEngine();
    const rng = mulberry32(seedOf('broadcastTo'));
    for (let c = 0; c < CASES_PER_OP; c++) {
      const out = randomShape(rng, randomInt(rng, 1, 4), 12);
      const shape = [...out];
      const from = broadcastable(rng, out);
      await checkCase('broadcastTo', REF_BROADCAST, { inputs: [input(rng, 'add', 0, from)], attrs: { shape }, run: ([a]) => ops.broadcastTo(a!, shape) }, rng);
    }
  });
});

describe('every matmul kernel variant (forward and both gradients forced to it) vs float64 reference', () => {
  // Subgroup and f16 variants run on the test engine's device, which has those features where the adapter offers
  // them (lavapipe does). f16-operand variants get f16-representable operands and cotangents: the reference then
  // sees what the kernel multiplies, at the f32 tolerances (see f16 variants hold... below for the rounding itself).
  const ran = new Set<string>();
  for (const v of MATMUL_VARIANTS) {
    const storage = v.precision === 'f16' ? roundF16 : undefined;
    it(`${v.name} (tile ${v.tileM}x${v.tileN}): ${CASES_PER_OP} random shapes up to 150x150, K up to 90, transposes, batches`, async () => {
      engine ??= await testEngine();
      engine.runner.onDispatch = (_k, label) => {
        if (label?.startsWith('matmul:')) ran.add(label.slice('matmul:'.length));
      };
      try {
        const rng = mulberry32(seedOf(`matmul-${v.name}`));
        for (let c = 0; c < CASES_PER_OP; c++) await checkCase(`matmul[${v.name}]`, 'matmul', matmulCase(rng, 150, 150, 90, v.name), rng, storage);
      } finally {
        engine.runner.onDispatch = null;
      }
      // Each variant compiles a pipeline per tile shape and transposition: minutes on a busy 2-core machine.
    }, 600_000);
  }
  it('ran every registered matmul variant, and only the one forced', () => {
    expect([...ran].sort(), 'variants the engine dispatched (runner.onDispatch)').toEqual(MATMUL_VARIANTS.map((v) => v.name).sort());
  });
});

describe('the f16-operand variants hold their operands in f16 (round to nearest even, overflow to infinity)', () => {
  it('matmul tiled_f16 and conv direct*_f16 multiply f16(a) f16(b), accumulating in f32', async () => {
    engine ??= await testEngine();
    const values = [0.1, 1 + 2 ** -12, -3.14159265, 1e-6, 70000, 2 ** -20];
    const a = engine.tensor(values, [values.length, 1]);
    const one = engine.tensor([1], [1, 1]);
    const y = await ops.matmul(a, one, { variant: 'tiled_f16' }).read();
    expect([...y], 'matmul tiled_f16: f16(a) * 1').toEqual(values.map((v) => Math.fround(f16(v))));
    const f32 = await ops.matmul(a, one, { variant: 'tiled' }).read();
    expect([...f32], 'matmul tiled: a * 1').toEqual(values.map((v) => Math.fround(v)));
    const x = engine.tensor(values, [1, 1, values.length, 1]);
    const w = engine.tensor([0.1], [1, 1, 1, 1]);
    for (const variant of ['direct16_f16', 'direct32_f16', 'direct64_f16']) {
      const c = await ops.conv2d(x, w, null, { variant }).read();
      expect([...c], `conv2d ${variant}: f16(x) * f16(0.1)`).toEqual(values.map((v) => Math.fround(f16(v) * f16(0.1))));
    }
  }, 600_000);
});

describe('every reduction mode and elementwise GROUP forced in turn vs float64 reference', () => {
  const ranModes = new Set<string>();
  for (const mode of ['per_thread', 'workgroup', 'subgroup']) {
    it(`reductions ${mode}: sum, mean, max, logsumexp on ${CASES_PER_OP} random shapes each`, async () => {
      engine ??= await testEngine();
      engine.runner.onDispatch = (kernel, label) => {
        const m = /^(sum|mean|max|logsumexp):(\w+)$/.exec(label ?? '');
        if (m && (kernel === 'reduce' || kernel === 'reduce_subgroup')) ranModes.add(m[2]!);
      };
      try {
        for (const op of REDUCE) {
          const rng = mulberry32(seedOf(`${op}-${mode}`));
          for (let c = 0; c < CASES_PER_OP; c++) {
            const k = GENERATORS[op]!(rng);
            await checkCase(`${op}[${mode}]`, op, { ...k, run: (xs) => engine.tuner.withForced('reduce', mode, () => k.run(xs)) }, rng);
          }
        }
      } finally {
        engine.runner.onDispatch = null;
      }
    });
  }
  it('ran every reduction mode', () => {
    expect([...ranModes].sort()).toEqual(['per_thread', 'subgroup', 'workgroup']);
  });
  for (const group of [1, 2, 4, 8]) {
    it(`elementwise GROUP ${group}: unary and same-shape binary ops`, async () => {
      engine ??= await testEngine();
      for (const op of ['exp', 'tanh', 'elu', 'mulScalar', 'add', 'mul', 'div', 'maximum']) {
        const rng = mulberry32(seedOf(`${op}-g${group}`));
        for (let c = 0; c < 2; c++) {
          const k = GENERATORS[op]!(rng);
          await checkCase(`${op}[group ${group}]`, op, { ...k, run: (xs) => engine.tuner.withForced('elementwise.group', `group${group}`, () => k.run(xs)) }, rng);
        }
      }
    });
  }
});

describe('reductions whose neighbouring axes merge (engine/ops/reduce.ts mergedAxes) vs float64', () => {
  // Adjacent reduced or kept axes act as one; extent-1 axes drop out; ranks up to 6 use the parameters' second
  // vec4; a full reduction leaves no kept axis, a reduction over extent-1 axes no reduced one.
  const cases: [number[], number[], boolean][] = [
    [[2, 1, 3, 4], [0, 2], false],
    [[2, 3, 1, 4], [1, 3], true],
    [[3, 1, 5, 1, 2], [0, 1, 2], false],
    [[4, 6, 5, 3, 2], [0, 1, 2, 3, 4], false],
    [[5, 4, 3, 2, 2, 2], [0, 2, 4], true],
    [[5, 4, 3, 2, 2, 2], [1, 2, 3], false],
    [[3, 1, 4], [1], false],
    [[1, 1, 1], [1], true],
  ];
  for (const op of REDUCE) {
    it(`${op}: ${cases.length} shapes with merging axes, forward and backward`, async () => {
      engine ??= await testEngine();
      const rng = mulberry32(seedOf(`merged-${op}`));
      for (const [shape, axes, keepDims] of cases) {
        await checkCase(op, op, { inputs: [input(rng, op, 0, shape)], attrs: { axes, keepDims }, run: ([a]) => (ops[op] as (t: Tensor, ax: number[], k: boolean) => Tensor)(a!, axes, keepDims) }, rng);
      }
    });
  }
});

describe('max backward: ties', () => {
  it('splits the gradient equally among tied maxima (the rule of the reference and of maximum)', async () => {
    engine ??= await testEngine();
    // Rows with 1, 2, 4, 3 and 2 tied maxima; columns with 2, 1, 2, 2 and 2.
    const x = ref([5, 5], Float64Array.from([1, 3, 0, 2, -1, 3, 3, 0, 1, 2, 4, 4, 4, 0, 4, 4, 3, 4, 2, 4, -2, -5, -2, -3, -4]));
    const g = ref([5], Float64Array.from([1, 2, 3, 4, 5]));
    const refOp = REF_OPS.max!;
    for (const axes of [[1], [0]]) {
      const gy = axes[0] === 1 ? g : ref([5], Float64Array.from([0.5, -1, 2, 1.5, 3]));
      const expected = refOp.vjp([x], gy, { axes, keepDims: false })[0]!;
      const got = await engine.asyncScope(async () => {
        const t = toGpu(engine, x, true);
        engine.backward(ops.max(t, axes), toGpu(engine, gy));
        return t.grad!.read();
      });
      const c = compare(`max backward over axes ${JSON.stringify(axes)} with ties`, [5, 5], got, expected.data, 1e-7);
      expect(c.err, c.message).toBeLessThanOrEqual(1e-7);
      // The sum of each group's gradient is the output gradient (the derivative of max(x + t) in t is 1).
      const sums = new Float64Array(5);
      for (let i = 0; i < 25; i++) sums[axes[0] === 1 ? Math.floor(i / 5) : i % 5]! += got[i]!;
      const worst = Math.max(...[...sums].map((v, i) => Math.abs(v - gy.data[i]!)));
      expect(worst, `max backward: per-output sums of the input gradient ${[...sums]} vs ${[...gy.data]}`).toBeLessThan(1e-6);
    }
  });
});
