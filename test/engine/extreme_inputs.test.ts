// Why: the random op tests draw inputs in +-6 and measure the worst error against the largest reference value,
// so the stable helpers of shaders/math_lib.wgsl (log1p_, expm1_, sigmoid_, softplus_, tanh_) are never seen
// where they matter. Here the unary ops and their gradients run on inputs from 1e-30 to 80 (and huge scales
// for log, sqrt, square) against float64, element by element: |gpu - ref| / max(|ref|, FLOOR).
// Tolerances: WGSL allows exp() 3 + 2|x| ULP (2.1e-5 relative at |x| = 88), so every op built on exp gets
// that; log (through log1p_ near 1), sqrt and square get 1e-6, a few float32 roundings. FLOOR sits above float32's subnormal range, which WGSL may flush to zero.
import { afterAll, describe, expect, it } from 'vitest';
import { ops, type Engine, type Tensor } from '../../engine/index.js';
import { REF_OPS } from '../reference/ops.js';
import { ref } from '../reference/tensor.js';
import { compareElementwise } from '../reference/gradcheck.js';
import { disposeTestEngine, roundF32, testEngine, toGpu } from '../helpers/gpu.js';

const FLOOR = 1e-36;
/** WGSL's exp() bound at |x| = 88: (3 + 2 * 88) ULP of 2^-23 = 2.1e-5 (measured on lavapipe: 2.7e-6 at x = -60). */
const EXP_TOL = 2.2e-5;
let engine: Engine;
afterAll(() => disposeTestEngine());

/** +-{1e-30, 1e-20, 1e-10, 1e-6, 1e-3, 0.1, 0.49, 0.5, 0.51, 1, 2, 5, 10, 15, 20, 30, 40, 50, 60, 70, 80} and 0. */
const MAGNITUDES = [1e-30, 1e-20, 1e-10, 1e-6, 1e-3, 0.1, 0.49, 0.5, 0.51, 1, 2, 5, 10, 15, 20, 30, 40, 50, 60, 70, 80];
const SIGNED = [0, ...MAGNITUDES, ...MAGNITUDES.map((m) => -m)];
/** Positive inputs over float32's normal range for log and sqrt. */
const POSITIVE = [1e-37, 1e-30, 1e-20, 1e-10, 1e-5, 0.01, 0.5, 0.999, 1, 1.001, 2, 100, 1e5, 1e10, 1e20, 1e30, 3e38];

interface ExtremeCase {
  op: keyof typeof ops & string;
  inputs: number[];
  /** per-element relative tolerance of the forward and of the gradient */
  fwdTol: number;
  bwdTol: number;
}

const CASES: ExtremeCase[] = [
  { op: 'exp', inputs: [...SIGNED.filter((v) => Math.abs(v) <= 80), 88, -85], fwdTol: EXP_TOL, bwdTol: EXP_TOL },
  { op: 'log', inputs: POSITIVE, fwdTol: 1e-6, bwdTol: 1e-6 },
  { op: 'sqrt', inputs: POSITIVE, fwdTol: 1e-6, bwdTol: 1e-6 },
  { op: 'square', inputs: [...SIGNED, 1e18, -1e18], fwdTol: 1e-6, bwdTol: 1e-6 },
  { op: 'sigmoid', inputs: SIGNED, fwdTol: EXP_TOL, bwdTol: EXP_TOL },
  { op: 'tanh', inputs: SIGNED, fwdTol: EXP_TOL, bwdTol: EXP_TOL },
  { op: 'elu', inputs: SIGNED, fwdTol: EXP_TOL, bwdTol: EXP_TOL },
  { op: 'softplus', inputs: [...SIGNED, 1e30, -1e30], fwdTol: EXP_TOL, bwdTol: EXP_TOL },
];

async function run(op: string, xs: number[]): Promise<{ y: Float32Array; dx: Float32Array; x: Float64Array }> {
  const x = roundF32(ref([xs.length], Float64Array.from(xs)));
  return engine.asyncScope(async () => {
    const t = toGpu(engine, x, true);
    const y = (ops[op as keyof typeof ops] as (a: Tensor) => Tensor)(t);
    engine.backward(y, engine.ones(y.shape));
    return { y: await y.read(), dx: await t.grad!.read(), x: x.data };
  });
}

describe('stable unary helpers at extreme inputs, per element against float64', () => {
  for (const c of CASES) {
    it(`${c.op}: ${c.inputs.length} inputs from ${Math.min(...c.inputs.map(Math.abs).filter((v) => v > 0))} to ${Math.max(...c.inputs.map(Math.abs))} in magnitude`, async () => {
      engine ??= await testEngine();
      const refOp = REF_OPS[c.op]!;
      const { y, dx, x } = await run(c.op, c.inputs);
      const xr = ref([x.length], x);
      const yRef = refOp.fwd([xr], {});
      const dxRef = refOp.vjp([xr], ref([x.length], () => 1), {})[0]!;
      const f = compareElementwise(`${c.op} forward`, [x.length], y, yRef.data, FLOOR, x);
      const b = compareElementwise(`${c.op} gradient`, [x.length], dx, dxRef.data, FLOOR, x);
      console.log(`${f.message}\n${b.message}`);
      expect(f.err, f.message).toBeLessThanOrEqual(c.fwdTol);
      expect(b.err, b.message).toBeLessThanOrEqual(c.bwdTol);
    });
  }
});
