// An experiment's folder and the runs in it, held to the same rules as a training run's folder
// (train/run/folder.ts): the --out path is checked before anything is created (pseudo-filesystems, read-only
// folders and dangling links are refused at once, naming the cause), the folder is locked for the experiment's
// duration, a folder holding another experiment is refused, and --overwrite moves everything aside into
// OUT/replaced-<time>/. experiment.json records which experiment, with which command and settings, the folder
// holds.
//
// A run in the folder is reused only when it is the run this command asks for: its checkpoint's settings
// signature (model kind, config, image size, recipe, aux image, levels, lambda, drop point, ...) and data
// fingerprint equal the command's, it is not past the command's step target, and, when it is finished, its
// final evaluation used the command's test images. Otherwise the refusal names the first difference and the
// ways out; results from other settings never reach a results table. A run stopped before its first
// checkpoint has nothing to resume: it is started again, its files moved aside.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/files.js';
import { readCheckpointMeta } from '../run/checkpoint-file.js';
import { validateCheckpointMeta } from '../run/checkpoint-state.js';
import { readMetrics } from '../figures/curves.js';
import { describeData, sameData, type DataFingerprint } from '../data/fingerprint.js';
import {
  acquireLock, CHECKPOINT_FILE, existingRun, LOCK_FILE, METRICS_FILE, moveIntoReplaced, newLockInfo, prepareOut, removeCreated, RunFolder,
  RunFolderError,
} from '../run/folder.js';
import { signatureDiffs } from '../step/setup.js';

export const EXPERIMENT_FILE = 'experiment.json';

/** What experiment.json records. */
export interface ExperimentRecord {
  experiment: string;
  preset: string;
  /** The arguments after `node train.js` that reproduce the experiment. */
  command: string[];
  /** The data the runs train on (none for a figure drawn from finished runs). */
  data?: DataFingerprint;
}

type Logger = (line: string) => void;

function readRecord(path: string): Partial<ExperimentRecord> | null {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    return typeof v === 'object' && v !== null ? (v as Partial<ExperimentRecord>) : null;
  } catch {
    return null;
  }
}

/** The experiment a results.md from before experiment.json names in its title, if any. */
function resultsExperiment(dir: string): string | null {
  try {
    return /^# Experiment `([^`]+)`/.exec(readFileSync(join(dir, 'results.md'), 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

function waysOut(out: string): string {
  return `To keep it and run this command: another --out. To start afresh in ${out}: add --overwrite (everything in it is moved into ${join(out, 'replaced-<time>')}/, not deleted).`;
}

/**
 * Opens OUT for experiment `record.experiment`: checked, created, locked; a folder that holds a training run or
 * another experiment is refused; --overwrite moves its entries aside. The caller checks the runs in it
 * (runState), then writes experiment.json (recordExperiment), and releases the folder (its lock) at the end.
 */
export function openExperimentFolder(out: string, record: ExperimentRecord, overwrite: boolean, log: Logger): RunFolder {
  const { dir, created } = prepareOut(out);
  const info = newLockInfo();
  let lockPath: string;
  try {
    lockPath = acquireLock(dir, out, info, log);
  } catch (e) {
    removeCreated(created);
    throw e;
  }
  const folder = new RunFolder(dir, lockPath, info, created);
  try {
    const entries = readdirSync(dir).filter((n) => n !== LOCK_FILE && !n.startsWith('replaced-') && !n.startsWith(`${LOCK_FILE}.`));
    if (overwrite) {
      if (entries.length) {
        const to = moveIntoReplaced(dir, entries);
        log(`--overwrite: moved the earlier experiment's ${entries.length} entries to ${to}`);
      }
    } else {
      const run = existingRun(dir);
      if (run !== null) throw new RunFolderError(`--out ${out} holds a training run (${run.text}), not an experiment. ${waysOut(out)}`);
      const other = readRecord(join(dir, EXPERIMENT_FILE))?.experiment ?? resultsExperiment(dir);
      if (other != null && other !== record.experiment) {
        throw new RunFolderError(`--out ${out} holds the experiment '${other}', not '${record.experiment}'. ${waysOut(out)}`);
      }
    }
  } catch (e) {
    folder.abandon();
    throw e;
  }
  return folder;
}

/** Writes OUT/experiment.json: what the folder holds, once the command's runs are known to belong in it. */
export function recordExperiment(folder: RunFolder, record: ExperimentRecord): void {
  writeFileAtomic(join(folder.dir, EXPERIMENT_FILE), JSON.stringify(record, null, 1) + '\n');
}

/** What the command asks of one run of the experiment. */
export interface RunWanted {
  /** The run's folder and its name in messages. */
  dir: string;
  name: string;
  signature: Record<string, unknown>;
  data: DataFingerprint;
  steps: number;
  /** Test images of each evaluation (the --eval-images the run is evaluated with, capped by the test set). */
  evalImages: number;
  /** The experiment folder (for the ways out). */
  out: string;
}

/**
 * What to do with a run's folder: 'new' (nothing there), 'restart' (stopped before its first checkpoint: its
 * files go aside), 'resume' (a checkpoint of this very run, before the target), 'done' (finished with these
 * settings); or a refusal (RunFolderError) naming the first difference.
 */
export function runState(w: RunWanted): { state: 'new' | 'restart' | 'resume' | 'done'; step: number } {
  const existing = existingRun(w.dir);
  if (existing === null) return { state: 'new', step: 0 };
  const ck = join(w.dir, CHECKPOINT_FILE);
  if (existing.checkpointStep === null) return { state: 'restart', step: 0 };
  const refuse = (why: string): never => {
    throw new RunFolderError(`${w.dir} ${why}. Its results would not belong to this command's table. To reuse it: the command recorded in ${join(w.out, 'results.md')} (or ${join(w.out, EXPERIMENT_FILE)}). ${waysOut(w.out)}`);
  };
  if (existing.checkpointStep === 'unreadable') refuse(`holds a checkpoint that cannot be read or is not valid (${ck})`);
  let meta;
  try {
    meta = validateCheckpointMeta(readCheckpointMeta(ck), ck);
  } catch (e) {
    return refuse(`holds a checkpoint that cannot be read or is not valid (${(e as Error).message})`);
  }
  const diffs = signatureDiffs(w.signature, { kind: 'agave', ...meta.signature }, meta.step);
  if (diffs.length) {
    const k = diffs[0]!;
    const more = diffs.length > 1 ? ` (and ${diffs.slice(1).join(', ')})` : '';
    refuse(`was trained with other settings: ${k} is ${JSON.stringify(meta.signature[k] ?? null)} there and ${JSON.stringify(w.signature[k] ?? null)} in this command${more}`);
  }
  if (meta.data === undefined) refuse('records no data fingerprint (a checkpoint from an older version), so its data cannot be checked');
  if (!sameData(meta.data!, w.data)) refuse(`was trained on other data: ${describeData(meta.data!)}; this command's data: ${describeData(w.data)}`);
  if (meta.step > w.steps) refuse(`is trained to step ${meta.step}; this command asks for ${w.steps} step${w.steps === 1 ? '' : 's'} (--steps)`);
  if (meta.step < w.steps) return { state: 'resume', step: meta.step };
  const last = readMetrics(join(w.dir, METRICS_FILE)).filter((r) => r.type === 'eval').at(-1);
  if (!last || last.step !== meta.step) refuse(`has no evaluation at its last step ${meta.step} in ${METRICS_FILE}`);
  if (last!.images !== w.evalImages) refuse(`was evaluated on ${String(last!.images)} test images; this command asks for ${w.evalImages} (--eval-images)`);
  return { state: 'done', step: meta.step };
}

/** True when `dir` has a checkpoint (any step). */
export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, CHECKPOINT_FILE));
}
