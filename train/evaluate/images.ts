// Labelled rows of images, the format of every grid and figure: written as one PNG (upscaled for small images)
// and saved beside it as JSON (base64 pixels), so experiments compose figures from finished runs; and the
// display of the VAE's output at the auxiliary image's resolution and levels.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Agave } from '../../model/agave.js';
import { encodePng, imageGrid, writePngAtomic } from '../figures/png.js';

/** Nearest-neighbour upscaling of `count` NHWC uint8 images by an integer factor (grids readable at a glance). */
export function upscale(images: Uint8Array, count: number, h: number, w: number, c: number, f: number): Uint8Array {
  if (f === 1) return images;
  const out = new Uint8Array(count * h * f * w * f * c);
  for (let n = 0; n < count; n++)
    for (let y = 0; y < h * f; y++)
      for (let x = 0; x < w * f; x++) {
        const s = ((n * h + Math.floor(y / f)) * w + Math.floor(x / f)) * c;
        const d = ((n * h * f + y) * w * f + x) * c;
        for (let ch = 0; ch < c; ch++) out[d + ch] = images[s + ch]!;
      }
  return out;
}

/** Aux-resolution / grayscale images (float 0..255) brought to size x size x c for display. */
export function auxToDisplay(v: Float32Array, count: number, model: Agave, size: number, c: number): Uint8Array {
  const a = model.auxSize;
  const ac = model.auxChannels;
  const out = new Uint8Array(count * size * size * c);
  const f = size / a;
  for (let n = 0; n < count; n++)
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        for (let ch = 0; ch < c; ch++) {
          const src = ((n * a + Math.floor(y / f)) * a + Math.floor(x / f)) * ac + (ac === 1 ? 0 : ch);
          out[((n * size + y) * size + x) * c + ch] = Math.max(0, Math.min(255, Math.round(v[src]!)));
        }
  return out;
}

/** Labelled rows of images, as the grids show them (uint8 NHWC, `cols` images of size x size x channels per row). */
export interface ImageRows {
  size: number;
  channels: number;
  cols: number;
  rows: { label: string; images: Uint8Array }[];
}

/** Saves rows beside their PNG as JSON (base64 pixels), so experiments can compose figures from finished runs. */
export function saveRows(path: string, r: ImageRows): void {
  const json = JSON.stringify({ ...r, rows: r.rows.map((x) => ({ label: x.label, images: Buffer.from(x.images).toString('base64') })) });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, json);
  renameSync(tmp, path);
}

export function loadRows(path: string): ImageRows {
  const j = JSON.parse(readFileSync(path, 'utf8')) as Omit<ImageRows, 'rows'> & { rows: { label: string; images: string }[] };
  return { ...j, rows: j.rows.map((x) => ({ label: x.label, images: new Uint8Array(Buffer.from(x.images, 'base64')) })) };
}

/** Writes rows of images (each row: `cols` images of size x size x c, uint8) with labels as one PNG, upscaled for small images. */
export function writeLabelledRows(path: string, rows: { label: string; images: Uint8Array }[], cols: number, size: number, c: number, jsonPath?: string): void {
  if (jsonPath) saveRows(jsonPath, { size, channels: c, cols, rows });
  const f = size <= 16 ? 4 : size <= 32 ? 2 : 1;
  const one = size * size * c;
  const all = new Uint8Array(rows.length * cols * one);
  rows.forEach((r, i) => all.set(r.images.subarray(0, cols * one), i * cols * one));
  const s = size * f;
  const g = imageGrid(upscale(all, rows.length * cols, size, size, c, f), rows.length * cols, s, s, c, cols, 2 * f, rows.map((r) => r.label), { fontScale: 2 });
  writePngAtomic(path, encodePng(g.pixels, g.width, g.height, g.channels));
}
