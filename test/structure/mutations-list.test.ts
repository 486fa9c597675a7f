// The mutation trial's list (test/mutations.json, run by scripts/mutations.mjs) stays plantable: every entry's
// original text stands exactly once in its file, and the tests named for it exist. A refactor that moves the code
// an entry names would otherwise leave the entry "not applicable" until the next trial (four entries pointed at
// train/step/setup.ts after the run's setup moved to train/step/run.ts). No GPU: it only reads files.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.js';

interface Mutant {
  id: string;
  file: string;
  original: string;
  tests: string[];
}

const MUTANTS = JSON.parse(readFileSync(join(REPO, 'test/mutations.json'), 'utf8')) as Mutant[];

describe('the mutation list (test/mutations.json)', () => {
  it('has entries', () => expect(MUTANTS.length).toBeGreaterThan(0));
  for (const m of MUTANTS) {
    it(`${m.id}: its original text stands once in ${m.file}, its tests exist`, () => {
      expect(existsSync(join(REPO, m.file)), `${m.id}: ${m.file} does not exist`).toBe(true);
      const count = readFileSync(join(REPO, m.file), 'utf8').split(m.original).length - 1;
      expect(count, `${m.id}: the original ${JSON.stringify(m.original)} stands ${count} times in ${m.file} (must be once)`).toBe(1);
      for (const t of m.tests) expect(existsSync(join(REPO, t)), `${m.id}: test file ${t} does not exist`).toBe(true);
    });
  }
});
