// Units of the training logs, platform-free (Node's CLI and a page show the same numbers): durations for
// progress lines and ETAs, and negative log-likelihoods as bits per dimension.

/**
 * A compact duration: '12s' (under a minute; one decimal below 10 s, e.g. '2.5s'), '3m05s' (under an hour),
 * '1h02m' (an hour or more), '?' for a negative or non-finite value.
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 9.95) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  const m = Math.round(seconds / 60);
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Negative log-likelihood in nats over `dims` dimensions, as bits per dimension: nats / (dims * ln 2). */
export function bitsPerDim(nats: number, dims: number): number {
  return nats / (dims * Math.LN2);
}
