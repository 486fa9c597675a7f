// The Node side of the studio test (test/studio/run.mjs bundles and runs it): opens a checkpoint the page saved
// with the code of `node train.js` (put in a run folder as checkpoint.agave, resumed with the settings it
// records, on the bundled sample) and evaluates it on the same test images as the page's last evaluation.
// Prints the evaluation record as JSON on its last line.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluate } from '../../train/evaluate/evaluate.js';
import { CHECKPOINT_FILE } from '../../train/run/folder.js';
import { optionsOfCheckpoint, setupRun } from '../../train/step/setup.js';

const file = process.argv[2];
if (!file) throw new Error('usage: evaluate-checkpoint FILE.agave');
const dir = mkdtempSync(join(tmpdir(), 'agave-studio-eval-'));
try {
  copyFileSync(file, join(dir, CHECKPOINT_FILE));
  const run = await setupRun({ ...optionsOfCheckpoint(dir), evalImages: 96 }, (line) => console.error(line));
  try {
    const rec = await evaluate(run, run.startStep, (line) => console.error(line), { iw: 1, pixelcnnRecon: 0 });
    console.log(JSON.stringify({ ...rec, webgpu: run.engine.description }));
  } finally {
    run.dispose();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
