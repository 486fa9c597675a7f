// IAF step (engine/ops/iaf.ts) against float64 references (test/reference/iaf.ts): elementwise forward,
// backward, directional on random shapes; the AR channel mask's structure; and the autoregressive Jacobian:
// with m, s from a masked AR network of z (arChannelMask: hidden layer diagonal allowed, output layer
// diagonal zeroed) dz'/dz is lower triangular with diagonal exp(-0.1 s), checked with float64 finite
// differences and with the GPU's autodiff, and the GPU's sum(logDet) = -log|det dz'/dz| = log|det dz/dz'|.
import { afterAll, describe, expect, it } from 'vitest';
import { ops, type Engine, type Tensor } from '../../engine/index.js';
import { arChannelMask, iafStep } from '../../engine/ops/iaf.js';
import { logAbsDet, numericalJacobian, refArIaf, refArMask, refIafLogDet, refIafVjp, refIafZ } from '../reference/iaf.js';
import { ref, shapeStr } from '../reference/tensor.js';
import { compare, directionalCheck, mulberry32, randomData } from '../reference/gradcheck.js';
import { disposeTestEngine, roundF32, testEngine, toGpu } from '../helpers/gpu.js';

const FWD_TOL = 1e-5;
const BWD_TOL = 1e-4;
const DIR_TOL = 1e-4;
let engine: Engine;

afterAll(async () => {
  await disposeTestEngine();
});

describe('iafStep', () => {
  it('forward (z and logDet), backward, directional on random shapes', async () => {
    engine ??= await testEngine();
    const rng = mulberry32(0x1af);
    for (const shape of [[2, 3, 5, 7], [1, 13], [4, 4, 4, 32], [3, 5, 5, 4]]) {
      const label = `iafStep ${shapeStr(shape)}`;
      const z = roundF32(randomData(rng, shape, -3, 3));
      const m = roundF32(randomData(rng, shape, -3, 3));
      const s = roundF32(randomData(rng, shape, -10, 10));
      await engine.asyncScope(async () => {
        const [zg, mg, sg] = [z, m, s].map((t) => toGpu(engine, t, true)) as [Tensor, Tensor, Tensor];
        const out = iafStep(zg, mg, sg);
        const fz = compare(`${label} z'`, shape, await out.z.read(), refIafZ(z, m, s).data, FWD_TOL);
        expect(fz.err, fz.message).toBeLessThanOrEqual(FWD_TOL);
        const fl = compare(`${label} logDet`, shape, await out.logDet.read(), refIafLogDet(s).data, FWD_TOL);
        expect(fl.err, fl.message).toBeLessThanOrEqual(FWD_TOL);
        // One backward through both outputs: L = <z', gz> + <logDet, gl>.
        const gz = roundF32(randomData(rng, shape));
        const gl = roundF32(randomData(rng, shape));
        const loss = ops.sum(ops.add(ops.mul(out.z, toGpu(engine, gz)), ops.mul(out.logDet, toGpu(engine, gl))));
        engine.backward(loss);
        const want = refIafVjp(z, m, s, gz, gl);
        const got: Float32Array[] = [];
        for (const [i, x] of [zg, mg, sg].entries()) {
          const d = await x.grad!.read();
          got.push(d);
          const b = compare(`${label} backward (${['z', 'm', 's'][i]})`, shape, d, want[i]!.data, BWD_TOL);
          expect(b.err, b.message).toBeLessThanOrEqual(BWD_TOL);
        }
        const f = (xs: typeof z[]): typeof z => {
          const zo = refIafZ(xs[0]!, xs[1]!, xs[2]!);
          return ref([2 * zo.data.length], (i) => (i < zo.data.length ? zo.data[i]! : 0.1 * xs[2]!.data[i - zo.data.length]!));
        };
        const cot = ref([2 * z.data.length], (i) => (i < z.data.length ? gz.data[i]! : gl.data[i - z.data.length]!));
        const dir = directionalCheck(f, [z, m, s], [z, m, s].map((t) => randomData(rng, t.shape)), cot, got);
        expect(dir.relErr, `${label}: directional ${dir.lhs} vs ${dir.rhs}`).toBeLessThanOrEqual(DIR_TOL);
        for (const x of [zg, mg, sg]) x.grad!.dispose();
      });
    }
  });

  it('arChannelMask: matches the reference slicing rule and is (strictly) triangular', () => {
    for (const [nIn, nOut] of [[4, 4], [4, 8], [8, 4], [32, 160], [160, 32], [3, 6], [6, 3], [1, 5], [5, 1]] as const) {
      for (const zd of [false, true]) {
        const M = arChannelMask(nIn, nOut, zd);
        const R = refArMask(nIn, nOut, zd);
        const label = `arChannelMask(${nIn}, ${nOut}, zeroDiagonal=${zd})`;
        expect(M.length, `${label}: size`).toBe(nIn * nOut);
        let bad = -1;
        for (let i = 0; i < M.length; i++) if (M[i] !== R[i]) { bad = i; break; }
        expect(bad, `${label}: first mismatch at flat index ${bad}`).toBe(-1);
        // Degree rule: output j has degree d_j = floor(j * nIn / nOut) (nOut >= nIn) and sees input i iff i <= d_j (i < d_j with zero diagonal).
        if (nIn === nOut) {
          for (let i = 0; i < nIn; i++) for (let j = 0; j < nOut; j++) {
            expect(M[i * nOut + j], `${label}: entry (${i}, ${j})`).toBe((zd ? i < j : i <= j) ? 1 : 0);
          }
        }
      }
    }
    // Composition hidden(diag allowed) -> output(diag zeroed): output c depends only on inputs < c.
    const Z = 4;
    const H = 12;
    const A = arChannelMask(Z, H, false);
    const Bm = arChannelMask(H, Z, true);
    for (let i = 0; i < Z; i++) for (let c = 0; c < Z; c++) {
      let path = 0;
      for (let h = 0; h < H; h++) path += A[i * H + h]! * Bm[h * Z + c]!;
      expect(path > 0, `arChannelMask composition: input ${i} -> output ${c}`).toBe(i < c);
    }
    expect(() => arChannelMask(5, 7, false)).toThrow(/multiple/);
    expect(() => arChannelMask(7, 5, true)).toThrow(/multiple/);
  });

  it('autoregressive Jacobian: triangular, diagonal exp(-0.1 s), sum(logDet) = -log|det dz\'/dz|', async () => {
    engine ??= await testEngine();
    const rng = mulberry32(0x1a6);
    for (const [Z, H] of [[6, 12], [4, 4], [5, 15]] as const) {
      const label = `iafStep Jacobian Z=${Z} H=${H}`;
      const M1 = arChannelMask(Z, H, false);
      const M2 = arChannelMask(H, Z, true);
      const W1 = Float32Array.from({ length: Z * H }, (_, i) => M1[i]! * Math.fround(2 * rng() - 1));
      const Wm = Float32Array.from({ length: H * Z }, (_, i) => M2[i]! * Math.fround(4 * rng() - 2));
      const Ws = Float32Array.from({ length: H * Z }, (_, i) => M2[i]! * Math.fround(8 * rng() - 4));
      const z0 = Float32Array.from({ length: Z }, () => Math.fround(2 * rng() - 1));
      const F = (x: Float64Array): Float64Array => refArIaf(x, W1, Wm, Ws, Z, H).zOut;
      const J = numericalJacobian(F, z0);
      const { s } = refArIaf(z0, W1, Wm, Ws, Z, H);
      for (let j = 0; j < Z; j++) {
        for (let l = j + 1; l < Z; l++) expect(J[j * Z + l], `${label}: dz'_${j}/dz_${l} must be 0 (above the diagonal)`).toBe(0);
        const diag = Math.exp(-0.1 * s[j]!);
        expect(Math.abs(J[j * Z + j]! - diag) / diag, `${label}: diagonal ${j}: ${J[j * Z + j]} vs exp(-0.1 s) = ${diag}`).toBeLessThan(1e-6);
      }
      // Some strictly-lower entries must be non-zero (the map is really autoregressive, not diagonal).
      let lower = 0;
      for (let j = 0; j < Z; j++) for (let l = 0; l < j; l++) lower = Math.max(lower, Math.abs(J[j * Z + l]!));
      expect(lower, `${label}: strictly lower part must be non-zero`).toBeGreaterThan(1e-3);
      const logDetJ = logAbsDet(J, Z);

      await engine.asyncScope(async () => {
        const z = engine.tensor(z0, [1, Z]);
        z.requiresGrad = true;
        const h = ops.elu(ops.matmul(z, engine.tensor(W1, [Z, H])));
        const m = ops.matmul(h, engine.tensor(Wm, [H, Z]));
        const sg = ops.matmul(h, engine.tensor(Ws, [H, Z]));
        const out = iafStep(z, m, sg);
        const gpuLogDet = (await ops.sum(out.logDet).read())[0]!;
        expect(Math.abs(gpuLogDet - -logDetJ), `${label}: GPU sum(logDet) ${gpuLogDet} vs -log|det J| ${-logDetJ}`).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(logDetJ)));
        const zOut = await out.z.read();
        const fz = compare(`${label} z'`, [Z], zOut, F(Float64Array.from(z0)), FWD_TOL);
        expect(fz.err, fz.message).toBeLessThanOrEqual(FWD_TOL);
        out.z.keep();
        // GPU Jacobian rows by autodiff through matmul/elu/iafStep: row j = d z'_j / d z.
        for (let j = 0; j < Z; j++) {
          await engine.asyncScope(async () => {
            const zo = iafStep(z, ops.matmul(ops.elu(ops.matmul(z, engine.tensor(W1, [Z, H]))), engine.tensor(Wm, [H, Z])),
              ops.matmul(ops.elu(ops.matmul(z, engine.tensor(W1, [Z, H]))), engine.tensor(Ws, [H, Z]))).z;
            const onehot = new Float32Array(Z);
            onehot[j] = 1;
            engine.backward(zo, engine.tensor(onehot, [1, Z]));
            const row = await z.grad!.read();
            z.grad!.dispose();
            z.grad = null;
            const r = compare(`${label} GPU Jacobian row ${j}`, [Z], row, J.slice(j * Z, (j + 1) * Z), BWD_TOL);
            expect(r.err, r.message).toBeLessThanOrEqual(BWD_TOL);
            for (let l = j + 1; l < Z; l++) expect(row[l], `${label}: GPU dz'_${j}/dz_${l} must be exactly 0`).toBe(0);
          });
        }
        engine.tape.clear();
      });
    }
  });
});
