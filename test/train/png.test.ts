// PNG encoder and image grid: decode our own PNGs with a tiny independent reader and compare pixels.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { crc32 } from '../../train/common/crc32.js';
import { encodePng, imageGrid, toUint8, writePngAtomic } from '../../train/figures/png.js';

/** Bitwise CRC-32 (no table), independent of the implementation under test. */
function crcRef(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

interface Decoded { width: number; height: number; channels: number; pixels: Uint8Array; chunks: string[] }

/** Minimal PNG reader: checks the signature and every CRC, inflates IDAT, undoes filter type 0 only. */
function decodePng(png: Uint8Array): Decoded {
  const b = Buffer.from(png);
  expect([...b.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let off = 8, width = 0, height = 0, channels = 0;
  const idat: Buffer[] = [];
  const chunks: string[] = [];
  while (off < b.length) {
    const len = b.readUInt32BE(off);
    const type = b.toString('latin1', off + 4, off + 8);
    const data = b.subarray(off + 8, off + 8 + len);
    expect(b.readUInt32BE(off + 8 + len), `CRC of ${type}`).toBe(crcRef(b.subarray(off + 4, off + 8 + len)));
    chunks.push(type);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect(data[8]).toBe(8);
      channels = ({ 0: 1, 2: 3, 6: 4 } as Record<number, number>)[data[9]!]!;
      expect([data[10], data[11], data[12]]).toEqual([0, 0, 0]);
    } else if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  expect(off).toBe(b.length);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  expect(raw.length).toBe((stride + 1) * height);
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (stride + 1)], 'filter type').toBe(0);
    pixels.set(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)), y * stride);
  }
  return { width, height, channels, pixels, chunks };
}

const tmp = mkdtempSync(join(tmpdir(), 'agave-png-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('crc32', () => {
  it('matches the standard check value and a bitwise reference', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    const data = new Uint8Array(1000).map((_, i) => (i * 31 + 7) & 255);
    expect(crc32(data)).toBe(crcRef(data));
    expect(crc32(data.subarray(500), crc32(data.subarray(0, 500)))).toBe(crcRef(data));
  });
});

describe('encodePng', () => {
  for (const channels of [1, 3, 4] as const) {
    it(`round-trips ${channels}-channel pixels (odd size 7x5)`, () => {
      const w = 7, h = 5;
      const px = new Uint8Array(w * h * channels).map((_, i) => (i * 37 + 11) & 255);
      const d = decodePng(encodePng(px, w, h, channels));
      expect([d.width, d.height, d.channels]).toEqual([w, h, channels]);
      expect(d.pixels).toEqual(px);
      expect(d.chunks).toEqual(['IHDR', 'IDAT', 'IEND']);
    });
  }

  it('rejects a wrong pixel count', () => {
    expect(() => encodePng(new Uint8Array(10), 2, 2, 3)).toThrow(/expected 2x2x3 = 12/);
  });

  it('writePngAtomic writes a readable file', () => {
    const p = join(tmp, 'sub', 'a.png');
    const px = new Uint8Array(3 * 2 * 3).fill(200);
    writePngAtomic(p, encodePng(px, 3, 2, 3));
    expect(decodePng(readFileSync(p)).pixels).toEqual(px);
  });
});

describe('imageGrid', () => {
  it('places RGB images with padding, row-major, and round-trips through PNG', () => {
    const n = 5, h = 3, w = 4, c = 3, cols = 3, pad = 2;
    const imgs = new Uint8Array(n * h * w * c).map((_, i) => 1 + (i % 250));
    const g = imageGrid(imgs, n, h, w, c, cols, pad);
    expect(g.channels).toBe(3);
    expect(g.width).toBe(pad + cols * (w + pad));
    expect(g.height).toBe(pad + 2 * (h + pad));
    for (let i = 0; i < n; i++) {
      const gx = pad + (i % cols) * (w + pad), gy = pad + Math.floor(i / cols) * (h + pad);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) {
        expect(g.pixels[((gy + y) * g.width + gx + x) * 3 + ch]).toBe(imgs[((i * h + y) * w + x) * c + ch]);
      }
    }
    // padding and the empty 6th cell are background
    expect(g.pixels[0]).toBe(0);
    const lastCell = ((pad + h + pad) * g.width + pad + 2 * (w + pad)) * 3;
    expect(g.pixels[lastCell]).toBe(0);
    const d = decodePng(encodePng(g.pixels, g.width, g.height, g.channels));
    expect(d.pixels).toEqual(g.pixels);
  });

  it('keeps grayscale gray, and expands it to RGB with a coloured background', () => {
    const imgs = new Uint8Array(2 * 2 * 2).map((_, i) => 10 * (i + 1));
    const g = imageGrid(imgs, 2, 2, 2, 1, 2, 1);
    expect(g.channels).toBe(1);
    expect(g.pixels[(1 * g.width + 1)]).toBe(10);
    const rgb = imageGrid(imgs, 2, 2, 2, 1, 2, 1, undefined, { background: [0, 0, 80] });
    expect(rgb.channels).toBe(3);
    const o = (1 * rgb.width + 1) * 3;
    expect([...rgb.pixels.subarray(o, o + 3)]).toEqual([10, 10, 10]);
    expect([...rgb.pixels.subarray(0, 3)]).toEqual([0, 0, 80]);
  });

  it('draws row labels in a left margin without touching the images', () => {
    const imgs = new Uint8Array(2 * 8 * 8 * 3).fill(100);
    const g = imageGrid(imgs, 2, 8, 8, 3, 1, 2, ['CAT', 'DOG 1']);
    const margin = 5 * 4 - 1 + 2;
    expect(g.width).toBe(margin + 2 + 8 + 2);
    let lit = 0;
    for (let y = 0; y < g.height; y++) for (let x = 0; x < margin; x++) if (g.pixels[(y * g.width + x) * 3] === 255) lit++;
    expect(lit).toBeGreaterThan(20);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) expect(g.pixels[((2 + y) * g.width + margin + 2 + x) * 3]).toBe(100);
  });

  it('toUint8 maps [-1, 1] to 0..255 with clamping', () => {
    expect([...toUint8(new Float32Array([-1, 0, 1, 2, -3, NaN]))]).toEqual([0, 128, 255, 255, 0, 0]);
    expect([...toUint8(new Float32Array([0, 0.5, 1]), 0, 1)]).toEqual([0, 128, 255]);
  });
});
