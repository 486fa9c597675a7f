// Float64 reference of the in-place window write (engine/ops/window.ts): dst with src copied in at an offset.
// Independent index loops over multi-indices; imports nothing from engine/ or model/.
import { type RefTensor, ref, strides } from './tensor.js';

/** A copy of dst whose elements at starts + i (i a multi-index of src) are src[i]. */
export function refWriteWindow(dst: RefTensor, src: RefTensor, starts: readonly number[]): RefTensor {
  const out = ref(dst.shape, dst.data);
  const ds = strides(dst.shape);
  const rank = src.shape.length;
  const idx = new Array<number>(rank).fill(0);
  for (let flat = 0; flat < src.data.length; flat++) {
    let rem = flat;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d] = rem % src.shape[d]!;
      rem = Math.floor(rem / src.shape[d]!);
    }
    let o = 0;
    for (let d = 0; d < rank; d++) o += (starts[d]! + idx[d]!) * ds[d]!;
    out.data[o] = src.data[flat]!;
  }
  return out;
}
