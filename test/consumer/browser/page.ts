// Runs in headless Chromium (test/consumer/run.mjs): imports the built bundle as a browser would ('agave-webgpu'
// is mapped to the packed dist/engine.js by an import map), creates an Engine from navigator.gpu and checks
// forward + backward of matmul, a strided and padded conv2d, the DMOL loss and one Adamax step against the
// float64 CPU references of test/reference/ (bundled into this page by esbuild), then an Engine on a device the
// page requested itself with default limits, then tuning on this browser's adapter (SwiftShader here: another
// WebGPU implementation than lavapipe): a small problem set raced, the winners valid on it, the cache round-trip
// through IndexedDB, and the tuned results equal to the static ones. Each check is reported to the test server.
import { ENGINE_LIMITS, Engine, ParameterSet, generative, ops, relativeError, type Tensor } from 'agave-webgpu';
import { refConv2d, refConv2dVjp, type RefConvGeom } from '../../reference/conv.js';
import { gridValue, refDmolLogLikelihood } from '../../reference/dmol.js';
import { mulberry32, numericalVjp, relErr, type Rng } from '../../reference/gradcheck.js';
import { refAdamaxStep } from '../../reference/optim.js';
import { type RefTensor, ref } from '../../reference/tensor.js';

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

const results: CheckResult[] = [];

function check(name: string, errors: Record<string, number>, tol: number, extra = ''): void {
  const worst = Math.max(...Object.values(errors));
  const detail = Object.entries(errors).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ');
  results.push({ name, ok: worst <= tol, detail: `${detail} (tolerance ${tol})${extra ? `; ${extra}` : ''}` });
}

const f32 = (t: RefTensor): RefTensor => ref(t.shape, Float32Array.from(t.data));
const randomRef = (rng: Rng, shape: number[], lo = -1, hi = 1): RefTensor => f32(ref(shape, () => lo + (hi - lo) * rng()));

function gpu(engine: Engine, t: RefTensor, requiresGrad = false): Tensor {
  const g = engine.tensor(Float32Array.from(t.data), t.shape).keep();
  g.requiresGrad = requiresGrad;
  return g;
}

/** sum(y * c) as the loss: its gradient wrt y is c, so the backward gives the vector-Jacobian products for c. */
function dotLoss(y: Tensor, c: Tensor): Tensor {
  return ops.sum(ops.mul(y, c));
}

async function matmulCheck(engine: Engine): Promise<void> {
  const rng = mulberry32(1);
  const [M, K, N] = [13, 37, 9];
  const a = randomRef(rng, [M, K]);
  const b = randomRef(rng, [K, N]);
  const c = randomRef(rng, [M, N]);
  const A = gpu(engine, a, true);
  const B = gpu(engine, b, true);
  const y = engine.scope(() => {
    const out = ops.matmul(A, B).keep();
    engine.backward(dotLoss(out, gpu(engine, c)));
    return out;
  });
  const want = new Float64Array(M * N);
  const da = new Float64Array(M * K);
  const db = new Float64Array(K * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++)
      for (let k = 0; k < K; k++) {
        want[i * N + j] += a.data[i * K + k]! * b.data[k * N + j]!;
        da[i * K + k] += c.data[i * N + j]! * b.data[k * N + j]!;
        db[k * N + j] += a.data[i * K + k]! * c.data[i * N + j]!;
      }
  check('matmul [13,37]x[37,9] forward + backward', {
    forward: relErr(await y.read(), want),
    dA: relErr(await A.grad!.read(), da),
    dB: relErr(await B.grad!.read(), db),
  }, 1e-5);
}

async function convCheck(engine: Engine): Promise<void> {
  const rng = mulberry32(2);
  const x = randomRef(rng, [2, 9, 7, 5]);
  const w = randomRef(rng, [3, 3, 5, 6], -0.5, 0.5);
  const bias = randomRef(rng, [6]);
  const taps: [number, number][] = [];
  for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 3; kw++) taps.push([kh, kw]);
  const geom: RefConvGeom = { taps, stride: 2, pad: [1, 1, 0, 2] };
  const w3 = ref([9, 5, 6], w.data);
  const want = refConv2d(x, w3, bias, geom);
  const c = randomRef(rng, want.shape);
  const [dx, dw, db] = refConv2dVjp(x, w3, bias, geom, c) as [RefTensor, RefTensor, RefTensor];
  const X = gpu(engine, x, true);
  const W = gpu(engine, w, true);
  const Bi = gpu(engine, bias, true);
  const y = engine.scope(() => {
    const out = ops.conv2d(X, W, Bi, { stride: 2, pad: [1, 1, 0, 2] }).keep();
    engine.backward(dotLoss(out, gpu(engine, c)));
    return out;
  });
  const shapeOk = y.shape.join(',') === want.shape.join(',');
  check(`conv2d 3x3 stride 2, pad [1,1,0,2], [2,9,7,5] -> [${y.shape.join(',')}] forward + backward`, {
    shape: shapeOk ? 0 : Infinity,
    forward: relErr(await y.read(), want.data),
    dx: relErr(await X.grad!.read(), dx.data),
    dw: relErr(await W.grad!.read(), dw.data),
    dbias: relErr(await Bi.grad!.read(), db.data),
  }, 1e-5);
}

async function dmolCheck(engine: Engine): Promise<void> {
  const rng = mulberry32(3);
  const [B, H, W, M] = [2, 2, 3, 3];
  const k = 10 * M;
  const params = ref([B, H, W, k]);
  for (let p = 0; p < B * H * W; p++) {
    for (let j = 0; j < k; j++) {
      // logits U(-2,2); then per channel: means U(-1.1,1.1), raw log-scales U(-4,0.5), coeffs U(-2,2)
      const field = j < M ? 0 : Math.floor((j - M) / M) % 3;
      params.data[p * k + j] = j < M ? -2 + 4 * rng() : field === 0 ? -1.1 + 2.2 * rng() : field === 1 ? -4 + 4.5 * rng() : -2 + 4 * rng();
    }
  }
  const theta = f32(params);
  const x = f32(ref([B, H, W, 3], () => gridValue(Math.floor(rng() * 256))));
  const want = refDmolLogLikelihood(theta, x, M);
  const c = ref([B], [0.7, -1.3]);
  const [dTheta] = numericalVjp((ins) => refDmolLogLikelihood(ins[0]!, x, M), [theta], c) as [RefTensor];
  const P = gpu(engine, theta, true);
  const ll = engine.scope(() => {
    const out = generative.dmolLogLikelihood(P, gpu(engine, x), M).keep();
    engine.backward(dotLoss(out, gpu(engine, c)));
    return out;
  });
  check(`DMOL log-likelihood (M=${M}, [${B},${H},${W},3]) forward + backward`, {
    forward: relErr(await ll.read(), want.data),
    dparams: relErr(await P.grad!.read(), dTheta.data),
  }, 1e-4);
}

async function adamaxCheck(engine: Engine): Promise<void> {
  const rng = mulberry32(4);
  const init = Float32Array.from({ length: 70 }, () => -1 + 2 * rng());
  const set = ParameterSet.create(engine, [{ name: 'w', shape: [7, 10], init }], 5);
  const w = set.get('w');
  const c = randomRef(rng, [7, 10]);
  set.zeroGrad();
  engine.scope(() => engine.backward(ops.sum(ops.mul(ops.square(w), gpu(engine, c)))));
  const g = Array.from(init, (p, i) => 2 * p * c.data[i]!);
  const opts = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
  set.adamaxStep(opts);
  const state = { p: Float64Array.from(init), v: new Float64Array(70), u: new Float64Array(70) };
  refAdamaxStep(state, g, opts);
  check('ParameterSet.adamaxStep (one step after backward)', {
    grad: relErr(await w.grad!.read(), g),
    params: relErr(await w.read(), state.p),
  }, 1e-5);
  set.dispose();
}

/** An Engine on the page's own device, requested with WebGPU's default limits. */
async function ownDeviceCheck(): Promise<void> {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('no adapter for the own-device check');
  const device = await adapter.requestDevice();
  const engine = await Engine.create({ device });
  const rng = mulberry32(5);
  const m = randomRef(rng, [50]);
  const s = randomRef(rng, [50], -0.5, 0.5);
  const M = gpu(engine, m, true);
  const S = gpu(engine, s, true);
  engine.scope(() => engine.backward(ops.sum(generative.gaussianKL(M, S, engine.zeros([50]), engine.zeros([50])))));
  // KL(N(m, e^2s) || N(0, 1)): d/dm = m, d/ds = e^{2s} - 1
  check(`Engine.create({ device }) with default limits (maxStorageBuffersPerShaderStage ${device.limits.maxStorageBuffersPerShaderStage}): gaussianKL backward`, {
    dmean: relErr(await M.grad!.read(), Array.from(m.data)),
    dlogstd: relErr(await S.grad!.read(), Array.from(s.data, (v) => Math.expm1(2 * v))),
  }, 1e-5, `needs ${ENGINE_LIMITS.maxStorageBuffersPerShaderStage} storage buffers per stage`);
  engine.dispose();
  device.destroy();
}

/** A conv (forward and both gradients), a split weight gradient and reductions: every tunable op once, small. */
function recordWorkload(engine: Engine): Tensor[] {
  const x = engine.uniform([2, 7, 7, 4], -1, 1, { seed: 1 });
  const w = engine.uniform([3, 3, 4, 6], -0.5, 0.5, { seed: 2 });
  const m = engine.uniform([512, 8], -1, 1, { seed: 3 });
  const k = engine.uniform([8, 5], -1, 1, { seed: 4 });
  for (const t of [x, w, m, k]) t.requiresGrad = true;
  const loss = ops.add(ops.sum(ops.tanh(ops.conv2d(x, w, null, { pad: [1, 1, 1, 1] }))), ops.mean(ops.square(ops.matmul(m, k))));
  engine.backward(loss);
  return [loss, x.grad!, w.grad!, k.grad!];
}

/** The workload's loss and gradients, read back. */
async function tunedWorkload(engine: Engine): Promise<Float32Array> {
  return engine.asyncScope(async () => {
    const parts: Float32Array[] = [];
    for (const t of recordWorkload(engine)) parts.push(await t.read());
    return Float32Array.from(parts.flatMap((p) => [...p]));
  });
}

async function tuneCheck(): Promise<void> {
  const on = await Engine.create({ tune: 'on' });
  const rep = await on.tune(() => void recordWorkload(on), { bucketMs: 60, totalMs: 1e9 });
  const ops_ = [...new Set(rep.results.map((r) => r.op))].sort();
  const invalid = rep.results.filter((r) => Object.keys(r.ms).length > 0 && !(r.winner in r.ms));
  const changed = rep.results.filter((r) => r.winner !== r.staticChoice).map((r) => `${r.op} ${r.bucket}: ${r.winner} (static ${r.staticChoice})`);
  results.push({
    name: `tuning on ${on.description}: the buckets raced, every winner a timed candidate`,
    ok: rep.tuned >= 8 && ops_.length >= 5 && invalid.length === 0 && rep.warnings.length === 0,
    detail: `${rep.tuned} buckets of ${ops_.join(', ')} in ${(rep.ms / 1000).toFixed(1)} s; winners that differ: ${changed.join('; ') || 'none'}${rep.warnings.length ? `; warnings: ${rep.warnings.join(' | ')}` : ''}`,
  });
  const tuned = await tunedWorkload(on);
  on.dispose();
  const cached = await Engine.create({ tune: 'cached' });
  const rc = await cached.tune(() => void recordWorkload(cached));
  const again = cached.tuner.results().filter((r) => r.source === 'cache');
  const same = again.every((r) => rep.results.find((t) => t.op === r.op && t.bucket === r.bucket)?.winner === r.winner);
  results.push({ name: 'tuning: the winners round-trip through the browser cache (IndexedDB)', ok: rc.tuned === 0 && again.length > 0 && same && cached.tuner.warnings.length === 0, detail: `${again.length} buckets read back, ${same ? 'all' : 'not all'} with the raced winner; cache ${cached.tuner.cacheKey.device} / ${cached.tuner.cacheKey.backend.slice(0, 60)}` });
  const fromCache = await tunedWorkload(cached);
  cached.dispose();
  const off = await Engine.create({ tune: 'off' });
  const ref = await tunedWorkload(off);
  off.dispose();
  check('tuning: tuned results (raced, then from the cache) equal the static choices', { tuned: relativeError(tuned, ref), cached: relativeError(fromCache, ref) }, 1e-5);
}

async function report(body: unknown): Promise<void> {
  await fetch('/report', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

export async function main(): Promise<void> {
  let engine: Engine | null = null;
  try {
    engine = await Engine.create({ poison: true });
    results.push({ name: 'Engine.create() from navigator.gpu', ok: true, detail: engine.description });
    for (const [name, fn] of [['matmul', matmulCheck], ['conv2d', convCheck], ['dmol', dmolCheck], ['adamax', adamaxCheck]] as const) {
      try {
        await fn(engine);
      } catch (err) {
        results.push({ name, ok: false, detail: `threw: ${String(err)}` });
      }
    }
    try {
      await ownDeviceCheck();
    } catch (err) {
      results.push({ name: 'Engine.create({ device }) with default limits', ok: false, detail: `threw: ${String(err)}` });
    }
    try {
      await tuneCheck();
    } catch (err) {
      results.push({ name: 'tuning', ok: false, detail: `threw: ${String((err as Error).stack ?? err)}` });
    }
  } catch (err) {
    results.push({ name: 'Engine.create() from navigator.gpu', ok: false, detail: `threw: ${String(err)}` });
  } finally {
    engine?.dispose();
  }
  await report({ results });
}
