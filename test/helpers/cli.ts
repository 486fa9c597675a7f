// Runs the real CLI (train/cli.ts) as a child process: bundled once per test file with esbuild (as
// `npm run build` does) into .dev/cli-test/, where Node finds node_modules/webgpu by walking up.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { nodeBundle } from '../../esbuild.options.mjs';

export const REPO = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
let built: Promise<string> | null = null;

export function cliBundle(): Promise<string> {
  built ??= (async () => {
    const dir = join(REPO, '.dev', 'cli-test');
    mkdirSync(dir, { recursive: true });
    const outfile = join(dir, `train-${process.pid}.mjs`);
    await build({ ...nodeBundle, entryPoints: [join(REPO, 'train', 'cli.ts')], outfile, logLevel: 'warning' });
    process.on('exit', () => rmSync(outfile, { force: true }));
    return outfile;
  })();
  return built;
}

export interface CliRun {
  child: ChildProcess;
  /** stdout + stderr so far. */
  output: () => string;
  /** Resolves when `re` appears in the output (rejects if the process exits first). */
  waitFor: (re: RegExp) => Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
}

export interface CliOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
  /** Kill the process (SIGKILL) after this many ms: a hang ends the test with `timedOut` instead of stalling it. */
  timeoutMs?: number;
  /** A launcher that runs `node <bundle> args` (e.g. ['mpirun', '-np', '2']: the data-parallel tests). */
  launcher?: string[];
}

export async function startCli(args: string[], opts: CliOptions = {}): Promise<CliRun> {
  const bundle = await cliBundle();
  const command = opts.launcher ? [...opts.launcher, process.execPath, bundle, ...args] : [process.execPath, bundle, ...args];
  const child = spawn(command[0]!, command.slice(1), {
    cwd: opts.cwd ?? REPO,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
    ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
  });
  let out = '';
  let timedOut = false;
  const watchdog = opts.timeoutMs === undefined ? null : setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs);
  const waiters: { re: RegExp; resolve: () => void; reject: (e: Error) => void }[] = [];
  const check = (): void => {
    for (const w of [...waiters]) {
      if (w.re.test(out)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    check();
  });
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
    check();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((res) => {
    child.on('close', (code, signal) => {
      if (watchdog) clearTimeout(watchdog);
      if (timedOut) out += `\n[killed by the test after ${opts.timeoutMs} ms: the CLI did not end]`;
      for (const w of waiters.splice(0)) w.reject(new Error(`CLI exited (${code ?? signal}) before ${w.re} appeared; output:\n${out}`));
      res({ code, signal, output: out });
    });
  });
  return {
    child,
    output: () => out,
    waitFor: (re) =>
      new Promise<void>((res, rej) => {
        waiters.push({ re, resolve: res, reject: rej });
        check();
      }),
    exit,
  };
}

/** Runs the CLI to completion. */
export async function runCli(args: string[], opts: Parameters<typeof startCli>[1] = {}): Promise<{ code: number | null; output: string }> {
  const r = await startCli(args, opts);
  const e = await r.exit;
  return { code: e.code, output: e.output };
}
