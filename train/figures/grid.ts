// Image grids, platform-free: NHWC uint8 batches laid out in rows with optional row labels drawn in a tiny
// built-in 3x5 pixel font (a run's PNG grids in Node, train/figures/png.ts; the same pixels on a page's canvas).
// The font: upper-case letters, digits, a little punctuation; lower case is drawn upper case.

const GLYPHS: Record<string, string> = {
  A: '.#. #.# ### #.# #.#', B: '##. #.# ##. #.# ##.', C: '.## #.. #.. #.. .##', D: '##. #.# #.# #.# ##.',
  E: '### #.. ##. #.. ###', F: '### #.. ##. #.. #..', G: '.## #.. #.# #.# .##', H: '#.# #.# ### #.# #.#',
  I: '### .#. .#. .#. ###', J: '..# ..# ..# #.# .#.', K: '#.# #.# ##. #.# #.#', L: '#.. #.. #.. #.. ###',
  M: '#.# ### ### #.# #.#', N: '##. #.# #.# #.# #.#', O: '.#. #.# #.# #.# .#.', P: '##. #.# ##. #.. #..',
  Q: '.#. #.# #.# ##. .##', R: '##. #.# ##. #.# #.#', S: '.## #.. .#. ..# ##.', T: '### .#. .#. .#. .#.',
  U: '#.# #.# #.# #.# ###', V: '#.# #.# #.# #.# .#.', W: '#.# #.# ### ### #.#', X: '#.# #.# .#. #.# #.#',
  Y: '#.# #.# .#. .#. .#.', Z: '### ..# .#. #.. ###',
  '0': '### #.# #.# #.# ###', '1': '.#. ##. .#. .#. ###', '2': '##. ..# .#. #.. ###', '3': '##. ..# .#. ..# ##.',
  '4': '#.# #.# ### ..# ..#', '5': '### #.. ##. ..# ##.', '6': '.## #.. ### #.# ###', '7': '### ..# .#. .#. .#.',
  '8': '### #.# ### #.# ###', '9': '### #.# ### ..# ##.',
  ' ': '... ... ... ... ...', '-': '... ... ### ... ...', '.': '... ... ... ... .#.', ':': '... .#. ... .#. ...',
  '/': '..# ..# .#. #.. #..', '_': '... ... ... ... ###', '=': '... ### ... ### ...', '+': '... .#. ### .#. ...',
  '(': '.#. #.. #.. #.. .#.', ')': '.#. ..# ..# ..# .#.', ',': '... ... ... .#. #..', "'": '.#. .#. ... ... ...',
  '?': '##. ..# .#. ... .#.', '%': '#.# ..# .#. #.. #.#', '|': '.#. .#. .#. .#. .#.', '<': '..# .#. #.. .#. ..#',
  '>': '#.. .#. ..# .#. #..',
};

/** 3x5 bitmap of a character (15 booleans, row-major); unknown characters give a filled block. */
function glyph(ch: string): boolean[] {
  const g = GLYPHS[ch.toUpperCase()] ?? '### ### ### ### ###';
  return [...g.replaceAll(' ', '')].map((c) => c === '#');
}

export const FONT_WIDTH = 3;
export const FONT_HEIGHT = 5;

/** A grid image as built by imageGrid. */
export interface GridImage {
  pixels: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

export interface GridOptions {
  /** Background (padding) colour: a gray level or an RGB triple (an RGB colour makes a grayscale grid RGB). Default 0. */
  background?: number | [number, number, number];
  /** Label text colour, gray level or RGB. Default 255. */
  foreground?: number | [number, number, number];
  /** Integer scale of the label font (default 1: 3x5 pixels per character). */
  fontScale?: number;
}

function rgb(c: number | [number, number, number]): [number, number, number] {
  return typeof c === 'number' ? [c, c, c] : c;
}

/**
 * Lays `count` NHWC uint8 images (h x w x c, c = 1, 3 or 4; alpha is dropped) out in a grid of `cols` columns
 * with `pad` pixels of background around and between them. `rowLabels[r]`, when given, is drawn left of row r in
 * a 3x5 pixel font (a left margin is added). Output is grayscale when the images and colours are all gray,
 * RGB otherwise.
 */
export function imageGrid(images: Uint8Array, count: number, h: number, w: number, c: number, cols: number, pad = 2,
  rowLabels?: string[], options: GridOptions = {}): GridImage {
  if (![1, 3, 4].includes(c)) throw new RangeError(`imageGrid: channels must be 1, 3 or 4, got ${c}`);
  if (count < 1 || cols < 1 || h < 1 || w < 1 || pad < 0) throw new RangeError(`imageGrid: bad arguments (count ${count}, cols ${cols}, ${h}x${w}, pad ${pad})`);
  if (images.length < count * h * w * c) throw new RangeError(`imageGrid: ${images.length} bytes, need ${count}x${h}x${w}x${c}`);
  const bg = rgb(options.background ?? 0), fg = rgb(options.foreground ?? 255);
  const gray = (v: [number, number, number]): boolean => v[0] === v[1] && v[1] === v[2];
  const outC: 1 | 3 = c === 1 && gray(bg) && gray(fg) ? 1 : 3;
  const ncols = Math.min(cols, count);
  const nrows = Math.ceil(count / cols);
  const scale = Math.max(1, Math.floor(options.fontScale ?? 1));
  let margin = 0;
  if (rowLabels && rowLabels.length > 0) {
    const longest = Math.max(...rowLabels.map((s) => s.length));
    margin = longest > 0 ? longest * (FONT_WIDTH + 1) * scale - scale + pad : 0;
  }
  const width = margin + pad + ncols * (w + pad);
  const height = pad + nrows * (h + pad);
  const pixels = new Uint8Array(width * height * outC);
  const put = (x: number, y: number, v: [number, number, number]): void => {
    const o = (y * width + x) * outC;
    if (outC === 1) pixels[o] = v[0];
    else {
      pixels[o] = v[0];
      pixels[o + 1] = v[1];
      pixels[o + 2] = v[2];
    }
  };
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) put(x, y, bg);
  for (let i = 0; i < count; i++) {
    const gx = margin + pad + (i % cols) * (w + pad);
    const gy = pad + Math.floor(i / cols) * (h + pad);
    const base = i * h * w * c;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const s = base + (y * w + x) * c;
        const o = ((gy + y) * width + gx + x) * outC;
        if (outC === 1) pixels[o] = images[s]!;
        else if (c === 1) pixels[o] = pixels[o + 1] = pixels[o + 2] = images[s]!;
        else {
          pixels[o] = images[s]!;
          pixels[o + 1] = images[s + 1]!;
          pixels[o + 2] = images[s + 2]!;
        }
      }
    }
  }
  if (rowLabels) {
    for (let r = 0; r < Math.min(nrows, rowLabels.length); r++) {
      const text = rowLabels[r]!;
      const ty = pad + r * (h + pad) + Math.max(0, Math.floor((h - FONT_HEIGHT * scale) / 2));
      for (let k = 0; k < text.length; k++) {
        const bits = glyph(text[k]!);
        const tx = k * (FONT_WIDTH + 1) * scale;
        for (let gy = 0; gy < FONT_HEIGHT; gy++) {
          for (let gx = 0; gx < FONT_WIDTH; gx++) {
            if (!bits[gy * FONT_WIDTH + gx]) continue;
            for (let sy = 0; sy < scale; sy++) {
              for (let sx = 0; sx < scale; sx++) {
                const x = tx + gx * scale + sx, y = ty + gy * scale + sy;
                if (x < margin && y < height) put(x, y, fg);
              }
            }
          }
        }
      }
    }
  }
  return { pixels, width, height, channels: outC };
}

/**
 * Converts float pixels to uint8: maps [lo, hi] linearly onto 0..255, rounding and clamping (NaN gives 0).
 * Defaults to the model's [-1, 1] image range.
 */
export function toUint8(x: Float32Array, lo = -1, hi = 1): Uint8Array {
  const out = new Uint8Array(x.length);
  const k = 255 / (hi - lo);
  for (let i = 0; i < x.length; i++) {
    const v = Math.round((x[i]! - lo) * k);
    out[i] = Number.isNaN(v) ? 0 : v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}
