// Builds (1) train.js, the CLI entry, (2) dist/engine.js, the engine as an ES-module library with `webgpu`
// kept external (an optional peer dependency: Node loads it on demand, browsers use navigator.gpu) and
// wgsl_reflect bundled in, (3) dist/bench.js for `npm run bench`, (4) AGAVE Studio: the static site dist/studio/
// (app.js, the page's bundle for browsers: esbuild refuses a Node module in it; index.html, style.css and the
// bundled data sample) and its server dist/studio-server.js (`npm run studio`). WGSL files are bundled as text.
// `npm run build` then writes the library's declarations (dist/types/engine/, tsconfig.build.json).
import { copyFileSync, mkdirSync } from 'node:fs';
import { build } from 'esbuild';
import { browserBundle, nodeBundle } from './esbuild.options.mjs';

const common = { ...nodeBundle, sourcemap: true, logLevel: 'warning' };

mkdirSync('dist/studio/data', { recursive: true });
for (const f of ['index.html', 'style.css']) copyFileSync(`studio/${f}`, `dist/studio/${f}`);
for (const f of ['cifar10-sample-train.bin.gz', 'cifar10-sample-test.bin.gz']) copyFileSync(`data/${f}`, `dist/studio/data/${f}`);

await Promise.all([
  build({ ...common, entryPoints: ['train/cli.ts'], outfile: 'train.js', sourcemap: false,
    banner: { js: '#!/usr/bin/env node\n// Built by esbuild from train/cli.ts: do not edit; run `npm run build`.' } }),
  build({ ...common, entryPoints: ['engine/index.ts'], outfile: 'dist/engine.js', platform: 'neutral' }),
  // esbuild itself stays external: `bench -- step --compare REV` bundles REV's stepper at run time.
  build({ ...common, entryPoints: ['bench/run.ts'], outfile: 'dist/bench.js', external: [...nodeBundle.external, 'esbuild'] }),
  build({ ...browserBundle, sourcemap: true, logLevel: 'warning', entryPoints: ['studio/app/main.ts'], outfile: 'dist/studio/app.js' }),
  build({ ...common, entryPoints: ['studio/server.ts'], outfile: 'dist/studio-server.js', sourcemap: false }),
]);
console.log('built train.js, dist/engine.js, dist/bench.js, dist/studio/ (AGAVE Studio) and dist/studio-server.js');
