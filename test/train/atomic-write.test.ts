// What makes a checkpoint write durable, asserted call by call (train/common/files.ts writeFileAtomic): the data
// goes into a temporary file, which is fsynced before it is closed and renamed over the target, and the folder is
// fsynced after the rename. Why: without the fsync a crash shortly after the rename can leave an empty or partial
// file under the checkpoint's name (the rename reaches the disk before the data); no end-to-end test sees that, so
// the fs calls are recorded here (node:fs wrapped: every call still does the real thing). Also: a failing fsync
// leaves the previous file and no temporary file behind.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadCheckpoint, saveCheckpoint, writeFileAtomic } from '../../train/run/checkpoint-file.js';

const recorded = vi.hoisted(() => ({ calls: [] as { fn: string; args: unknown[]; result?: unknown }[], failFsync: null as string | null }));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const wrap = <K extends 'openSync' | 'writeSync' | 'fsyncSync' | 'closeSync' | 'renameSync' | 'unlinkSync'>(fn: K): (typeof fs)[K] =>
    ((...args: unknown[]) => {
      const entry: { fn: string; args: unknown[]; result?: unknown } = { fn, args };
      recorded.calls.push(entry);
      if (fn === 'fsyncSync' && recorded.failFsync !== null) throw Object.assign(new Error(`${recorded.failFsync}: fsync failed`), { code: recorded.failFsync });
      entry.result = (fs[fn] as (...a: unknown[]) => unknown)(...args);
      return entry.result;
    }) as (typeof fs)[K];
  const mocked = { ...fs, openSync: wrap('openSync'), writeSync: wrap('writeSync'), fsyncSync: wrap('fsyncSync'), closeSync: wrap('closeSync'), renameSync: wrap('renameSync'), unlinkSync: wrap('unlinkSync') };
  return { ...mocked, default: mocked };
});

const tmp = mkdtempSync(join(tmpdir(), 'agave-atomic-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

beforeEach(() => {
  recorded.calls.length = 0;
  recorded.failFsync = null;
});

/** The recorded calls as 'fn(arg0)' with file descriptors named by the path they were opened on. */
function trace(): string[] {
  const fdPath = new Map<unknown, string>();
  const out: string[] = [];
  for (const c of recorded.calls) {
    if (c.fn === 'openSync') {
      fdPath.set(c.result, String(c.args[0]));
      out.push(`open ${String(c.args[0])} ${String(c.args[1])}`);
    } else if (c.fn === 'renameSync') out.push(`rename ${String(c.args[0])} -> ${String(c.args[1])}`);
    else if (c.fn === 'unlinkSync') out.push(`unlink ${String(c.args[0])}`);
    else out.push(`${c.fn.replace(/Sync$/, '')} ${fdPath.get(c.args[0]) ?? `fd ${String(c.args[0])}`}`);
  }
  return out;
}

describe('writeFileAtomic: the durable write, call by call', () => {
  it('writes a temporary file, fsyncs it before closing and renaming it over the target, then fsyncs the folder', () => {
    const target = resolve(join(tmp, 'a', 'checkpoint.agave'));
    const temp = `${target}.tmp-${process.pid}`;
    writeFileAtomic(target, 'first');
    recorded.calls.length = 0;
    writeFileAtomic(target, 'second version');
    expect(readFileSync(target, 'utf8')).toBe('second version');
    expect(trace()).toEqual([
      `open ${temp} w`,
      `write ${temp}`,
      `fsync ${temp}`,
      `close ${temp}`,
      `rename ${temp} -> ${target}`,
      `open ${dirname(target)} r`,
      `fsync ${dirname(target)}`,
      `close ${dirname(target)}`,
    ]);
  });

  it('saveCheckpoint goes through it: the checkpoint bytes are fsynced before the rename makes them the checkpoint', () => {
    const target = resolve(join(tmp, 'ck', 'checkpoint.agave'));
    saveCheckpoint(target, { meta: { step: 3 }, arrays: { params: new Float32Array([1, 2, 3]) } }, { requireFinite: true });
    const t = trace();
    const at = (line: string): number => {
      const i = t.indexOf(line);
      expect(i, `${line} in ${JSON.stringify(t)}`).toBeGreaterThanOrEqual(0);
      return i;
    };
    const temp = `${target}.tmp-${process.pid}`;
    expect(at(`fsync ${temp}`)).toBeGreaterThan(at(`write ${temp}`));
    expect(at(`close ${temp}`)).toBeGreaterThan(at(`fsync ${temp}`));
    expect(at(`rename ${temp} -> ${target}`)).toBeGreaterThan(at(`close ${temp}`));
    expect(at(`fsync ${dirname(target)}`)).toBeGreaterThan(at(`rename ${temp} -> ${target}`));
    expect(loadCheckpoint<{ step: number }>(target).meta.step).toBe(3);
  });

  it('a failing fsync (EIO) renames nothing: the previous file is intact, the temporary file removed, the error says so', () => {
    const target = resolve(join(tmp, 'keep.agave'));
    writeFileSync(target, 'previous');
    recorded.calls.length = 0;
    recorded.failFsync = 'EIO';
    expect(() => writeFileAtomic(target, 'new')).toThrow(/could not write .*keep\.agave \(EIO: input\/output error; temporary .*\); the previous file at .*keep\.agave is intact/);
    expect(trace().filter((l) => l.startsWith('rename')), 'no rename after a failed fsync').toEqual([]);
    expect(readFileSync(target, 'utf8')).toBe('previous');
    expect(readdirSync(tmp).filter((f) => f.startsWith('keep.agave.tmp-')), 'the temporary file is removed').toEqual([]);
  });
});
