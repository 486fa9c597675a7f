// What a run's checkpoint holds (CheckpointMeta) and the checks it passes before anything trusts it. The
// container (train/run/checkpoint-format.ts) proves the bytes are the ones written (CRC); these checks prove the content
// is a state a run can continue from: a whole-number step, the settings, the data order, parameter names and
// shapes that agree with the arrays' lengths, and finite parameters, EMA and Adamax state. A checkpoint that
// fails is refused naming what is wrong: it is never resumed, nor later called "the last good checkpoint".
import type { Checkpoint } from './checkpoint-format.js';
import type { BatchOrderState } from '../data/datasets.js';
import type { DataFingerprint } from '../data/fingerprint.js';
import type { LossScaleState } from '../step/loss-scale.js';

export interface CheckpointMeta {
  version: 1;
  step: number;
  /** The settings a resume must match (train/step/setup.ts runSignature). */
  signature: Record<string, unknown>;
  order: BatchOrderState;
  names: string[];
  shapes: number[][];
  hasEma: boolean;
  hasState: boolean;
  /** The data the run trains on (train/data/fingerprint.ts); absent in checkpoints from before it. */
  data?: DataFingerprint;
  /** --precision mixed: the dynamic loss scale's state (train/step/loss-scale.ts), validated when restored. */
  lossScale?: LossScaleState;
}

/** A checkpoint whose bytes are intact but whose content is not a usable run state. */
export class InvalidCheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidCheckpointError';
  }
}

const isWhole = (v: unknown, min = 0): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The step of a checkpoint's metadata, validated (a whole number >= 0). */
export function checkpointStepOf(meta: Record<string, unknown>, path: string): number {
  if (!isWhole(meta.step)) throw new InvalidCheckpointError(`${path}: its step is ${JSON.stringify(meta.step) ?? 'missing'}, not a whole number >= 0`);
  return meta.step;
}

/** Checks the header fields of a run's checkpoint (everything but the arrays); returns it typed. */
export function validateCheckpointMeta(meta: unknown, path: string): CheckpointMeta {
  if (!isRecord(meta)) throw new InvalidCheckpointError(`${path}: its metadata is not an object`);
  if (meta.version !== 1) throw new InvalidCheckpointError(`${path}: its metadata version is ${JSON.stringify(meta.version)}, this program reads version 1`);
  checkpointStepOf(meta, path);
  if (!isRecord(meta.signature)) throw new InvalidCheckpointError(`${path}: its run settings (signature) are missing`);
  const order = meta.order;
  if (!isRecord(order) || !isWhole(order.epoch) || !isWhole(order.position) || typeof order.seed !== 'number' || !Number.isFinite(order.seed)) {
    throw new InvalidCheckpointError(`${path}: its data order ${JSON.stringify(order)} is not {seed, epoch, position} with whole numbers`);
  }
  if (!Array.isArray(meta.names) || !meta.names.every((n) => typeof n === 'string')) throw new InvalidCheckpointError(`${path}: its parameter names are missing or not a list of strings`);
  if (!Array.isArray(meta.shapes) || meta.shapes.length !== meta.names.length || !meta.shapes.every((s) => Array.isArray(s) && s.every((d) => isWhole(d, 1)))) {
    throw new InvalidCheckpointError(`${path}: its parameter shapes are missing, not lists of positive whole numbers, or not one per name`);
  }
  if (typeof meta.hasEma !== 'boolean' || typeof meta.hasState !== 'boolean') throw new InvalidCheckpointError(`${path}: hasEma / hasState are not true or false`);
  if (meta.data !== undefined && (!isRecord(meta.data) || typeof meta.data.sha256 !== 'string')) throw new InvalidCheckpointError(`${path}: its data fingerprint is malformed`);
  const ls = meta.lossScale;
  if (ls !== undefined && !(isRecord(ls) && typeof ls.scale === 'number' && Number.isFinite(ls.scale) && ls.scale >= 1 && isWhole(ls.goodSteps) && isWhole(ls.skipped))) {
    throw new InvalidCheckpointError(`${path}: its loss scale state ${JSON.stringify(ls)} is not {scale >= 1, goodSteps, skipped}`);
  }
  return meta as unknown as CheckpointMeta;
}

const ARRAY_WORDS: Record<string, string> = { params: 'parameters', ema: 'EMA', v: 'Adamax state v', u: 'Adamax state u' };

/**
 * The whole checkpoint of a run: the header (validateCheckpointMeta), then each array the header promises
 * (parameters; EMA with hasEma; Adamax v and u with hasState) has the length the shapes need and only finite
 * values. The first non-finite value is named by parameter and element.
 */
export function validateRunCheckpoint(ck: Checkpoint<unknown>, path: string): Checkpoint<CheckpointMeta> {
  const meta = validateCheckpointMeta(ck.meta, path);
  const sizes = meta.shapes.map((s) => s.reduce((a, b) => a * b, 1));
  const total = sizes.reduce((a, b) => a + b, 0);
  const wanted = ['params', ...(meta.hasEma ? ['ema'] : []), ...(meta.hasState ? ['v', 'u'] : [])];
  for (const name of wanted) {
    const a = ck.arrays[name];
    const what = ARRAY_WORDS[name]!;
    const hold = what.endsWith('s') ? 'hold' : 'holds';
    if (!a) throw new InvalidCheckpointError(`${path}: its ${what} are missing`);
    if (a.length !== total) throw new InvalidCheckpointError(`${path}: its ${what} ${hold} ${a.length} values, its parameter shapes need ${total}`);
    for (let i = 0; i < a.length; i++) {
      if (Number.isFinite(a[i]!)) continue;
      let p = 0;
      let at = i;
      while (at >= sizes[p]!) at -= sizes[p++]!;
      throw new InvalidCheckpointError(`${path}: its ${what} ${hold} ${a[i]} at '${meta.names[p]}'[${at}]: not a usable state (a resume or evaluation from it would be meaningless)`);
    }
  }
  return ck as Checkpoint<CheckpointMeta>;
}
