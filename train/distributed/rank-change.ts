// The resume check of the number of data-parallel ranks (`--rescale-batch`), platform-free: the run's setup
// (train/step/run.ts) calls it wherever a run is opened. Run signatures record the global batch as `batch` and,
// for N > 1, the number of ranks.
import type { RescaleBatch } from './types.js';

/**
 * The resume check of the number of ranks (run signature `ranks`, absent = 1; `batch` is the global batch):
 * the keys a resume may see differ, or an error that names --rescale-batch and what each choice does.
 */
export function rankChangeAllowed(checkpoint: Record<string, unknown>, now: Record<string, unknown>, rescale: RescaleBatch | undefined): string[] {
  const ckRanks = typeof checkpoint.ranks === 'number' ? checkpoint.ranks : 1;
  const nowRanks = typeof now.ranks === 'number' ? now.ranks : 1;
  if (ckRanks === nowRanks) return [];
  const ckBatch = checkpoint.batch as number;
  const perRank = ckBatch / ckRanks;
  if (rescale === undefined) {
    const keep = Number.isInteger(ckBatch / nowRanks) ? `--rescale-batch global (keep the global batch ${ckBatch}: batch ${ckBatch / nowRanks} per rank; the run continues as it would have)` : `--rescale-batch global (needs a number of ranks dividing the global batch ${ckBatch})`;
    throw new Error(
      `--resume: the checkpoint was trained on ${ckRanks} rank${ckRanks > 1 ? 's' : ''} x batch ${perRank} (global batch ${ckBatch}); this run has ${nowRanks}. ` +
        `Say how to rescale: ${keep}, or --rescale-batch per-rank (keep batch ${perRank} per rank: global batch ${perRank * nowRanks} from here on, another recipe)`,
    );
  }
  if (rescale === 'global') {
    if (now.batch !== ckBatch) throw new Error(`--rescale-batch global keeps the checkpoint's global batch ${ckBatch}: with ${nowRanks} rank${nowRanks > 1 ? 's' : ''} that is --batch ${ckBatch / nowRanks}${Number.isInteger(ckBatch / nowRanks) ? '' : ' (not an integer: choose a number of ranks dividing it)'}, got a global batch of ${String(now.batch)}`);
    return ['ranks'];
  }
  return ['ranks', 'batch'];
}
