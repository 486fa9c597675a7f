// Types of esbuild.options.mjs for the TypeScript files that import it.
import type { BuildOptions } from 'esbuild';

export declare const nodeBundle: BuildOptions & { external: string[] };
export declare const browserBundle: BuildOptions;
