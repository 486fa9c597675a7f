// Labelled rows of images in Node: written as one PNG (train/evaluate/rows.ts lays them out) and saved beside it
// as JSON (base64 pixels), so experiments compose figures from finished runs.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { encodePng, writePngAtomic } from '../figures/png.js';
import { labelledGrid, type ImageRows } from './rows.js';

export { auxToDisplay, labelledGrid, upscale, type ImageRow, type ImageRows } from './rows.js';

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
  const g = labelledGrid(rows, cols, size, c);
  writePngAtomic(path, encodePng(g.pixels, g.width, g.height, g.channels));
}
