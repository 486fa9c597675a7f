// Weight normalisation of every weight-normed layer at once (engine/weight_norm.ts): one workgroup per output
// channel of any layer, w = g * (m * v) / ||m * v|| over the channel's R elements, where m is the layer's
// autoregressive mask (1 where the layer has none). The channel table describes where a channel's elements lie
// in the parameter arena: element r is at v0 + (r / inner) * outer_stride + (r % inner) (cout-last weights:
// inner 1, outer_stride Cout; transposed-conv weights [KH, KW, Cout, Cin]: inner Cin, outer_stride Cout * Cin).
// w mirrors the parameter arena's layout, so a layer's effective weight is a window at its V's offset. The
// norm of each channel is kept for the backward pass (weight_norm_backward.wgsl).
// Params, Channel, element() and the inputs table, v, mask come from weight_norm_lib.wgsl; workgroup_sum() from
// workgroup_reduce_lib.wgsl (both prepended by the engine).
@group(0) @binding(4) var<storage, read_write> w: array<f32>;
@group(0) @binding(5) var<storage, read_write> norms: array<f32>;

var<workgroup> scratch: array<f32, 64>;

fn masked(c: Channel, i: u32) -> f32 {
  if (c.has_mask != 0u) { return v[i] * mask[i + c.mask_delta]; }
  return v[i];
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = wid.y * nwg.x + wid.x;
  if (k >= params.n_channels) { return; }
  let c = table[k];
  var ss = 0.0;
  for (var r = lid; r < c.r; r += 64u) {
    let x = masked(c, element(c, r));
    ss += x * x;
  }
  workgroup_sum(lid, 32u, ss);
  let norm = sqrt(scratch[0]);
  let scale = v[c.g] / norm;
  for (var r = lid; r < c.r; r += 64u) {
    let i = element(c, r);
    w[i] = scale * masked(c, i);
  }
  if (lid == 0u) { norms[k] = norm; }
}
