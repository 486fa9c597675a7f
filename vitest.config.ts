// Vitest runs the TypeScript sources directly; .wgsl files are imported as text like esbuild does in the bundle.
import { readFileSync } from 'node:fs';
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
  },
});
