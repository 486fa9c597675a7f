// The esbuild options the bundles of this repository share. nodeBundle: every Node bundle (esbuild.config.mjs:
// train.js, the library, the bench, the studio's server; test/helpers/cli.ts: the CLI under test;
// bench/compare.ts: an older commit's stepper). WGSL files are bundled as text; `webgpu` (Dawn for Node) stays
// external, an optional peer dependency, and so does `koffi` (the C FFI that only --distributed mpi loads,
// train/distributed/mpi.ts). browserBundle: AGAVE Studio's page (studio/app/main.ts), for browsers: a Node
// module (node:fs, ...) anywhere in its imports is a build error, which keeps the platform split honest.
const shared = {
  bundle: true,
  format: 'esm',
  loader: { '.wgsl': 'text' },
  // wgsl_reflect's "main" is CommonJS inside a "type": "module" package; its "module" build is the ES one.
  mainFields: ['module', 'main'],
};

export const nodeBundle = { ...shared, platform: 'node', target: 'node20', external: ['webgpu', 'koffi'] };

export const browserBundle = { ...shared, platform: 'browser', target: 'es2022' };
