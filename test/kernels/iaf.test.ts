// IAF step (engine/ops/iaf.ts) against float64 references (test/reference/iaf.ts): elementwise forward,
// backward, directional on random shapes; the AR channel mask's structure; and the autoregressive Jacobian:
// with m, s from a masked AR network of z (arChannelMask: hidden layer diagonal allowed, output layer
// diagonal zeroed) dz'/dz is lower triangular with diagonal exp(-0.1 s), checked with float64 finite
// differences and with the GPU's autodiff, and the GPU's sum(logDet) = -log|det dz'/dz| = log|det dz/dz'|.
// The fused posterior sample and KL term of a layer (iafPosterior, iafKl) against the unfused float64 ops
// they replace (slices, adds, Gaussian sample and log-density), values, vjps and directional derivatives.
import { afterAll, describe, expect, it } from 'vitest';
import { ops, type Engine, type Tensor } from '../../engine/index.js';
import * as gen from '../../engine/generative/index.js';
import { arChannelMask, iafStep } from '../../engine/generative/index.js';
import { logAbsDet, numericalJacobian, refArIaf, refArMask, refIafKl, refIafKlVjp, refIafLogDet, refIafPosterior, refIafPosteriorVjp, refIafVjp, refIafZ, type RefIafPosteriorLayout } from '../reference/iaf.js';
import { ref, shapeStr } from '../reference/tensor.js';
import { compare, compareElementwise, directionalCheck, mulberry32, randomData } from '../reference/gradcheck.js';
import { disposeTestEngine, roundF32, testEngine, toGpu } from '../helpers/gpu.js';
import { FWD_TOL, BWD_TOL, DIR_TOL } from '../helpers/opcheck.js';

let engine: Engine;
const seedOfName = (s: string): number => [...s].reduce((h, ch) => (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0, 7);

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

describe('iafPosterior and iafKl (fused) vs the unfused float64 ops they replace', () => {
  // The model's layout (up_a: [qMean | qLogSd | context | -], down_a: [pMean | pLogSd | rMean | rLogSd |
  // context | hDet]) and a permuted one, so the window offsets are really read from the layout.
  const modelLayout = (Z: number, H: number, fromPrior: boolean): RefIafPosteriorLayout & { cu: number; cd: number } => ({
    latent: Z, context: H, cu: 2 * Z + 2 * H, cd: 4 * Z + 2 * H, fromPrior,
    up: { mean: 0, logStd: Z, context: 2 * Z },
    down: { mean: 2 * Z, logStd: 3 * Z, context: 4 * Z, priorMean: 0, priorLogStd: Z },
  });
  const permuted = (Z: number, H: number, fromPrior: boolean): RefIafPosteriorLayout & { cu: number; cd: number } => ({
    latent: Z, context: H, cu: 2 * Z + H + 3, cd: 4 * Z + H + 1, fromPrior,
    up: { mean: H + 3 + Z, logStd: H + 1, context: 0 },
    down: { mean: 1, logStd: 1 + 3 * Z + H, context: 1 + Z, priorMean: 1 + Z + H, priorLogStd: 1 + 2 * Z + H },
  });
  const cases: [string, number[], RefIafPosteriorLayout & { cu: number; cd: number }][] = [
    ['model layout', [2, 3, 5], modelLayout(4, 8, false)],
    ['model layout, z0 from the prior (init pass)', [1, 4, 4], modelLayout(3, 6, true)],
    ['permuted windows', [2, 2, 3], permuted(5, 7, false)],
    ['permuted windows, from the prior', [3, 1, 2], permuted(2, 5, true)],
  ];
  for (const [name, lead, l] of cases) {
    it(`iafPosterior, ${name}: z0, logq0, context and the gradients of both conv outputs (${shapeStr([...lead, l.latent])}, Z=${l.latent} H=${l.context})`, async () => {
      engine ??= await testEngine();
      const rng = mulberry32(seedOfName(name));
      const label = `iafPosterior ${name} ${shapeStr([...lead, l.latent])}`;
      const up = roundF32(randomData(rng, [...lead, l.cu], -1.5, 1.5));
      const down = roundF32(randomData(rng, [...lead, l.cd], -1.5, 1.5));
      const eps = roundF32(randomData(rng, [...lead, l.latent], -2, 2));
      const want = refIafPosterior(up, down, eps, l);
      const gz = roundF32(randomData(rng, want.z0.shape));
      const gl = roundF32(randomData(rng, want.logq0.shape));
      const gc = roundF32(randomData(rng, want.context.shape));
      await engine.asyncScope(async () => {
        const [upG, downG] = [toGpu(engine, up, true), toGpu(engine, down, true)];
        const out = gen.iafPosterior(upG, downG, toGpu(engine, eps), l);
        // z0, logq0 and context are sums of O(1) float32 terms, so near 0 their error is absolute: the floor of
        // the per-element relative error is that scale (0.1), not the value.
        for (const [what, t, r] of [['z0', out.z0, want.z0], ['logq0', out.logq0, want.logq0], ['context', out.context, want.context]] as const) {
          const c = compareElementwise(`${label} ${what}`, r.shape, await t.read(), r.data, 0.1);
          expect(c.err, c.message).toBeLessThanOrEqual(FWD_TOL);
        }
        const loss = ops.sum(ops.add(ops.add(ops.sum(ops.mul(out.z0, toGpu(engine, gz))), ops.sum(ops.mul(out.logq0, toGpu(engine, gl)))), ops.sum(ops.mul(out.context, toGpu(engine, gc)))));
        engine.backward(loss);
        const [dUp, dDown] = refIafPosteriorVjp(up, down, eps, l, gz, gl, gc);
        const got = [await upG.grad!.read(), await downG.grad!.read()];
        for (const [i, r] of [dUp, dDown].entries()) {
          const c = compareElementwise(`${label} backward (${['up', 'down'][i]})`, r.shape, got[i]!, r.data, 1e-4);
          expect(c.err, c.message).toBeLessThanOrEqual(BWD_TOL);
        }
        // Independently of the vjp reference: <J t, cotangent> by finite differences of the float64 forward.
        const f = (xs: typeof up[]): typeof up => {
          const o = refIafPosterior(xs[0]!, xs[1]!, eps, l);
          return ref([o.z0.data.length * 2 + o.context.data.length], (i) => (i < o.z0.data.length ? o.z0.data[i]! : i < 2 * o.z0.data.length ? o.logq0.data[i - o.z0.data.length]! : o.context.data[i - 2 * o.z0.data.length]!));
        };
        const cot = [...gz.data, ...gl.data, ...gc.data];
        const dir = directionalCheck(f, [up, down], [randomData(rng, up.shape), randomData(rng, down.shape)], cot, got);
        expect(dir.relErr, `${label}: directional ${dir.lhs} vs ${dir.rhs}`).toBeLessThanOrEqual(DIR_TOL);
      });
    });
  }

  it('iafKl: kl and its gradients (logq0, logDet, z, both prior windows) in the model and a permuted layout; adds into pending gradients', async () => {
    engine ??= await testEngine();
    const rng = mulberry32(0x1a7);
    for (const [lead, Z, cp, l] of [[[2, 3, 5], 4, 4 * 4 + 16, { mean: 0, logStd: 4 }], [[1, 2, 2], 3, 11, { mean: 7, logStd: 2 }]] as const) {
      const label = `iafKl ${shapeStr([...lead, Z])} prior ${cp} channels, windows at ${l.mean} and ${l.logStd}`;
      const shape = [...lead, Z];
      const logq0 = roundF32(randomData(rng, shape, -3, 0));
      const logDet = roundF32(randomData(rng, shape, -0.5, 0.5));
      const z = roundF32(randomData(rng, shape, -2, 2));
      const prior = roundF32(randomData(rng, [...lead, cp], -1.5, 1.5));
      const g = roundF32(randomData(rng, shape));
      const gz2 = roundF32(randomData(rng, shape));
      const gp2 = roundF32(randomData(rng, prior.shape));
      for (const reuse of [false, true]) {
        await engine.asyncScope(async () => {
          const ins = [logq0, logDet, z, prior].map((t) => toGpu(engine, t, true)) as [Tensor, Tensor, Tensor, Tensor];
          // With reuse, z and prior also feed a later op, so the tape offers their pending gradients to add into.
          const zi = ops.mulScalar(ins[2], 1);
          const pi = ops.mulScalar(ins[3], 1);
          const kl = gen.iafKl(ins[0], ins[1], zi, pi, l);
          const want = refIafKl(logq0, logDet, z, prior, l);
          const c = compareElementwise(`${label} forward`, shape, await kl.read(), want.data, 1e-6);
          expect(c.err, c.message).toBeLessThanOrEqual(FWD_TOL);
          let loss = ops.sum(ops.mul(kl, toGpu(engine, g)));
          if (reuse) loss = ops.add(loss, ops.add(ops.sum(ops.mul(zi, toGpu(engine, gz2))), ops.sum(ops.mul(pi, toGpu(engine, gp2)))));
          engine.backward(loss);
          const r = refIafKlVjp(logq0, logDet, z, prior, l, g);
          const extra = (t: typeof g, i: number): number => (reuse ? t.data[i]! : 0);
          const wantGrads = [r[0]!, r[1]!, ref(shape, (i) => r[2]!.data[i]! + extra(gz2, i)), ref(prior.shape, (i) => r[3]!.data[i]! + extra(gp2, i))];
          for (const [i, w] of wantGrads.entries()) {
            const cmp = compareElementwise(`${label}${reuse ? ', z and prior reused' : ''}: backward (${['logq0', 'logDet', 'z', 'prior'][i]})`, w.shape, await ins[i]!.grad!.read(), w.data, 1e-4);
            expect(cmp.err, cmp.message).toBeLessThanOrEqual(BWD_TOL);
          }
        });
      }
    }
  });

  it('rejects windows outside the channels or overlapping, and mismatched shapes', async () => {
    engine ??= await testEngine();
    await engine.asyncScope(async () => {
      const up = engine.zeros([1, 2, 2, 10]);
      const down = engine.zeros([1, 2, 2, 14]);
      const eps = engine.zeros([1, 2, 2, 2]);
      const l = { latent: 2, context: 3, up: { mean: 0, logStd: 2, context: 4 }, down: { mean: 4, logStd: 6, context: 8, priorMean: 0, priorLogStd: 2 } };
      expect(() => gen.iafPosterior(up, down, eps, { ...l, up: { ...l.up, context: 8 } })).toThrow(/iafPosterior: up window 'context' \[8, 11\) is outside its 10 channels/);
      expect(() => gen.iafPosterior(up, down, eps, { ...l, down: { ...l.down, context: 5 } })).toThrow(/iafPosterior: down windows .* overlap/);
      expect(() => gen.iafPosterior(up, engine.zeros([1, 2, 3, 14]), eps, l)).toThrow(/iafPosterior: down \[1, 2, 3, 14\] and \[1, 2, 2, 2\] must differ only in the channel axis/);
      expect(() => gen.iafKl(eps, eps, eps, down, { mean: 0, logStd: 13 })).toThrow(/iafKl: prior window 'logStd' \[13, 15\) is outside its 14 channels/);
    });
  });
});
