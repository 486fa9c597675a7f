// `npm run bench -- tune --browser`: the tune benchmark (bench/tune.ts) in headless Chromium, whose WebGPU here is
// SwiftShader (a CPU implementation unlike lavapipe: other costs, other winners). Bundles bench/browser_page.ts
// (engine, model and stepper for the browser) with esbuild, serves it on 127.0.0.1, starts Chromium with WebGPU
// enabled (the consumer test's flags, test/consumer/run.mjs), and prints what the page reports: the tuned table
// and the tuned step beside the static one, alternated in the page.
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { TuneReport } from '../engine/index.js';
import { printTable } from './harness.js';
import { tuneTable } from './tune.js';
import type { StepConfig } from './step.js';

const PAGE = `<!doctype html>
<meta charset="utf-8"><title>agave-webgpu tune bench</title>
<script type="module">
  const fatal = (m) => fetch('/report', { method: 'POST', body: JSON.stringify({ fatal: String(m) }) });
  addEventListener('error', (e) => fatal(e.message));
  addEventListener('unhandledrejection', (e) => fatal((e.reason && e.reason.stack) || e.reason));
  import('/page.js').then((m) => m.main()).catch((e) => fatal((e && e.stack) || e));
</script>`;

function chromium(): string {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']) {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error('bench tune --browser: no Chromium on PATH (Debian: apt-get install chromium; or set $CHROMIUM)');
}

interface Report {
  fatal?: string;
  adapter: string;
  userAgent: string;
  params: number;
  info: { tune?: TuneReport; batch: number };
  off: number[];
  on: number[];
  dispatches: { off: number; on: number };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export async function browserTune(configs: StepConfig[], o: { steps?: number; rounds?: number; bucketMs?: number; timeoutMinutes?: number }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'agave-browser-bench-'));
  const { build } = (await import('esbuild')) as unknown as { build: (o: Record<string, unknown>) => Promise<unknown> };
  await build({ entryPoints: [join(process.cwd(), 'bench', 'browser_page.ts')], outfile: join(dir, 'page.js'), bundle: true, format: 'esm', platform: 'browser', target: 'es2022', loader: { '.wgsl': 'text' }, mainFields: ['module', 'main'], logLevel: 'error' });
  for (const { config, batch } of configs) {
    let settle!: (r: Report) => void;
    const reported = new Promise<Report>((r) => (settle = r));
    const server = http.createServer((req, res) => {
      if (req.method === 'POST') {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          res.end('ok');
          const msg = JSON.parse(body) as { line?: string } & Report;
          if (req.url === '/log') process.stderr.write(`[browser ${new Date().toISOString().slice(11, 19)}] ${msg.line}\n`);
          else settle(msg);
        });
        return;
      }
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(PAGE);
      } else if (path === '/page.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' });
        createReadStream(join(dir, 'page.js')).pipe(res);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const q = new URLSearchParams({ config, batch: String(batch ?? 8), steps: String(o.steps ?? 2), rounds: String(o.rounds ?? 5), ...(o.bucketMs ? { bucketMs: String(o.bucketMs) } : {}) });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/?${q}`;
    const flags = ['--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${join(dir, `profile-${config}`)}`, url];
    const child = spawn(chromium(), flags, { detached: true, stdio: 'ignore' });
    const limit = (o.timeoutMinutes ?? 90) * 60_000;
    const r = await Promise.race([reported, new Promise<Report>((res) => setTimeout(() => res({ fatal: `no report within ${limit / 60_000} min` } as Report), limit))]);
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    server.close();
    if (r.fatal) throw new Error(`bench tune --browser (${config}): ${r.fatal}`);
    const rep = r.info.tune!;
    tuneTable(`tuned kernel choices in Chromium (${r.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? 'Chromium'}), ${config} batch ${r.info.batch} on ${r.adapter}: ${rep.tuned} buckets raced in ${(rep.ms / 1000).toFixed(1)} s, ${rep.changed} winners differ from the static choice`, rep.results);
    const ratios = r.off.map((t, i) => t / r.on[i]!);
    console.log(`${config}: tune off ${r.off.map((t) => t.toFixed(0)).join(' ')} ms/step; tune on ${r.on.map((t) => t.toFixed(0)).join(' ')} ms/step`);
    printTable(`training step in Chromium, tuned beside static (median of ${r.off.length} alternated blocks of ${o.steps ?? 2} steps each)`, [
      { name: `--tune off: ${config} batch ${r.info.batch} (${r.params.toLocaleString('en-US')} params)`, ms: median(r.off), note: `${r.dispatches.off.toFixed(0)} dispatches/step` },
      { name: `--tune on: ${config} batch ${r.info.batch}`, ms: median(r.on), note: `${r.dispatches.on.toFixed(0)} dispatches/step; speed ${(median(r.off) / median(r.on)).toFixed(3)}x --tune off's (per-block ratios median ${median(ratios).toFixed(3)}, spread ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}: ${ratios.map((x) => x.toFixed(2)).join(' ')})` },
    ]);
  }
  rmSync(dir, { recursive: true, force: true });
}
