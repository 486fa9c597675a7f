// The repository's structure, checked from the code's own imports (test/structure/imports.ts reads them from
// the files: type-only imports included): no import cycle; nothing outside engine/ reaches into it except
// through its two entry points (engine/index.ts, the generic engine, and engine/generative/index.ts, the
// generative-model family); the generic engine never imports the generative family, and the engine never
// imports model/ or train/; model/ never imports train/. And the README's layout table names the folders
// that exist.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importCycles, importsOf, sourceFiles, type ImportEdge } from './imports.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const FILES = sourceFiles(REPO, ['engine', 'model', 'train', 'bench', 'test', 'examples', 'studio'].filter((d) => {
  try {
    return statSync(join(REPO, d)).isDirectory();
  } catch {
    return false;
  }
}));
const EDGES: ImportEdge[] = FILES.flatMap((f) => importsOf(REPO, f));
const ENTRY_POINTS = ['engine/index.ts', 'engine/generative/index.ts'];
const show = (e: ImportEdge): string => `${e.from}:${e.line} imports ${e.to}${e.typeOnly ? ' (type only)' : ''}`;

describe('the import graph', () => {
  it('is read from the files (a sanity check of the reader)', () => {
    expect(FILES.length).toBeGreaterThan(100);
    expect(EDGES.some((e) => e.from === 'engine/engine.ts' && e.to === 'engine/tape.ts')).toBe(true);
    expect(EDGES.some((e) => e.typeOnly)).toBe(true);
  });

  it('has no import cycle, type-only imports included', () => {
    const cycles = importCycles(EDGES);
    expect(cycles.map((c) => c.join(' <-> ')), 'files that import each other, directly or around a loop').toEqual([]);
  });

  it('reaches into engine/ only through its entry points', () => {
    const bad = EDGES.filter((e) => e.to.startsWith('engine/') && !e.from.startsWith('engine/') && !ENTRY_POINTS.includes(e.to));
    expect(bad.map(show)).toEqual([]);
  });

  it('imports downward: the generic engine not the generative family, the engine not model/ or train/, model/ not train/', () => {
    const bad = EDGES.filter((e) => {
      const genericEngine = e.from.startsWith('engine/') && !e.from.startsWith('engine/generative/') && e.from !== 'engine/index.ts';
      if (genericEngine && e.to.startsWith('engine/generative/')) return true;
      if (e.from.startsWith('engine/') && (e.to.startsWith('model/') || e.to.startsWith('train/'))) return true;
      return e.from.startsWith('model/') && e.to.startsWith('train/');
    });
    expect(bad.map(show)).toEqual([]);
  });

  it('every relative import names a file that exists', () => {
    const missing = EDGES.filter((e) => {
      try {
        return !statSync(join(REPO, e.to)).isFile();
      } catch {
        return true;
      }
    });
    expect(missing.map(show)).toEqual([]);
  });
});

describe("the README's layout table", () => {
  it('names every top-level folder of the repository, and only folders that exist', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const section = /\n## Layout\n([\s\S]*?)\n## /.exec(readme);
    expect(section, 'README.md has a "## Layout" section').not.toBeNull();
    const named = new Set([...section![1]!.matchAll(/^\| `([\w.-]+)\/` \|/gm)].map((m) => m[1]!));
    const folders = readdirSync(REPO).filter((n) => !n.startsWith('.') && n !== 'node_modules' && n !== 'dist' && n !== 'runs' && statSync(join(REPO, n)).isDirectory());
    expect([...named].sort(), 'the folders the layout table names (rows "| `name/` | ...")').toEqual(folders.sort());
  });
});
