// Checkpoint container and atomic writes.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CheckpointError, decodeCheckpoint, encodeCheckpoint, loadCheckpoint, saveCheckpoint, writeFileAtomic,
} from '../../train/run/checkpoint-file.js';

const tmp = mkdtempSync(join(tmpdir(), 'agave-ckpt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function sample(): { meta: { step: number; config: { lr: number; name: string }; batchOrder: { seed: number; epoch: number; position: number } };
  arrays: Record<string, Float32Array> } {
  return {
    meta: { step: 1234, config: { lr: 2e-3, name: 'agave-cifar' }, batchOrder: { seed: 1, epoch: 3, position: 96 } },
    arrays: {
      'enc.conv0.w': new Float32Array(1001).map((_, i) => Math.sin(i) * 1e-3),
      'enc.conv0.b': new Float32Array([1.5, -0, Infinity, -Infinity, NaN, 3.4028234663852886e38, 1e-45]),
      empty: new Float32Array(0),
      'adam.m.enc.conv0.w': new Float32Array(3).fill(0.25),
    },
  };
}

function expectCkptError(fn: () => unknown, ...parts: string[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(CheckpointError);
  for (const p of parts) expect((err as Error).message).toContain(p);
}

describe('checkpoint container', () => {
  it('round-trips meta and arrays bit-exactly (NaN, infinities, -0, denormals)', () => {
    const c = sample();
    const buf = encodeCheckpoint(c);
    expect(buf.toString('latin1', 0, 8)).toBe('AGAVECKP');
    const d = decodeCheckpoint<ReturnType<typeof sample>['meta']>(buf);
    expect(d.meta).toEqual(c.meta);
    expect(Object.keys(d.arrays)).toEqual(Object.keys(c.arrays));
    for (const [k, v] of Object.entries(c.arrays)) {
      const got = d.arrays[k]!;
      expect(got).toBeInstanceOf(Float32Array);
      expect(new Uint32Array(got.buffer, got.byteOffset, got.length)).toEqual(new Uint32Array(v.buffer, v.byteOffset, v.length));
    }
  });

  it('encodes views at odd byte offsets and aligns the data section', () => {
    const backing = new Float32Array(10).map((_, i) => i);
    const view = backing.subarray(3, 8);
    const buf = encodeCheckpoint({ meta: {}, arrays: { v: view } });
    const headerLen = buf.readUInt32LE(12);
    expect((Math.ceil((24 + headerLen) / 8) * 8) % 4).toBe(0);
    expect([...decodeCheckpoint(buf).arrays.v!]).toEqual([3, 4, 5, 6, 7]);
  });

  it('rejects truncated files', () => {
    const buf = encodeCheckpoint(sample());
    expectCkptError(() => decodeCheckpoint(buf.subarray(0, buf.length - 1), 'x.ckpt'), 'x.ckpt', 'truncated');
    expectCkptError(() => decodeCheckpoint(buf.subarray(0, 10), 'x.ckpt'), 'truncated');
    expectCkptError(() => decodeCheckpoint(Buffer.concat([buf, Buffer.from([0])]), 'x.ckpt'), 'trailing');
  });

  it('rejects a flipped byte anywhere (CRC)', () => {
    const buf = encodeCheckpoint(sample());
    for (const at of [30, Math.floor(buf.length / 2), buf.length - 5, buf.length - 1]) {
      const bad = Buffer.from(buf);
      bad[at]! ^= 0x10;
      expectCkptError(() => decodeCheckpoint(bad, 'flip.ckpt'), 'flip.ckpt', 'checksum mismatch');
    }
  });

  it('rejects a wrong magic and an unknown version', () => {
    const buf = Buffer.from(encodeCheckpoint(sample()));
    const m = Buffer.from(buf);
    m.write('PK', 0, 'latin1');
    expectCkptError(() => decodeCheckpoint(m, 'zip.ckpt'), 'zip.ckpt', 'wrong magic', 'not an AGAVE checkpoint');
    const v = Buffer.from(buf);
    v.writeUInt32LE(99, 8);
    expectCkptError(() => decodeCheckpoint(v, 'v.ckpt'), 'unsupported checkpoint version 99');
  });

  it('rejects non-Float32Array arrays and non-serialisable meta', () => {
    expect(() => encodeCheckpoint({ meta: {}, arrays: { a: new Float64Array(2) as unknown as Float32Array } })).toThrow(/not a Float32Array/);
    expect(() => encodeCheckpoint({ meta: { n: 1n }, arrays: {} })).toThrow(/JSON-serialisable/);
  });
});

describe('saveCheckpoint / loadCheckpoint / writeFileAtomic', () => {
  it('saves and loads, replacing the previous file, leaving no temporary files', () => {
    const p = join(tmp, 'run', 'ckpt', 'latest.ckpt');
    saveCheckpoint(p, { meta: { step: 1 }, arrays: { w: new Float32Array([1, 2]) } });
    saveCheckpoint(p, { meta: { step: 2 }, arrays: { w: new Float32Array([3, 4]) } });
    const c = loadCheckpoint<{ step: number }>(p);
    expect(c.meta.step).toBe(2);
    expect([...c.arrays.w!]).toEqual([3, 4]);
    expect(readdirSync(join(tmp, 'run', 'ckpt'))).toEqual(['latest.ckpt']);
  });

  it('a missing checkpoint is a clear error', () => {
    expectCkptError(() => loadCheckpoint(join(tmp, 'missing.ckpt')), 'missing.ckpt', 'not found');
  });

  it('a failed write leaves the previous file intact and says so', () => {
    const p = join(tmp, 'keep.ckpt');
    saveCheckpoint(p, { meta: { step: 10 }, arrays: { w: new Float32Array([5]) } });
    const before = readFileSync(p);
    // Make the temporary path unusable: a directory where the temporary file would go.
    const tmpPath = `${p}.tmp-${process.pid}`;
    mkdirSync(tmpPath);
    try {
      expect(() => saveCheckpoint(p, { meta: { step: 11 }, arrays: { w: new Float32Array([6]) } }))
        .toThrow(/could not write .*keep\.ckpt.*previous file at .*keep\.ckpt is intact/);
    } finally {
      rmSync(tmpPath, { recursive: true });
    }
    expect(readFileSync(p).equals(before)).toBe(true);
    expect(loadCheckpoint<{ step: number }>(p).meta.step).toBe(10);
  });

  it('a failed rename removes the temporary file', () => {
    // The target is a non-empty directory: the temporary file is written, the rename fails, the temp is removed.
    const p = join(tmp, 'dir-target');
    mkdirSync(p);
    writeFileSync(join(p, 'x'), 'x');
    expect(() => writeFileAtomic(p, 'hello')).toThrow(/could not write .*dir-target/);
    expect(existsSync(`${p}.tmp-${process.pid}`)).toBe(false);
    expect(readFileSync(join(p, 'x'), 'utf8')).toBe('x');
  });

  it('writes strings as UTF-8', () => {
    const p = join(tmp, 'note.json');
    writeFileAtomic(p, '{"é":1}');
    expect(readFileSync(p, 'utf8')).toBe('{"é":1}');
  });
});
