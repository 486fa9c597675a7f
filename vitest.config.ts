// Vitest runs the TypeScript sources directly; .wgsl files are imported as text like esbuild does in the bundle.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [
    {
      name: 'wgsl-as-text',
      load(id: string) {
        if (!id.endsWith('.wgsl')) return null;
        return `export default ${JSON.stringify(readFileSync(id, 'utf8'))};`;
      },
    },
  ],
  resolve: {
    // wgsl_reflect's package.json says "type": "module" but its "main" is CommonJS; use its ES module build.
    alias: { wgsl_reflect: fileURLToPath(new URL('./node_modules/wgsl_reflect/wgsl_reflect.module.js', import.meta.url)) },
  },
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    // Kernel tuning (engine/tuning/) off in the CLI under test, and engines that read the tuning cache read an empty
    // one of this run's own: every test sees the static kernel choices unless it tunes or forces them itself.
    env: { AGAVE_TUNE: 'off', XDG_CACHE_HOME: join(tmpdir(), `agave-vitest-cache-${process.pid}`) },
  },
});
