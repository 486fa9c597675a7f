// The esbuild options every Node bundle of this repository shares: esbuild.config.mjs (train.js, the library,
// the bench), test/helpers/cli.ts (the CLI under test) and bench/compare.ts (an older commit's stepper).
// WGSL files are bundled as text; `webgpu` (Dawn for Node) stays external, an optional peer dependency, and so
// does `koffi` (the C FFI that only --distributed mpi loads, train/distributed/mpi.ts).
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
