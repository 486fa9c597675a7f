// Resuming a checkpoint on another number of data-parallel ranks than it was trained on (`--rescale-batch`):
// the per-rank batch that keeps its global batch, read from the checkpoint in Node; which settings may then
// differ from the checkpoint's is platform-free (train/distributed/rank-change.ts, re-exported here).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readCheckpointMeta } from '../run/checkpoint-file.js';
import { CHECKPOINT_FILE } from '../run/folder.js';
import type { TrainOptions } from '../types.js';

export { rankChangeAllowed } from './rank-change.js';

/**
 * The per-rank batch of a resume with `--rescale-batch global` and no --batch: the checkpoint's global batch
 * divided by the ranks (undefined: nothing to derive).
 */
export function rescaledBatch(o: TrainOptions, ranks: number): number | undefined {
  if (!o.resume || o.rescaleBatch !== 'global' || o.batch !== undefined) return undefined;
  const path = join(o.out, CHECKPOINT_FILE);
  if (!existsSync(path)) return undefined; // the resume reports the missing checkpoint
  const sig = readCheckpointMeta<{ signature: Record<string, unknown> }>(path).signature;
  const global = sig.batch as number;
  if (!Number.isInteger(global / ranks)) throw new Error(`--rescale-batch global: the checkpoint's global batch ${global} is not divisible by ${ranks} rank${ranks > 1 ? 's' : ''}`);
  return global / ranks;
}
