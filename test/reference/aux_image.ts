// Float64 references for the auxiliary-image ops (engine/ops/aux_image.ts): plain NHWC index loops.
import { type RefTensor, ref } from './tensor.js';

export function refQuantizeLevels(y: RefTensor, K: number): RefTensor {
  const c = 256 / K;
  return ref(y.shape, (i) => c * Math.floor(y.data[i]! / c));
}

export function refRoundPixels(x: RefTensor): RefTensor {
  return ref(x.shape, (i) => Math.min(255, Math.max(0, Math.floor(x.data[i]! + 0.5))));
}

/** BT.601 luma in exact integer arithmetic, floored to 16 levels, value 16 * level. */
export function refGray4(rgb: RefTensor): RefTensor {
  const [B, H, W] = rgb.shape as [number, number, number, number];
  const px = (v: number): number => Math.min(255, Math.max(0, Math.round(v)));
  return ref([B, H, W, 1], (p) => {
    const luma1000 = 299 * px(rgb.data[3 * p]!) + 587 * px(rgb.data[3 * p + 1]!) + 114 * px(rgb.data[3 * p + 2]!);
    return 16 * Math.floor(luma1000 / 16000);
  });
}

export function refAvgPool(x: RefTensor, f: number): RefTensor {
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const Ho = H / f;
  const Wo = W / f;
  const out = ref([B, Ho, Wo, C]);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < Ho; i++)
      for (let j = 0; j < Wo; j++)
        for (let c = 0; c < C; c++) {
          let s = 0;
          for (let di = 0; di < f; di++) for (let dj = 0; dj < f; dj++) s += x.data[((b * H + i * f + di) * W + j * f + dj) * C + c]!;
          out.data[((b * Ho + i) * Wo + j) * C + c] = s / (f * f);
        }
  return out;
}

/** vjp of refAvgPool: each input pixel gets g of its window / f^2. */
export function refAvgPoolVjp(xShape: number[], f: number, g: RefTensor): RefTensor {
  const [, H, W, C] = xShape as [number, number, number, number];
  const Ho = H / f;
  const Wo = W / f;
  return ref(xShape, (idx) => {
    const c = idx % C;
    const w = Math.floor(idx / C) % W;
    const h = Math.floor(idx / (C * W)) % H;
    const b = Math.floor(idx / (C * W * H));
    return g.data[((b * Ho + Math.floor(h / f)) * Wo + Math.floor(w / f)) * C + c]! / (f * f);
  });
}

export function refUpsampleNearest(x: RefTensor, f: number): RefTensor {
  const [B, H, W, C] = x.shape as [number, number, number, number];
  return ref([B, H * f, W * f, C], (idx) => {
    const c = idx % C;
    const w = Math.floor(idx / C) % (W * f);
    const h = Math.floor(idx / (C * W * f)) % (H * f);
    const b = Math.floor(idx / (C * W * f * H * f));
    return x.data[((b * H + Math.floor(h / f)) * W + Math.floor(w / f)) * C + c]!;
  });
}

/** vjp of refUpsampleNearest: the sum of g over each f x f block. */
export function refUpsampleNearestVjp(xShape: number[], f: number, g: RefTensor): RefTensor {
  const [B, H, W, C] = xShape as [number, number, number, number];
  const out = ref(xShape);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H * f; h++)
      for (let w = 0; w < W * f; w++)
        for (let c = 0; c < C; c++) out.data[((b * H + Math.floor(h / f)) * W + Math.floor(w / f)) * C + c] += g.data[((b * H * f + h) * W * f + w) * C + c]!;
  return out;
}
