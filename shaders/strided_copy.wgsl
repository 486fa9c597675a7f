// One gather/scatter kernel for every layout op (permute, transpose, slice, pad, concat pieces, broadcast
// expand): for each coordinate c of the iteration shape,
//   dst[dst_base + sum c_k*dst_stride_k] = (lo_k <= c_k < hi_k for all k) ? src[src_base + sum (c_k-lo_k)*src_stride_k] : fill
// so a newcomer reads one kernel instead of six. RANK (a pipeline constant, params.rank's value) gives the loop a
// fixed trip count, so the compiler unrolls it and reads the parameter arrays at constant indices; the engine
// merges dimensions first where it can (engine/ops/shape.ts coalesce), each costing a division per element.
struct Params {
  n: u32, rank: u32, src_base: u32, dst_base: u32,
  fill: f32, _p0: u32, _p1: u32, _p2: u32,
  shape: array<vec4<u32>, 2>,
  src_strides: array<vec4<u32>, 2>,
  dst_strides: array<vec4<u32>, 2>,
  lo: array<vec4<u32>, 2>,
  hi: array<vec4<u32>, 2>,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
// ACCUMULATE: dst += src inside the window (a slice's gradient added into its input's pending gradient).
override ACCUMULATE: bool = false;
// No default: a dispatch that does not give it fails at pipeline creation instead of reading past the rank.
override RANK: u32;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= params.n) { return; }
  var rem = i;
  var si = params.src_base;
  var di = params.dst_base;
  var inside = true;
  for (var d = 0u; d < RANK; d++) {
    let k = RANK - 1u - d;
    let extent = params.shape[k / 4u][k % 4u];
    let c = rem % extent;
    rem = rem / extent;
    let lo = params.lo[k / 4u][k % 4u];
    let hi = params.hi[k / 4u][k % 4u];
    if (c < lo || c >= hi) { inside = false; }
    si += (c - lo) * params.src_strides[k / 4u][k % 4u];
    di += c * params.dst_strides[k / 4u][k % 4u];
  }
  if (ACCUMULATE) { if (inside) { dst[di] += src[si]; } return; }
  if (inside) { dst[di] = src[si]; } else { dst[di] = params.fill; }
}
