// Graceful stop for `node train.js`: the first SIGINT (Ctrl-C) or SIGTERM asks the training loop to finish the
// current step, write a checkpoint and stop (StopSignal, polled once per step); the CLI then exits with 130 / 143.
// A second signal exits at once with the same code: the last checkpoint written is intact (checkpoints are written
// to a temporary file and renamed, and the write is synchronous, so no signal lands in the middle of one).
import type { StopSignal } from './folder.js';

export interface GracefulStop extends StopSignal {
  /** Removes the handlers (tests, or before a normal exit). */
  dispose(): void;
}

/** The conventional exit status of a process stopped by `signal`: 128 + its number (SIGINT 130, SIGTERM 143). */
export function signalExitCode(signal: string | undefined): number {
  return signal === 'SIGTERM' ? 143 : signal === 'SIGHUP' ? 129 : signal === 'SIGUSR1' ? 138 : 130;
}

export function installGracefulStop(
  log: (line: string) => void = (l) => console.error(l),
  exit: (code: number) => void = (code) => process.exit(code),
  signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'],
): GracefulStop {
  const handler = (signal: NodeJS.Signals): void => {
    if (!stop.requested) {
      stop.requested = true;
      stop.signal = signal;
      log(`\n${signal}: finishing the current step, then writing a checkpoint and stopping ` +
        `(${signal === 'SIGINT' ? 'Ctrl-C' : signal} again exits at once; the last checkpoint stays intact)`);
      return;
    }
    log(`${signal} again: exiting now without a new checkpoint; the last checkpoint written is intact`);
    exit(signalExitCode(signal));
  };
  const stop: GracefulStop = {
    requested: false,
    dispose() {
      for (const s of signals) process.off(s, handler);
    },
  };
  for (const s of signals) process.on(s, handler);
  return stop;
}

/**
 * The command that continues a run: the original arguments without --out/--overwrite/--resume, then
 * `--resume --out DIR`.
 */
export function continueCommand(argv: readonly string[], out: string): string {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--overwrite' || a === '--resume' || a.startsWith('--out=')) continue;
    if (a === '--out') {
      i++;
      continue;
    }
    args.push(a);
  }
  const q = (s: string): string => (/^[\w./=:,+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return ['node', 'train.js', ...args, '--resume', '--out', out].map(q).join(' ');
}
