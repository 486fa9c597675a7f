// Gradient health over a chunk of the gradient arena (engine/optim.ts gradientStats): a fixed grid of
// workgroups strides over the chunk; workgroup w writes out[out_offset + 2w] = sum of squares of the finite
// elements it saw and out[out_offset + 2w + 1] = how many were NaN/Inf. The CPU adds the partials in float64.
// Non-finite is tested on the bit pattern (exponent all ones): WGSL compilers may assume floats are finite,
// so x != x style tests can be optimised away.
struct Params { n: u32, out_offset: u32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> sums: array<f32, 256>;
var<workgroup> bad: array<u32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let w = wid.y * nwg.x + wid.x;
  let stride = nwg.x * nwg.y * 256u;
  var s = 0.0;
  var b = 0u;
  for (var i = w * 256u + lid; i < params.n; i += stride) {
    let x = g[i];
    if ((bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u) {
      b += 1u;
    } else {
      s += x * x;
    }
  }
  sums[lid] = s;
  bad[lid] = b;
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (lid < k) {
      sums[lid] += sums[lid + k];
      bad[lid] += bad[lid + k];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    out[params.out_offset + 2u * w] = sums[0];
    out[params.out_offset + 2u * w + 1u] = f32(bad[0]);
  }
}
