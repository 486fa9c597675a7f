#!/usr/bin/env node
// The studio test: AGAVE Studio (dist/studio/, built by `npm run build`) in headless Chromium with SwiftShader's
// WebGPU, used as a person uses it, checked end to end. Run by .ci/run after the consumer tests; needs
// train.js and dist/studio/ (npm run build) and Chromium (Debian's `chromium`, or $CHROMIUM).
//   1. A Chromium without WebGPU (no --enable-unsafe-webgpu) shows the no-WebGPU message.
//   2. In a Chromium with WebGPU (test/studio/driver.ts, injected into the page, clicks and reports): data files
//      chosen in the page are validated as the CLI does (a truncated batch: its message; CIFAR-10 batches: loaded,
//      the sample's fingerprint); a corrupt .agave gets the CLI's message; a checkpoint made here by `node
//      train.js --config tiny` opens, is sampled (VAE and AGAVE samples, an interpolation) and trained 2 steps
//      further; then `quick` trains on the bundled sample, auto-saves at step 20, the page is reloaded, asks,
//      resumes from IndexedDB at step 20; at step 25 its GPU device is destroyed (as by a driver crash): the page
//      says so and resumes from the last checkpoint; it trains to step 40: the curves hold 40 points, the grid
//      and the evaluation line are drawn, AGAVE samples and a latent interpolation with the PixelCNN along it
//      are drawn, Save downloads a checkpoint.
//   3. Node opens that checkpoint with the CLI's code (test/studio/evaluate-checkpoint.ts) and evaluates it on
//      the same 96 test images: its bits/dim is the page's last evaluation's within 1e-3.
//   4. `node train.js` with the page's settings trains the same run: every step's loss terms within 0.01 bits/dim
//      of the page's (the same step, recipe, data order and noise; SwiftShader and lavapipe round differently).
// Prints a line per check and ends with `studio: N passed, N failed`; exits 1 if anything failed.
// Options: --steps N (default 40), --reload-at N (default 20), --lose-at N (default reload + 5; 0: no device
// loss), --eval-every N (default: at the end): the quick run; --screenshot FILE: a PNG of the page at the end
// (over Chromium's DevTools pipe); --only no-webgpu|studio; --timeout-min M (default 40); --site DIR (another
// copy of dist/studio); --keep.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const REPO = resolve(fileURLToPath(new URL('../../', import.meta.url)));
const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};
const STEPS = Number(opt('--steps', '40'));
const RELOAD_AT = Number(opt('--reload-at', '20'));
const EVAL_EVERY = Number(opt('--eval-every', String(STEPS)));
const LOSE_AT = Number(opt('--lose-at', String(RELOAD_AT + 5)));
const screenshot = opt('--screenshot') ? resolve(opt('--screenshot')) : null;
const only = opt('--only');
const TIMEOUT_MS = Number(opt('--timeout-min', '40')) * 60_000;
const keep = argv.includes('--keep');
const SITE = resolve(opt('--site', join(REPO, 'dist', 'studio')));
const TOLERANCE = 1e-3;

const results = [];
function record(name, ok, detail = '') {
  results.push({ name, ok });
  console.log(`${ok ? 'PASS' : 'FAIL'}  ${name}${detail ? `\n        ${String(detail).split('\n').join('\n        ')}` : ''}`);
}
const stamp = () => new Date().toISOString().slice(11, 19);
const tmp = mkdtempSync(join(tmpdir(), 'agave-studio-test-'));

function findChromium() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']) {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

// ---- what the page is served with -----------------------------------------------------------------------------

async function buildHelpers() {
  const { build } = await import(join(REPO, 'node_modules', 'esbuild', 'lib', 'main.js'));
  const { browserBundle, nodeBundle } = await import(join(REPO, 'esbuild.options.mjs'));
  await build({ ...browserBundle, entryPoints: [join(REPO, 'test', 'studio', 'driver.ts')], outfile: join(tmp, 'driver.js'), logLevel: 'error' });
  // Inside the repository, so that Node finds node_modules/webgpu by walking up (as test/helpers/cli.ts does).
  const dev = join(REPO, '.dev', 'studio-test');
  mkdirSync(dev, { recursive: true });
  const evaluator = join(dev, `evaluate-${process.pid}.mjs`);
  await build({ ...nodeBundle, entryPoints: [join(REPO, 'test', 'studio', 'evaluate-checkpoint.ts')], outfile: evaluator, logLevel: 'error' });
  return evaluator;
}

/** A checkpoint of the CLI: `node train.js --config tiny` for 10 steps on the bundled sample. */
function tinyCheckpoint() {
  const out = join(tmp, 'tiny-run');
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(REPO, 'train.js'), '--config', 'tiny', '--steps', '10', '--eval-every', '10', '--checkpoint-every', '10', '--pixelcnn-recon', '0', '--out', out],
    { cwd: REPO, encoding: 'utf8', timeout: 600_000 });
  const file = join(out, 'checkpoint.agave');
  record(`node train.js --config tiny --steps 10 writes a checkpoint (${((performance.now() - t0) / 1000).toFixed(1)} s)`, r.status === 0 && existsSync(file), r.status === 0 ? '' : `${r.stdout}${r.stderr}`.slice(-2000));
  return existsSync(file) ? file : null;
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.gz': 'application/gzip' };

function startServer(fixtures, events) {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'POST') {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        res.end('ok');
        const body = Buffer.concat(chunks);
        if (path === '/upload') return events.upload(body);
        let msg;
        try {
          msg = JSON.parse(body.toString('utf8'));
        } catch {
          msg = { fatal: `unreadable ${path}: ${body.toString('utf8').slice(0, 200)}` };
        }
        if (path === '/check') record(`page: ${msg.name}`, msg.ok, msg.detail);
        else if (path === '/log') console.log(`        [page ${msg.line}]`);
        else if (path === '/result') events.result(msg);
        else if (path === '/done') events.done(msg);
      });
      return;
    }
    if (path === '/test-driver.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(readFileSync(join(tmp, 'driver.js')));
      return;
    }
    if (path.startsWith('/fixtures/') && fixtures[path.slice('/fixtures/'.length)]) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(fixtures[path.slice('/fixtures/'.length)]);
      return;
    }
    const file = normalize(join(SITE, path === '/' ? 'index.html' : path));
    if (!file.startsWith(SITE) || !existsSync(file)) {
      res.writeHead(404);
      res.end();
      return;
    }
    let body = readFileSync(file);
    // The driver joins the page as its last script.
    if (file.endsWith('index.html')) body = Buffer.from(body.toString('utf8').replace('</body>', '<script type="module" src="/test-driver.js"></script>\n</body>'));
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(body);
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}

// ---- Chromium and its DevTools pipe (the screenshot) ---------------------------------------------------------

function launch(chromium, url, { webgpu, profile, pipe }) {
  const flags = ['--headless', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--window-size=1280,900', `--user-data-dir=${profile}`];
  if (webgpu) flags.push('--enable-unsafe-webgpu', '--enable-features=Vulkan');
  if (pipe) flags.push('--remote-debugging-pipe');
  const child = spawn(chromium, [...flags, url], { detached: true, stdio: ['ignore', 'pipe', 'pipe', ...(pipe ? ['pipe', 'pipe'] : [])] });
  const out = [];
  child.stdout.on('data', (d) => out.push(d));
  child.stderr.on('data', (d) => out.push(d));
  const exited = new Promise((r) => child.on('exit', (code) => r({ exited: code })));
  const kill = async () => {
    for (const sig of ['SIGTERM', 'SIGKILL']) {
      try {
        process.kill(-child.pid, sig);
      } catch {
        // gone
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    }
  };
  const tail = () => Buffer.concat(out).toString('utf8').split('\n').filter((l) => l && !/dbus|Fontconfig|DevTools listening/.test(l)).slice(-12).join('\n');
  return { child, exited, kill, tail, cdp: pipe ? devtools(child) : null };
}

/** Chrome DevTools Protocol over --remote-debugging-pipe (fd 3: commands in, fd 4: replies; NUL-separated JSON). */
function devtools(child) {
  let id = 0;
  let buffer = '';
  const pending = new Map();
  child.stdio[4].on('data', (d) => {
    buffer += d.toString('utf8');
    for (let i = buffer.indexOf('\0'); i >= 0; i = buffer.indexOf('\0')) {
      const msg = JSON.parse(buffer.slice(0, i));
      buffer = buffer.slice(i + 1);
      const p = msg.id !== undefined ? pending.get(msg.id) : undefined;
      if (!p) continue;
      pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`${p.method}: ${JSON.stringify(msg.error)}`));
      else p.resolve(msg.result);
    }
  });
  return (method, params = {}, sessionId) =>
    new Promise((resolvePromise, reject) => {
      const msg = { id: ++id, method, params, ...(sessionId ? { sessionId } : {}) };
      pending.set(msg.id, { resolve: resolvePromise, reject, method });
      child.stdio[3].write(`${JSON.stringify(msg)}\0`);
    });
}

async function takeScreenshot(cdp, file) {
  const { targetInfos } = await cdp('Target.getTargets');
  const page = targetInfos.find((t) => t.type === 'page');
  const { sessionId } = await cdp('Target.attachToTarget', { targetId: page.targetId, flatten: true });
  const metrics = await cdp('Page.getLayoutMetrics', {}, sessionId);
  const size = metrics.cssContentSize ?? metrics.contentSize;
  const { data } = await cdp('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true, clip: { x: 0, y: 0, width: Math.ceil(size.width), height: Math.ceil(size.height), scale: 1 } }, sessionId);
  mkdirSync(resolve(file, '..'), { recursive: true });
  writeFileSync(file, Buffer.from(data, 'base64'));
  return `${Math.ceil(size.width)}x${Math.ceil(size.height)}`;
}

// ---- the two browsers -----------------------------------------------------------------------------------------

async function session(chromium, name, query, { webgpu, timeoutMs, pipe, fixtures }) {
  let done;
  const finished = new Promise((r) => (done = r));
  const outcome = { upload: null, result: null };
  const server = await startServer(fixtures, { upload: (b) => (outcome.upload = b), result: (m) => (outcome.result = m), done: (m) => done({ done: m }) });
  const url = `http://127.0.0.1:${server.address().port}/?${query}`;
  const browser = launch(chromium, url, { webgpu, profile: join(tmp, `profile-${name}`), pipe });
  const t0 = performance.now();
  console.log(`${stamp()} ${name}: ${url}`);
  const end = await Promise.race([finished, browser.exited, new Promise((r) => setTimeout(() => r({ timeout: true }), timeoutMs))]);
  const seconds = (performance.now() - t0) / 1000;
  if (end.timeout) record(`${name}: the page finished`, false, `no report within ${timeoutMs / 60_000} min\n${browser.tail()}`);
  else if ('exited' in end) record(`${name}: the page finished`, false, `chromium exited (${end.exited}) first\n${browser.tail()}`);
  else if (end.done.fatal) record(`${name}: the page ran to the end`, false, end.done.fatal);
  if (screenshot && browser.cdp && !end.timeout && !('exited' in end)) {
    try {
      record(`screenshot of the page: ${screenshot} (${await takeScreenshot(browser.cdp, screenshot)})`, true);
    } catch (e) {
      record('screenshot of the page', false, String(e));
    }
  }
  await browser.kill();
  server.close();
  console.log(`${stamp()} ${name}: ${seconds.toFixed(0)} s`);
  return { ...outcome, seconds };
}

function compareWithNode(evaluator, upload, result) {
  if (!upload || !result?.lastEval) {
    record('Node opens the checkpoint the page saved', false, upload ? 'the page reported no last evaluation' : 'the page uploaded no checkpoint');
    return;
  }
  const file = join(tmp, 'page.agave');
  writeFileSync(file, upload);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [evaluator, file], { cwd: REPO, encoding: 'utf8', timeout: 900_000 });
  const line = (r.stdout ?? '').trim().split('\n').at(-1) ?? '';
  let node = null;
  try {
    node = JSON.parse(line);
  } catch {
    // reported below
  }
  if (r.status !== 0 || !node) {
    record('Node opens the checkpoint the page saved and evaluates it', false, `${r.stdout}${r.stderr}`.slice(-2500));
    return;
  }
  const page = result.lastEval;
  const diff = Math.abs(node.testBitsPerDim - page.testBitsPerDim);
  record(`Node (${node.webgpu}) evaluates the page's checkpoint: test ${node.testBitsPerDim.toFixed(5)} bits/dim vs the page's ${page.testBitsPerDim.toFixed(5)} at step ${page.step}, ` +
    `${node.images} images: |difference| ${diff.toExponential(2)} <= ${TOLERANCE} (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
    node.step === page.step && node.images === page.images && diff <= TOLERANCE,
    `node: kl ${node.kl}, pixelcnn ${node.pixelcnn}, aux ${node.aux}, psnr ${node.psnr}; page: kl ${page.kl}, pixelcnn ${page.pixelcnn}, aux ${page.aux}, psnr ${page.psnr}`);
}

/** The CLI trains the page's run (quick, its recipe, seed 1, the same cadences): every step's loss terms as the page's. */
function compareWithCli(result) {
  const page = result?.train ?? [];
  if (page.length !== STEPS) {
    record('the page trains as node train.js does', false, `the page reported ${page.length} training records, expected ${STEPS}`);
    return;
  }
  const out = join(tmp, 'cli-quick');
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(REPO, 'train.js'), '--config', 'quick', '--steps', String(STEPS), '--eval-every', String(EVAL_EVERY), '--checkpoint-every', String(RELOAD_AT), '--out', out],
    { cwd: REPO, encoding: 'utf8', timeout: 900_000 });
  const cli = new Map();
  if (existsSync(join(out, 'metrics.jsonl'))) {
    for (const line of readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n')) if (line.trim()) {
      const rec = JSON.parse(line);
      if (rec.type === 'train') cli.set(rec.step, rec);
    }
  }
  let worst = { diff: 0, at: '' };
  let missing = 0;
  for (const p of page) {
    const c = cli.get(p.step);
    if (!c) {
      missing++;
      continue;
    }
    for (const k of ['loss', 'pixelcnn', 'aux', 'kl']) {
      const d = Math.abs(p[k] - c[k]);
      if (!(d <= worst.diff)) worst = { diff: d, at: `step ${p.step} ${k}: page ${p[k]}, cli ${c[k]}` };
    }
  }
  // Speed: images/s over the last window of log lines (steps 31-40 for 40 steps), the same measure on both sides.
  const pageLast = page.at(-1);
  const cliLast = cli.get(pageLast.step);
  if (cliLast) {
    const sps = (r) => r.imagesPerSecond / 8; // quick's batch: the page runs the recipe as it comes
    console.log(`        speed at step ${pageLast.step} (the last log window): page (Chromium, SwiftShader) ${sps(pageLast).toFixed(3)} steps/s, ` +
      `node train.js (lavapipe) ${sps(cliLast).toFixed(3)} steps/s: ${(sps(cliLast) / sps(pageLast)).toFixed(1)}x`);
  }
  record(`node train.js with the page's settings trains the same run: ${STEPS} steps' loss terms within 0.01 bits/dim (worst ${worst.diff.toExponential(2)}, ${worst.at}; CLI ${((performance.now() - t0) / 1000).toFixed(0)} s)`,
    r.status === 0 && missing === 0 && worst.diff <= 0.01, r.status === 0 ? (missing ? `${missing} steps missing from the CLI's metrics` : '') : `${r.stdout}${r.stderr}`.slice(-2000));
}

try {
  const chromium = findChromium();
  if (!chromium) record('Chromium found', false, 'no chromium on PATH (Debian: apt-get install chromium; or set $CHROMIUM)');
  else if (!existsSync(join(SITE, 'index.html')) || !existsSync(join(REPO, 'train.js'))) record('the site and train.js are built', false, 'run npm run build first');
  else {
    const evaluator = await buildHelpers();
    const t0 = performance.now();
    if (only !== 'studio') await session(chromium, 'no-webgpu', 'mode=no-webgpu', { webgpu: false, timeoutMs: 120_000, pipe: false, fixtures: {} });
    if (only !== 'no-webgpu') {
      const tiny = tinyCheckpoint();
      const fixtures = {
        'corrupt.agave': tiny ? readFileSync(tiny).subarray(0, 1000) : Buffer.from('AGAVECKP'),
        ...(tiny ? { 'tiny.agave': readFileSync(tiny) } : {}),
        'truncated.bin': gunzipSync(readFileSync(join(REPO, 'data', 'cifar10-sample-train.bin.gz'))).subarray(0, 10000),
      };
      const s = await session(chromium, 'studio', `steps=${STEPS}&reloadAt=${RELOAD_AT}&loseAt=${LOSE_AT}&evalEvery=${EVAL_EVERY}`, { webgpu: true, timeoutMs: TIMEOUT_MS, pipe: screenshot !== null, fixtures });
      if (s.result?.log) console.log(`        page log:\n          ${s.result.log.join('\n          ')}`);
      compareWithNode(evaluator, s.upload, s.result);
      compareWithCli(s.result);
    }
    console.log(`        studio test: ${((performance.now() - t0) / 1000).toFixed(0)} s in all`);
    rmSync(evaluator, { force: true });
  }
} catch (err) {
  record('studio test ran to the end', false, String(err?.stack ?? err));
} finally {
  if (keep) console.log(`kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}
const failed = results.filter((r) => !r.ok).length;
console.log(`studio: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
