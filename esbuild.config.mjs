// Builds (1) train.js, the CLI entry, (2) dist/engine.js, the engine as an ES-module library with `webgpu`
// kept external (an optional peer dependency: Node loads it on demand, browsers use navigator.gpu) and
// wgsl_reflect bundled in, (3) dist/bench.js for `npm run bench`. WGSL files are bundled as text.
// `npm run build` then writes the library's declarations (dist/types/engine/, tsconfig.build.json).
import { build } from 'esbuild';
import { nodeBundle } from './esbuild.options.mjs';

const common = { ...nodeBundle, sourcemap: true, logLevel: 'warning' };

await Promise.all([
  build({ ...common, entryPoints: ['train/cli.ts'], outfile: 'train.js', sourcemap: false,
    banner: { js: '#!/usr/bin/env node\n// Built by esbuild from train/cli.ts: do not edit; run `npm run build`.' } }),
  build({ ...common, entryPoints: ['engine/index.ts'], outfile: 'dist/engine.js', platform: 'neutral' }),
  // esbuild itself stays external: `bench -- step --compare REV` bundles REV's stepper at run time.
  build({ ...common, entryPoints: ['bench/run.ts'], outfile: 'dist/bench.js', external: [...nodeBundle.external, 'esbuild'] }),
]);
console.log('built train.js, dist/engine.js, dist/bench.js');
