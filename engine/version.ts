// The engine's version, the package's (test/engine/tuning.test.ts checks it against package.json). Tuned
// kernel choices are cached per engine version (engine/tuning/cache.ts): a new release re-tunes.
export const ENGINE_VERSION = '0.1.0';
