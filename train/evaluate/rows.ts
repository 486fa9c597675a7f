// Labelled rows of images, the format of every grid and figure, platform-free: the rows (uint8 NHWC), the
// display of the VAE's output at the auxiliary image's resolution and levels, and the rows laid out as one
// labelled picture (upscaled for small images): a PNG in Node (train/evaluate/images.ts), a canvas in a page.
import type { Agave } from '../../model/agave.js';
import { imageGrid, type GridImage } from '../figures/grid.js';

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

/** One labelled row of images: `cols` images of size x size x channels, uint8 NHWC. */
export interface ImageRow {
  label: string;
  images: Uint8Array;
}

/** Labelled rows of images, as the grids show them (uint8 NHWC, `cols` images of size x size x channels per row). */
export interface ImageRows {
  size: number;
  channels: number;
  cols: number;
  rows: ImageRow[];
}

/** The rows laid out as one picture with their labels, upscaled for small images (4x up to 16 pixels, 2x up to 32). */
export function labelledGrid(rows: readonly ImageRow[], cols: number, size: number, c: number): GridImage {
  const f = size <= 16 ? 4 : size <= 32 ? 2 : 1;
  const one = size * size * c;
  const all = new Uint8Array(rows.length * cols * one);
  rows.forEach((r, i) => all.set(r.images.subarray(0, cols * one), i * cols * one));
  const s = size * f;
  return imageGrid(upscale(all, rows.length * cols, size, size, c, f), rows.length * cols, s, s, c, cols, 2 * f, rows.map((r) => r.label), { fontScale: 2 });
}
