// The mutation trial: plants each bug listed in test/mutations.json (one at a time: an exact piece of a source
// file replaced by a broken one), runs the vitest files that entry names, and reports whether a test caught it.
// Why: a test suite that passes says little until it is seen failing on the bugs it exists for; this re-runs that
// check (test/MUTATIONS.md says what each entry is for and holds the last measured table).
//
//   node scripts/mutations.mjs                 every entry
//   node scripts/mutations.mjs --only a,b      the entries with these ids
//   node scripts/mutations.mjs --list          the entries, nothing run
//   node scripts/mutations.mjs --markdown      the result table in Markdown (for test/MUTATIONS.md)
//   node scripts/mutations.mjs --file F.json   entries from another list (same format)
//   node scripts/mutations.mjs --no-baseline   skip the unmutated runs (by default each distinct set of test
//                                              files runs once unmutated first: a test that fails anyway would
//                                              "catch" every mutant)
//
// Each planted file is restored byte for byte after its run, also on Ctrl-C, SIGTERM, a crash or a timeout. An
// entry whose original text is not found exactly once is reported as stale and skipped (nothing planted). Exit
// code 0 when every entry was caught, 1 otherwise.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const valueOf = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const usage = () => {
  console.log('usage: node scripts/mutations.mjs [--only id,id] [--list] [--markdown] [--file LIST.json] [--no-baseline] [--timeout MINUTES]');
};
if (flag('--help') || flag('-h')) {
  usage();
  process.exit(0);
}
const known = new Set(['--only', '--list', '--markdown', '--file', '--no-baseline', '--timeout']);
for (let i = 0; i < args.length; i++) {
  if (!known.has(args[i])) {
    console.error(`mutations: unknown argument ${args[i]}`);
    usage();
    process.exit(2);
  }
  if (args[i] === '--only' || args[i] === '--timeout' || args[i] === '--file') i++;
}
const LIST = resolve(valueOf('--file') ?? join(ROOT, 'test', 'mutations.json'));

/** @typedef {{ id: string, bug: string, file: string, original: string, replacement: string, tests: string[], testNamePattern?: string }} Mutant */
/** @type {Mutant[]} */
const all = JSON.parse(readFileSync(LIST, 'utf8'));
const ids = new Set();
for (const m of all) {
  for (const k of ['id', 'bug', 'file', 'original', 'replacement']) if (typeof m[k] !== 'string' || m[k] === '') throw new Error(`${LIST}: entry ${JSON.stringify(m.id)} lacks '${k}'`);
  if (!Array.isArray(m.tests) || m.tests.length === 0) throw new Error(`${LIST}: entry ${m.id} names no test file`);
  if (ids.has(m.id)) throw new Error(`${LIST}: id ${m.id} appears twice`);
  if (m.original === m.replacement) throw new Error(`${LIST}: entry ${m.id} replaces its text by itself`);
  ids.add(m.id);
}
const only = valueOf('--only');
const chosen = only ? only.split(',').map((id) => {
  const m = all.find((x) => x.id === id);
  if (!m) throw new Error(`--only: no entry '${id}' (see --list)`);
  return m;
}) : all;

if (flag('--list')) {
  for (const m of chosen) console.log(`${m.id}\n  ${m.bug}\n  ${m.file}\n  caught by: ${m.tests.join(', ')}${m.testNamePattern ? ` (-t ${JSON.stringify(m.testNamePattern)})` : ''}`);
  process.exit(0);
}

const timeoutMs = Number(valueOf('--timeout') ?? 20) * 60_000;
const work = mkdtempSync(join(tmpdir(), 'agave-mutations-'));

// ---------------------------------------------------------------------------------------------------------------
// Planting and restoring

/** The file currently holding a mutant and its original bytes (restored by restore()). */
let planted = null;
/** The vitest run in progress (its process group is killed on a signal). */
let child = null;

function restore() {
  if (!planted) return;
  writeFileSync(planted.path, planted.bytes);
  planted = null;
}

function occurrences(text, piece) {
  let n = 0;
  for (let i = text.indexOf(piece); i >= 0; i = text.indexOf(piece, i + 1)) n++;
  return n;
}

/** Plants m; returns null, or why it cannot be planted (nothing was changed then). */
function plant(m) {
  const path = join(ROOT, m.file);
  if (!existsSync(path)) return `${m.file} does not exist`;
  const bytes = readFileSync(path);
  const text = bytes.toString('utf8');
  const n = occurrences(text, m.original);
  if (n !== 1) {
    const held = occurrences(text, m.replacement) > 0 && n === 0 ? ` (the file holds the replacement: was an earlier trial killed with SIGKILL? restore it with git checkout -- ${m.file})` : '';
    return `the original text occurs ${n} times in ${m.file}, not once${held}`;
  }
  planted = { path, bytes };
  writeFileSync(path, text.replace(m.original, m.replacement));
  return null;
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    restore();
    if (child?.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    console.error(`\nmutations: ${sig}: the planted file is restored; stopping`);
    rmSync(work, { recursive: true, force: true });
    process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}
process.on('exit', restore);
process.on('uncaughtException', (e) => {
  restore();
  console.error(e);
  process.exit(1);
});

// ---------------------------------------------------------------------------------------------------------------
// Running vitest

/**
 * Runs the test files; resolves to { status: 'passed' | 'failed' | 'error' | 'timeout', failed: test names,
 * seconds, log }. 'error': vitest ran no failing test but a file failed to load or run (an import error, say).
 */
function runTests(tests, pattern, label) {
  const report = join(work, `${label}.json`);
  const log = join(work, `${label}.log`);
  const argv = ['vitest', 'run', ...tests, '--reporter=default', '--reporter=json', `--outputFile.json=${report}`];
  if (pattern) argv.push('-t', pattern);
  const t0 = Date.now();
  return new Promise((resolvePromise) => {
    const out = [];
    // Its own process group, so a timeout or our signal handler can stop vitest and its workers together.
    child = spawn('npx', argv, { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => out.push(d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      child = null;
      writeFileSync(log, Buffer.concat(out));
      const seconds = (Date.now() - t0) / 1000;
      if (timedOut) return resolvePromise({ status: 'timeout', failed: [], seconds, log });
      let r = null;
      try {
        r = JSON.parse(readFileSync(report, 'utf8'));
      } catch {
        // no report: vitest itself failed
      }
      const failed = [];
      for (const file of r?.testResults ?? []) for (const a of file.assertionResults ?? []) if (a.status === 'failed') failed.push(a.fullName ?? a.title);
      if (code === 0 && r && r.numFailedTests === 0 && r.numFailedTestSuites === 0) return resolvePromise({ status: 'passed', failed, seconds, log });
      if (failed.length > 0) return resolvePromise({ status: 'failed', failed, seconds, log });
      resolvePromise({ status: 'error', failed, seconds, log });
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The trial

const key = (m) => JSON.stringify([m.tests, m.testNamePattern ?? null]);
const baseline = new Map();
if (!flag('--no-baseline')) {
  const groups = [...new Map(chosen.map((m) => [key(m), m])).values()];
  for (const [i, m] of groups.entries()) {
    process.stderr.write(`baseline ${i + 1}/${groups.length}: ${m.tests.join(' ')}${m.testNamePattern ? ` -t ${JSON.stringify(m.testNamePattern)}` : ''} ... `);
    const r = await runTests(m.tests, m.testNamePattern, `baseline-${i}`);
    process.stderr.write(`${r.status} (${r.seconds.toFixed(0)} s)\n`);
    if (r.status !== 'passed') console.error(`  unmutated run did not pass (${r.status}): ${r.failed.slice(0, 3).join('; ')}; log ${r.log}`);
    baseline.set(key(m), r);
  }
}

const results = [];
for (const [i, m] of chosen.entries()) {
  const base = baseline.get(key(m));
  if (base && base.status !== 'passed') {
    results.push({ m, result: 'not run: the unmutated tests fail', seconds: 0, detail: base.failed[0] ?? base.status });
    continue;
  }
  process.stderr.write(`mutant ${i + 1}/${chosen.length} ${m.id} ... `);
  const why = plant(m);
  if (why) {
    process.stderr.write('stale\n');
    results.push({ m, result: 'stale', seconds: 0, detail: why });
    continue;
  }
  let r;
  try {
    r = await runTests(m.tests, m.testNamePattern, `mutant-${m.id}`);
  } finally {
    restore();
  }
  const result = r.status === 'failed' ? 'caught' : r.status === 'passed' ? 'MISSED' : r.status === 'timeout' ? 'timeout' : 'error (no test failed; a file did not load or run)';
  process.stderr.write(`${result} (${r.seconds.toFixed(0)} s)\n`);
  results.push({ m, result, seconds: r.seconds, detail: r.status === 'failed' ? `${r.failed.length} failed, e.g. ${r.failed[0]}` : `log ${r.log}` });
}

const caught = results.filter((r) => r.result === 'caught').length;
if (flag('--markdown')) {
  console.log('| mutant | file | bug | test files | result | seconds |');
  console.log('|---|---|---|---|---|---|');
  const cell = (s) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  for (const { m, result, seconds } of results) console.log(`| ${m.id} | ${m.file} | ${cell(m.bug)} | ${m.tests.map((t) => t.replace(/^test\//, '')).join(', ')} | ${result} | ${seconds.toFixed(0)} |`);
} else {
  const w = Math.max(...results.map((r) => r.m.id.length), 6);
  console.log(`${'mutant'.padEnd(w)}  result    seconds  test files / detail`);
  for (const { m, result, seconds, detail } of results) {
    console.log(`${m.id.padEnd(w)}  ${result.padEnd(8)}  ${seconds.toFixed(0).padStart(7)}  ${m.tests.join(', ')}`);
    console.log(`${''.padEnd(w)}  ${''.padEnd(8)}  ${''.padStart(7)}  ${detail}`);
  }
}
console.log(`${caught} of ${results.length} mutants caught`);
if (caught === results.length) rmSync(work, { recursive: true, force: true });
else console.log(`logs in ${work}`);
process.exit(caught === results.length ? 0 : 1);
