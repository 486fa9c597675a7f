#!/usr/bin/env node
// Runs an example of examples/ from the repository's sources: bundles examples/<name>.ts with esbuild, the
// package name 'agave-webgpu' mapped to engine/index.ts (what the examples import), into dist/examples/, then
// runs it with Node, passing the remaining arguments.
//   npm run example <name> [args...]      e.g. npm run example fashion-mnist-mlp -- --steps 200
// (A user of the npm package runs the same files against the installed package: test/consumer/run.mjs does.)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { nodeBundle } from '../esbuild.options.mjs';

const REPO = resolve(fileURLToPath(new URL('..', import.meta.url)));
const [name, ...args] = process.argv.slice(2);
const runnable = readdirSync(join(REPO, 'examples')).filter((f) => f.endsWith('.ts') && !['mlp.ts', 'classifier.ts', 'fashion-mnist.ts', 'fashion-mnist-node.ts'].includes(f)).map((f) => f.slice(0, -3));
if (!name || !runnable.includes(name)) {
  console.error(`usage: npm run example <name> [args...]; examples: ${runnable.join(', ')}`);
  process.exit(2);
}
const outfile = join(REPO, 'dist', 'examples', `${name}.js`);
await build({ ...nodeBundle, entryPoints: [join(REPO, 'examples', `${name}.ts`)], outfile, alias: { 'agave-webgpu': join(REPO, 'engine', 'index.ts') }, logLevel: 'warning' });
if (!existsSync(outfile)) process.exit(1);
const r = spawnSync(process.execPath, [outfile, ...args], { stdio: 'inherit' });
process.exit(r.status ?? 1);
