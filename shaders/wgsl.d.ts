// WGSL sources are imported as text: esbuild's text loader in the bundle, a tiny plugin in vitest.config.ts.
declare module '*.wgsl' {
  const source: string;
  export default source;
}
