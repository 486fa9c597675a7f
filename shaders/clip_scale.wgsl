// The global gradient norm and the clipping factor, from the partial sums of squares and non-finite counts that
// shaders/grad_stats.wgsl wrote per workgroup (pairs at even / odd indices of `partials`, unused pairs zero): one
// workgroup sums them and writes out[0] = min(1, max_norm / (norm + 1e-6)) (PyTorch's clip_grad_norm_) and
// out[1] = norm; both NaN when any gradient element is NaN or Inf (the update then shows it, as in PyTorch).
struct Params { count: u32, max_norm: f32, nan_bits: u32, _p0: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> sums: array<f32, 256>;
var<workgroup> bad: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  var b = 0.0;
  for (var k = lid; k < params.count; k += 256u) {
    s += partials[2u * k];
    b += partials[2u * k + 1u];
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
    if (bad[0] > 0.0) {
      out[0] = bitcast<f32>(params.nan_bits);
      out[1] = bitcast<f32>(params.nan_bits);
    } else {
      let norm = sqrt(sums[0]);
      out[0] = min(1.0, params.max_norm / (norm + 1e-6));
      out[1] = norm;
    }
  }
}
