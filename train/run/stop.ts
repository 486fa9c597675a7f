// Stopping a run part-way, on any platform: the signal the loop polls once per step (set by Ctrl-C in Node,
// train/run/signals.ts, or by a page's Pause button, studio/), and the error a long task (sampling) throws
// when it honours one.

/** Polled once per training step; when `requested`, the loop finishes the step, writes a checkpoint and stops. */
export interface StopSignal {
  requested: boolean;
  /** What asked for the stop (for messages), e.g. 'SIGINT'. */
  signal?: string;
}

/** Thrown where a long task (sampling) honours a StopSignal part-way; the caller reports what was kept. */
export class StopRequested extends Error {
  constructor(readonly signal: string | undefined, what: string) {
    super(`${signal ?? 'stop'}: ${what} interrupted`);
    this.name = 'StopRequested';
  }
}
