// `npm run studio`: serves AGAVE Studio's static site (dist/studio/, which `npm run build` writes; any static host
// serves it as well) from 127.0.0.1 with node:http and prints its URL. Flags: --port N (default 8080; 0: any free
// port), --host H (default 127.0.0.1: only this computer; browsers give WebGPU to http:// pages on localhost
// only, anything else needs HTTPS), --dir D (another copy of the site).
import { createReadStream, existsSync, statSync } from 'node:fs';
import http from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.gz': 'application/gzip',
  '.agave': 'application/octet-stream',
};

export const HELP = `usage: npm run studio [-- --port N] [-- --host H] [-- --dir D]
Serves AGAVE Studio (dist/studio/, built by npm run build) at http://127.0.0.1:8080/.
  --port N   port (default 8080; 0 picks a free one)
  --host H   address to listen on (default 127.0.0.1; browsers give WebGPU to plain http:// pages only on
             localhost, so serve other hosts over HTTPS: copy dist/studio/ to any static host)
  --dir D    the site folder to serve (default dist/studio next to this script)`;

export interface StudioServer {
  url: string;
  server: http.Server;
}

/** The file under `root` that a URL path names (index.html for a folder), or null for anything outside it. */
export function fileFor(root: string, urlPath: string): string | null {
  let path: string;
  try {
    path = decodeURIComponent(urlPath.split('?')[0]!.split('#')[0]!);
  } catch {
    return null;
  }
  if (path.includes('\0')) return null;
  const file = normalize(join(root, path));
  if (file !== root && !file.startsWith(root.endsWith(sep) ? root : root + sep)) return null;
  try {
    return statSync(file).isDirectory() ? join(file, 'index.html') : file;
  } catch {
    return file;
  }
}

/** Serves `dir` on host:port; resolves once it listens. */
export function serveStudio(dir: string, host: string, port: number): Promise<StudioServer> {
  const root = resolve(dir);
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const file = fileFor(root, req.url ?? '/');
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: ${req.url}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': statSync(file).size, 'cache-control': 'no-cache' });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      const actual = typeof address === 'object' && address ? address.port : port;
      const shown = host.includes(':') ? `[${host}]` : host;
      resolvePromise({ url: `http://${shown}:${actual}/`, server });
    });
  });
}

/** Exit status, or null while it serves (until Ctrl-C). */
async function main(): Promise<number | null> {
  let values;
  try {
    ({ values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string' }, dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (e) {
    console.error(`studio: ${(e as Error).message}\n${HELP}`);
    return 1;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const port = values.port === undefined ? 8080 : Number(values.port);
  if (!/^\d+$/.test(values.port ?? '0') || !Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`studio: --port must be a whole number from 0 to 65535, got '${values.port}'`);
    return 1;
  }
  const host = values.host ?? '127.0.0.1';
  const dir = values.dir ?? fileURLToPath(new URL('./studio/', import.meta.url));
  if (!existsSync(join(dir, 'index.html'))) {
    console.error(`studio: no site in ${dir} (no index.html): build it with npm run build${values.dir === undefined ? '' : ', or give --dir the folder that holds it'}`);
    return 1;
  }
  try {
    const { url } = await serveStudio(dir, host, port);
    console.log(`AGAVE Studio: ${url}  (serving ${resolve(dir)}; Ctrl-C stops)`);
    if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
      console.log('note: browsers give WebGPU only to secure pages: https://, or http:// on localhost. From another computer, serve the folder over HTTPS.');
    }
  } catch (e) {
    const code = (e as { code?: string }).code;
    console.error(`studio: cannot listen on ${host}:${port} (${code ?? (e as Error).message})${code === 'EADDRINUSE' ? ': the port is in use; choose another with --port N (0: any free port)' : ''}`);
    return 1;
  }
  return null;
}

// Run as the bundled entry (dist/studio-server.js), not when a test imports this file.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const code = await main();
  if (code !== null) process.exitCode = code;
}
