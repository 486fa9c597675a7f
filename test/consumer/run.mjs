#!/usr/bin/env node
// Consumer tests: the engine used the way a library user uses it, from the npm tarball. Run by .ci/run after
// the vitest suite (`npm run test:consumer`); needs network or a warm npm cache (@webgpu/types, webgpu) and,
// for the browser part, Chromium (Debian's `chromium`, or $CHROMIUM).
//   node:    `npm pack` (size and file whitelist); install the tarball into an empty project; without `webgpu`,
//            Engine.create() says `npm install webgpu`; with it, the README's "Using the engine" example and a
//            small MLP trained with ParameterSet's Adamax type-check (tsconfig from `tsc --init`) and run; the
//            declarations also pass `tsc --noEmit` with moduleResolution bundler and skipLibCheck false.
//   browser: headless Chromium (SwiftShader WebGPU) loads a page that imports the packed dist/engine.js and
//            checks ops against float64 CPU references (test/consumer/browser/page.ts); the page reports each
//            check back to this script's server on 127.0.0.1 (--dump-dom would return before the GPU work ends).
// Prints one line per check and ends with `consumer: N passed, N failed`; exits 1 if anything failed.
// Options: --only node|browser, --bundle FILE (serve FILE to the browser instead of the packed bundle),
//          --keep (keep the temp folder).
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(fileURLToPath(new URL('../../', import.meta.url)));
const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const only = opt('--only');
const bundleOverride = opt('--bundle') ? resolve(opt('--bundle')) : undefined;
const keep = argv.includes('--keep');
const TARBALL_LIMIT = 1_000_000;
const BROWSER_TIMEOUT_MS = 300_000;

const results = [];
function record(name, ok, detail = '') {
  results.push({ name, ok });
  console.log(`${ok ? 'PASS' : 'FAIL'}  ${name}${detail ? `\n        ${detail.split('\n').join('\n        ')}` : ''}`);
}

/** Run a command; returns { ok, out } with stdout+stderr (never throws). */
function run(cmd, args, cwd, timeoutMs = 600_000) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20, env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' } });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? `\n${r.error.message}` : ''}`;
  return { ok: r.status === 0, out: out.trim() };
}
const tail = (s, n = 25) => s.split('\n').slice(-n).join('\n');

const tmp = mkdtempSync(join(tmpdir(), 'agave-consumer-'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
const pkgJson = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));

// ---- pack --------------------------------------------------------------------------------------------------
let tarball = null;
let packedBundle = null;
function pack() {
  const r = run(npm, ['pack', '--json', '--pack-destination', tmp, '--loglevel=error'], REPO);
  const jsonStart = r.out.indexOf('[');
  if (!r.ok || jsonStart < 0) {
    record('npm pack (prepack builds dist/ and the declarations)', false, tail(r.out));
    return;
  }
  const info = JSON.parse(r.out.slice(jsonStart, r.out.lastIndexOf(']') + 1))[0];
  tarball = join(tmp, info.filename);
  const files = info.files.map((f) => f.path);
  const allowed = /^(package\.json|README\.md|LICENSE|CHANGELOG\.md|docs\/API\.md|dist\/engine\.js(\.map)?|dist\/types\/engine\/[\w/]+\.d\.ts)$/;
  const extra = files.filter((f) => !allowed.test(f));
  const needed = ['dist/engine.js', 'dist/engine.js.map', 'dist/types/engine/index.d.ts', 'LICENSE', 'README.md', 'package.json'];
  const missing = needed.filter((f) => !files.includes(f));
  const size = statSync(tarball).size;
  record(`npm pack: ${(size / 1e6).toFixed(3)} MB, ${files.length} files (limit 1 MB; only dist/engine.js, its map, its types, docs)`,
    size < TARBALL_LIMIT && extra.length === 0 && missing.length === 0,
    [extra.length ? `not whitelisted: ${extra.join(', ')}` : '', missing.length ? `missing: ${missing.join(', ')}` : ''].filter(Boolean).join('; '));
  const unpacked = join(tmp, 'unpacked');
  mkdirSync(unpacked);
  const t = run('tar', ['-xzf', tarball, '-C', unpacked], tmp);
  if (t.ok) packedBundle = join(unpacked, 'package', 'dist', 'engine.js');
}

// ---- node --------------------------------------------------------------------------------------------------
function readmeExample() {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const at = readme.indexOf('## Using the engine');
  const m = at >= 0 ? /```ts\n([\s\S]*?)```/.exec(readme.slice(at)) : null;
  return m ? m[1] : null;
}

function nodeChecks() {
  const app = join(tmp, 'node-app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer-app', version: '1.0.0', private: true, type: 'module' }, null, 2));
  const inst = run(npm, ['install', tarball, '--prefer-offline', '--loglevel=error'], app);
  record('npm install ./agave-webgpu-*.tgz into an empty project', inst.ok, inst.ok ? '' : tail(inst.out));
  if (!inst.ok) return;

  // Without the optional peer dependency: a clear error, not a crash.
  const noPeer = !existsSync(join(app, 'node_modules', 'webgpu'));
  const probe = run(process.execPath, ['--input-type=module', '-e',
    "import { Engine } from 'agave-webgpu'; try { await Engine.create(); console.log('created an engine without webgpu?'); } catch (e) { console.log(String(e.message)); }"], app);
  record("without 'webgpu' (optional peer, not installed): Engine.create() says `npm install webgpu`",
    noPeer && probe.out.includes('npm install webgpu'), noPeer ? tail(probe.out, 6) : 'webgpu was installed with the tarball (should be an optional peer)');

  const peer = pkgJson.devDependencies?.webgpu ?? pkgJson.peerDependencies?.webgpu;
  const instPeer = run(npm, ['install', `webgpu@${peer}`, '--prefer-offline', '--loglevel=error'], app);
  record(`npm install webgpu@${peer}`, instPeer.ok, instPeer.ok ? '' : tail(instPeer.out));
  if (!instPeer.ok) return;

  const example = readmeExample();
  if (!example) {
    record("README's \"Using the engine\" example found", false, 'no ```ts block after "## Using the engine"');
    return;
  }
  writeFileSync(join(app, 'readme-example.ts'), example);
  for (const f of ['train-mlp.ts', 'api-types.ts']) writeFileSync(join(app, f), readFileSync(join(REPO, 'test', 'consumer', 'node', f), 'utf8'));

  // A new user's TypeScript project: the tsconfig `tsc --init` writes, nothing added.
  const init = run(process.execPath, [tsc, '--init'], app);
  const build = init.ok ? run(process.execPath, [tsc, '-p', '.'], app) : init;
  record('tsc (tsconfig from `tsc --init`): README example, MLP and API usage type-check against the packed declarations', build.ok, build.ok ? '' : tail(build.out));
  writeFileSync(join(app, 'tsconfig.bundler.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'], strict: true, noEmit: true, skipLibCheck: false, types: [] },
    files: ['readme-example.ts', 'train-mlp.ts', 'api-types.ts'],
  }, null, 2));
  const strictCheck = run(process.execPath, [tsc, '--noEmit', '-p', 'tsconfig.bundler.json'], app);
  record('tsc --noEmit (moduleResolution bundler, skipLibCheck false, no @types/node)', strictCheck.ok, strictCheck.ok ? '' : tail(strictCheck.out));
  if (!build.ok) return;

  const ex = run(process.execPath, ['readme-example.js'], app, 300_000);
  record("README's \"Using the engine\" example runs (Node, Dawn)", ex.ok && /Float32Array/.test(ex.out), tail(ex.out, ex.ok ? 2 : 25).slice(0, 2000));
  const mlp = run(process.execPath, ['train-mlp.js'], app, 300_000);
  record('MLP trained with ParameterSet.adamaxStep (Node)', mlp.ok, tail(mlp.out, mlp.ok ? 1 : 25));
}

// ---- browser -----------------------------------------------------------------------------------------------
function findChromium() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']) {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

const PAGE = `<!doctype html>
<meta charset="utf-8"><title>agave-webgpu in the browser</title>
<script type="importmap">{ "imports": { "agave-webgpu": "/engine.js" } }</script>
<script>
  const fatal = (m) => fetch('/report', { method: 'POST', body: JSON.stringify({ fatal: String(m) }) });
  addEventListener('error', (e) => fatal(e.message));
  addEventListener('unhandledrejection', (e) => fatal((e.reason && e.reason.stack) || e.reason));
  import('/page.js').then((m) => m.main()).catch((e) => fatal((e && e.stack) || e));
</script>`;

async function browserChecks(bundle) {
  const chromium = findChromium();
  if (!chromium) {
    record('browser: Chromium found', false, 'no chromium on PATH (Debian: apt-get install chromium; or set $CHROMIUM)');
    return;
  }
  if (!bundle || !existsSync(bundle)) {
    record('browser: bundle to serve', false, `no bundle at ${bundle}`);
    return;
  }
  const dir = join(tmp, 'browser');
  mkdirSync(dir, { recursive: true });
  const { build } = await import(join(REPO, 'node_modules', 'esbuild', 'lib', 'main.js'));
  try {
    await build({ entryPoints: [join(REPO, 'test', 'consumer', 'browser', 'page.ts')], outfile: join(dir, 'page.js'), bundle: true, format: 'esm',
      platform: 'browser', target: 'es2022', external: ['agave-webgpu'], logLevel: 'error' });
  } catch (err) {
    record('browser: build the test page', false, String(err));
    return;
  }
  const files = { '/page.js': join(dir, 'page.js'), '/engine.js': bundle, '/engine.js.map': `${bundle}.map` };
  let settle;
  const reported = new Promise((r) => (settle = r));
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/report') {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        res.end('ok');
        try {
          settle(JSON.parse(body));
        } catch {
          settle({ fatal: `unreadable report: ${body.slice(0, 200)}` });
        }
      });
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE);
      return;
    }
    const file = files[path];
    if (file && existsSync(file)) {
      res.writeHead(200, { 'content-type': path.endsWith('.js') ? 'text/javascript' : 'application/json' });
      createReadStream(file).pipe(res);
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}/`;
  const profile = join(dir, 'profile');
  const log = join(dir, 'chromium.log');
  const flags = ['--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, url];
  const out = [];
  const child = spawn(chromium, flags, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => out.push(d));
  child.stderr.on('data', (d) => out.push(d));
  const exited = new Promise((r) => child.on('exit', (code) => r({ exited: code })));
  const timer = new Promise((r) => setTimeout(() => r({ timeout: true }), BROWSER_TIMEOUT_MS));
  const outcome = await Promise.race([reported, exited, timer]);
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // already gone
  }
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  server.close();
  writeFileSync(log, Buffer.concat(out));
  const chromeLog = () => tail(Buffer.concat(out).toString('utf8').split('\n').filter((l) => !/dbus|Fontconfig/.test(l)).join('\n'), 12);
  if (outcome.timeout) record('browser: the page reported back', false, `no report within ${BROWSER_TIMEOUT_MS / 1000} s\n${chromeLog()}`);
  else if ('exited' in outcome) record('browser: the page reported back', false, `chromium exited (${outcome.exited}) before the page reported\n${chromeLog()}`);
  else if (outcome.fatal) record('browser: the page loaded the bundle and ran', false, outcome.fatal);
  else {
    const list = outcome.results ?? [];
    for (const r of list) record(`browser: ${r.name}`, r.ok, r.detail);
    const expected = 6;
    if (list.length !== expected) record(`browser: all ${expected} checks reported`, false, `got ${list.length}`);
  }
}

// ---- main --------------------------------------------------------------------------------------------------
try {
  if (!bundleOverride || only !== 'browser') pack();
  if (only !== 'browser' && tarball) nodeChecks();
  if (only !== 'node') await browserChecks(bundleOverride ?? packedBundle);
} catch (err) {
  record('consumer tests ran to the end', false, String(err?.stack ?? err));
} finally {
  if (keep) console.log(`kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}
const failed = results.filter((r) => !r.ok).length;
console.log(`consumer: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
