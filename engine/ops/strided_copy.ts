// The one entry to the layout kernel (shaders/strided_copy.wgsl), shared by the layout ops (engine/ops/shape.ts)
// and the sampler's window write (engine/ops/window.ts); internal to the op layer (not re-exported by ops/index.ts).
import { KERNELS } from '../kernels.js';
import { type Tensor, shapeSize } from '../tensor.js';

export interface CopySpec {
  shape: readonly number[];
  srcStrides: readonly number[];
  dstStrides: readonly number[];
  lo?: readonly number[];
  hi?: readonly number[];
  srcBase?: number;
  dstBase?: number;
  fill?: number;
  /** dst += src inside the window; outside it dst is left alone. */
  accumulate?: boolean;
}

/** dst (some elements of it) = src gathered by `spec` (shaders/strided_copy.wgsl); the one entry to that kernel. */
export function stridedCopy(src: Tensor, dst: Tensor, spec: CopySpec, label: string): void {
  const n = shapeSize(spec.shape);
  if (n === 0) return;
  const c = coalesce(spec);
  const rank = c.shape.length;
  src.engine.dispatch({
    kernel: KERNELS.strided_copy,
    overrides: { ACCUMULATE: spec.accumulate ?? false, RANK: rank },
    params: {
      n,
      rank,
      src_base: spec.srcBase ?? 0,
      dst_base: spec.dstBase ?? 0,
      fill: spec.fill ?? 0,
      shape: c.shape,
      src_strides: c.srcStrides,
      dst_strides: c.dstStrides,
      lo: c.lo,
      hi: c.hi,
    },
    inputs: { src },
    outputs: { dst },
    workgroups: Math.ceil(n / 256),
    label,
  });
}

/**
 * The same copy over fewer dimensions: neighbours k, k + 1 merge when both are contiguous with each other in the
 * source and the destination and the window covers all of dimension k + 1 (a shift of [B, H, W, C] along H
 * becomes [B, H, W C]). Each dimension costs the kernel an integer division per element, so this pays.
 */
export function coalesce(spec: CopySpec): { shape: number[]; srcStrides: number[]; dstStrides: number[]; lo: number[]; hi: number[] } {
  const rank = spec.shape.length;
  const lo = spec.lo ?? new Array<number>(rank).fill(0);
  const hi = spec.hi ?? spec.shape;
  const out = { shape: [spec.shape[0]!], srcStrides: [spec.srcStrides[0]!], dstStrides: [spec.dstStrides[0]!], lo: [lo[0]!], hi: [hi[0]!] };
  for (let k = 1; k < rank; k++) {
    const last = out.shape.length - 1;
    const extent = spec.shape[k]!;
    const full = lo[k] === 0 && hi[k]! >= extent;
    const contiguous = out.srcStrides[last] === extent * spec.srcStrides[k]! && out.dstStrides[last] === extent * spec.dstStrides[k]!;
    if (full && contiguous) {
      // outer dim `last` (window [lo, hi)) and inner dim k (all of it) merge: the window scales by the extent.
      out.shape[last] = out.shape[last]! * extent;
      out.lo[last] = out.lo[last]! * extent;
      out.hi[last] = Math.min(out.hi[last]!, out.shape[last]! / extent) * extent;
      out.srcStrides[last] = spec.srcStrides[k]!;
      out.dstStrides[last] = spec.dstStrides[k]!;
    } else {
      out.shape.push(extent);
      out.srcStrides.push(spec.srcStrides[k]!);
      out.dstStrides.push(spec.dstStrides[k]!);
      out.lo.push(lo[k]!);
      out.hi.push(hi[k]!);
    }
  }
  return out;
}
