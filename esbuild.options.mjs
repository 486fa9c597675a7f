// The esbuild options the bundles of this repository share. nodeBundle: every Node bundle (esbuild.config.mjs:
// train.js, the library, the bench, the studio's server; test/helpers/cli.ts: the CLI under test;
// bench/compare.ts: an older commit's stepper). WGSL files are bundled as text; `webgpu` (Dawn for Node) stays
// external, an optional peer dependency, and so does `koffi` (the C FFI that only --distributed mpi loads,
// train/distributed/mpi.ts). browserBundle: AGAVE Studio's page (studio/app/main.ts), for browsers: a Node
// module (node:fs, ...) anywhere in its imports is a build error, which keeps the platform split honest.
export const nodeBundle = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  loader: { '.wgsl': 'text' },
  external: ['webgpu', 'koffi'],
  // wgsl_reflect's "main" is CommonJS inside a "type": "module" package; its "module" build is the ES one.
  mainFields: ['module', 'main'],
};

export const browserBundle = {
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  loader: { '.wgsl': 'text' },
  mainFields: ['module', 'main'],
};
