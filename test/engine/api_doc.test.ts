// docs/API.md against the package it documents (engine/index.ts, the npm package's only entry point): every
// export is documented and every name the document presents as an export is exported (the ops namespace
// member by member too); it sends readers to no file of the repository that the npm package does not ship;
// and its self-contained examples (```ts blocks that import 'agave-webgpu') run and print what their comments
// say. (Its device-limits table is checked against ENGINE_LIMITS in limits.test.ts.)
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';
import ts from 'typescript';
import { create } from 'webgpu';
import { describe, expect, it } from 'vitest';
import * as api from '../../engine/index.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const DOC = readFileSync(join(REPO, 'docs', 'API.md'), 'utf8');
const FENCES = [...DOC.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, code: m[2]! }));
const PROSE = DOC.replace(/```\w*\n[\s\S]*?```/g, '');
/** Inline code spans (`...`) outside the fenced blocks. */
const SPANS = [...PROSE.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
/** Every identifier in code: fenced blocks and inline spans. */
const CODE_WORDS = new Set([...FENCES.map((f) => f.code), ...SPANS].join('\n').match(/[A-Za-z_$][\w$]*/g) ?? []);

/** The names engine/index.ts exports, read from its syntax (type-only exports included). */
function indexExports(): { values: string[]; types: string[] } {
  const path = join(REPO, 'engine', 'index.ts');
  const file = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2022);
  const values: string[] = [];
  const types: string[] = [];
  for (const st of file.statements) {
    if (ts.isExportDeclaration(st)) {
      const clause = st.exportClause;
      if (!clause) throw new Error('engine/index.ts: `export * from` hides what is exported; name the exports');
      if (ts.isNamespaceExport(clause)) values.push(clause.name.text);
      else for (const el of clause.elements) (st.isTypeOnly || el.isTypeOnly ? types : values).push(el.name.text);
    } else if (ts.canHaveModifiers(st) && ts.getModifiers(st)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) {
      throw new Error(`engine/index.ts declares an export itself (${st.getText(file).slice(0, 60)}...): re-export it from its module`);
    }
  }
  return { values, types };
}

/**
 * Capitalised names in inline code that are not the engine's: platform and TypeScript words the document
 * mentions. (JavaScript globals and names starting with GPU or WGSL are recognised without this list.)
 */
const NOT_EXPORTS = new Set(['DOM', 'ES2022', 'NodeNext', 'WebGPU', 'PredefinedColorSpace', 'VideoFrame', 'Cout']);

/** Every name the generative namespace exports (engine/generative/*.ts), types included. */
function generativeExports(): string[] {
  const dir = join(REPO, 'engine', 'generative');
  const names: string[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts') && n !== 'index.ts')) {
    const file = ts.createSourceFile(f, readFileSync(join(dir, f), 'utf8'), ts.ScriptTarget.ES2022);
    for (const st of file.statements) {
      if (!ts.canHaveModifiers(st) || !ts.getModifiers(st)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) continue;
      if (ts.isVariableStatement(st)) for (const d of st.declarationList.declarations) names.push(d.name.getText(file));
      else if ('name' in st && st.name && ts.isIdentifier(st.name as ts.Node)) names.push((st.name as ts.Identifier).text);
    }
  }
  return names;
}

describe('docs/API.md documents exactly the exports', () => {
  const { values, types } = indexExports();
  const exported = new Set([...values, ...types]);

  it('reads the exports right: the value exports are what the module exports at run time', () => {
    expect([...values].sort()).toEqual(Object.keys(api).sort());
  });

  it('documents every export (in code: `Name` or a code block)', () => {
    const missing = [...values, ...types].filter((n) => !CODE_WORDS.has(n));
    expect(missing, `exported by engine/index.ts but never named in docs/API.md's code: ${missing.join(', ')}`).toEqual([]);
  });

  it('documents every member of the ops namespace, and names no op that is not one', () => {
    const missing = Object.keys(api.ops).filter((n) => !CODE_WORDS.has(n));
    expect(missing, `ops members docs/API.md never names: ${missing.join(', ')}`).toEqual([]);
    const code = [...FENCES.map((f) => f.code), ...SPANS].join('\n');
    const unknown = [...code.matchAll(/\bops\.(\w+)/g)].map((m) => m[1]!).filter((n) => !(n in api.ops));
    expect(unknown, `docs/API.md calls ops the ops namespace does not have: ${unknown.join(', ')}`).toEqual([]);
  });

  it('documents every member of the generative namespace, types included, and calls no member it does not have', () => {
    const members = generativeExports();
    expect(members.length).toBeGreaterThan(20);
    for (const n of Object.keys(api.generative)) expect(members, `generative.${n} is read from engine/generative/`).toContain(n);
    const missing = members.filter((n) => !CODE_WORDS.has(n));
    expect(missing, `generative members docs/API.md never names: ${missing.join(', ')}`).toEqual([]);
    const code = [...FENCES.map((f) => f.code), ...SPANS].join('\n');
    const unknown = [...code.matchAll(/\bgenerative\.(\w+)/g)].map((m) => m[1]!).filter((n) => !members.includes(n));
    expect(unknown, `docs/API.md calls generative members that do not exist: ${unknown.join(', ')}`).toEqual([]);
  });

  it('exports every name its examples import from agave-webgpu', () => {
    const imported = FENCES.flatMap((f) => [...f.code.matchAll(/import\s*\{([^}]*)\}\s*from\s*'agave-webgpu'/g)])
      .flatMap((m) => m[1]!.split(',').map((s) => s.trim().replace(/^type\s+/, '')))
      .filter((n) => /^\w+$/.test(n));
    expect(imported.length).toBeGreaterThan(3);
    const unknown = imported.filter((n) => !exported.has(n));
    expect(unknown, `docs/API.md imports names agave-webgpu does not export: ${unknown.join(', ')}`).toEqual([]);
  });

  it('exports every capitalised name its inline code presents as the engine\'s (or it is a member of an export)', () => {
    const members = new Set<string>();
    for (const v of Object.values(api)) if (v && (typeof v === 'object' || typeof v === 'function')) for (const k of Object.keys(v)) members.add(k);
    for (const k of generativeExports()) members.add(k);
    const named = new Set(SPANS.flatMap((s) => [...s.matchAll(/(?<![\w$.])([A-Z][\w$]{3,})/g)].map((m) => m[1]!)));
    const unknown = [...named].filter((n) => !exported.has(n) && !members.has(n) && !NOT_EXPORTS.has(n) && !(n in globalThis) && !/^(GPU|WGSL)/.test(n));
    expect(unknown, `docs/API.md names these in code, but agave-webgpu exports none of them: ${unknown.join(', ')} ` +
      '(export it, correct the document, or, for a platform or TypeScript word, add it to NOT_EXPORTS here)').toEqual([]);
  });
});

describe('docs/API.md sends readers only to files the npm package ships', () => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { files: string[] };
  const shipped = [...pkg.files, 'package.json'];
  const isShipped = (path: string): boolean =>
    shipped.some((f) => path === f || path.startsWith(f.endsWith('/') ? f : `${f}/`) || f.startsWith(path.endsWith('/') ? path : `${path}/`));
  const topDirs = readdirSync(REPO).filter((n) => !['node_modules', '.git'].includes(n) && statSync(join(REPO, n)).isDirectory());

  it('links, file names and repository paths are all in the package', () => {
    const bad: string[] = [];
    for (const m of DOC.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
      const path = join('docs', target).replace(/\\/g, '/');
      if (!isShipped(path)) bad.push(`link ${target}`);
    }
    for (const m of DOC.matchAll(/(?<![\w./-])([\w.-]+\.md)\b/g)) {
      if (!shipped.some((f) => f === m[1] || f.endsWith(`/${m[1]}`))) bad.push(m[1]!);
    }
    for (const m of DOC.matchAll(/(?<![\w./:-])((?:[\w.-]+\/)+[\w.-]*)/g)) {
      const path = m[1]!;
      if (topDirs.includes(path.split('/')[0]!) && !isShipped(path)) bad.push(path);
    }
    expect(bad, `docs/API.md refers to files the npm package does not ship (package.json "files"): ${bad.join(', ')}`).toEqual([]);
  });
});

describe("docs/API.md's examples run", () => {
  const examples = FENCES.filter((f) => f.lang === 'ts' && /from 'agave-webgpu'/.test(f.code) && /Engine\.create\(/.test(f.code));
  /** Dawn's GPU object stays referenced while its devices live (docs/ENGINE.md §1); the examples' navigator.gpu. */
  const gpu = create([]);
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => (...values: unknown[]) => Promise<void>;

  it('has self-contained examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(2);
  });

  for (const [i, example] of examples.entries()) {
    const title = example.code.split('\n').find((l) => l.startsWith('const ') && !l.includes('import')) ?? `#${i + 1}`;
    it(`runs and prints what its comments say: ${title.slice(0, 70)}`, async () => {
      const { code } = await transform(example.code, { loader: 'ts', format: 'esm', target: 'es2022' });
      const js = code.replace(/import\s*\{([^}]*)\}\s*from\s*["']agave-webgpu["'];?/g, (_all, names: string) => `const {${names}} = __api;`);
      expect(js, 'an example may import only from agave-webgpu').not.toMatch(/^\s*import\b/m);
      const printed: number[][] = [];
      const flat = (v: unknown): number[] => (typeof v === 'number' ? [v] : ArrayBuffer.isView(v) || Array.isArray(v) ? Array.from(v as ArrayLike<unknown>).flatMap(flat) : []);
      await new AsyncFunction('__api', 'navigator', 'console', js)(api, { gpu }, { log: (...args: unknown[]) => printed.push(args.flatMap(flat)) });
      const promised = example.code.split('\n').filter((l) => /console\.log\(/.test(l)).map((l) => (/\/\/(.*)$/.exec(l)?.[1] ?? '').match(/-?\d+(?:\.\d+)?(?:e-?\d+)?/g)?.map(Number) ?? []);
      expect(printed.length, 'console.log calls').toBe(promised.length);
      for (const [k, want] of promised.entries()) {
        const got = printed[k]!;
        expect(want.length, `example line ${k + 1}: its comment promises no values`).toBeGreaterThan(0);
        expect(got.length, `example console.log #${k + 1}: printed ${got.length} values, its comment shows ${want.length}`).toBe(want.length);
        const worst = Math.max(...got.map((g, j) => Math.abs(g - want[j]!) / Math.max(1, Math.abs(want[j]!))));
        expect(worst, `example console.log #${k + 1}: printed [${got.join(', ')}], its comment says [${want.join(', ')}]`).toBeLessThan(1e-5);
      }
    });
  }
});
