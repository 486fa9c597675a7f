// Drawing on the page: labelled rows of images on a canvas, laid out by the code that lays out the CLI's PNG
// grids (train/evaluate/rows.ts labelledGrid: the same pixels), and the curves' SVG counted for automation.
import type { GridImage } from '../../train/figures/grid.js';
import { labelledGrid, type ImageRows } from '../../train/evaluate/rows.js';

/** Puts a grid image (gray or RGB) on `canvas` at its own size (CSS scales it, pixelated). */
export function drawGridImage(canvas: HTMLCanvasElement, g: GridImage): void {
  canvas.width = g.width;
  canvas.height = g.height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas context');
  const rgba = new Uint8ClampedArray(g.width * g.height * 4);
  for (let i = 0, n = g.width * g.height; i < n; i++) {
    const s = i * g.channels;
    rgba[4 * i] = g.pixels[s]!;
    rgba[4 * i + 1] = g.pixels[g.channels === 1 ? s : s + 1]!;
    rgba[4 * i + 2] = g.pixels[g.channels === 1 ? s : s + 2]!;
    rgba[4 * i + 3] = 255;
  }
  ctx.putImageData(new ImageData(rgba, g.width, g.height), 0, 0);
}

/** Draws labelled rows as the CLI's PNG grids show them. */
export function drawRows(canvas: HTMLCanvasElement, rows: ImageRows): void {
  drawGridImage(canvas, labelledGrid(rows.rows, rows.cols, rows.size, rows.channels));
}

/** One image of a row (column `col`) large on `canvas`, nearest-neighbour, `scale` screen pixels per pixel. */
export function drawOne(canvas: HTMLCanvasElement, rows: ImageRows, col: number, scale: number): void {
  const { size: S, channels: C } = rows;
  const one = S * S * C;
  const pick = rows.rows.map((r) => ({ label: r.label, images: r.images.subarray(col * one, (col + 1) * one) }));
  const g = labelledGrid(pick, 1, S, C);
  drawGridImage(canvas, g);
  canvas.style.width = `${g.width * Math.max(1, Math.round(scale / (S <= 16 ? 4 : S <= 32 ? 2 : 1)))}px`;
}

/** How many points the first series of the first panel of a curves SVG draws (its path's M and L commands). */
export function firstSeriesPoints(svg: Element): number {
  const path = svg.querySelector('g path');
  const d = path?.getAttribute('d') ?? '';
  return (d.match(/[ML]/g) ?? []).length;
}
