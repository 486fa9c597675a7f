// Backward of weight_norm.wgsl for every layer at once: from dL/dw (dw mirrors the parameter arena's layout),
// with u = m * v and n = ||u|| per output channel,
//   dL/dg = (dw . u) / n                         dL/dv = m * (g / n) * (dw - u * (dw . u) / n^2)
// both ACCUMULATED into the gradient arena (leaf gradients accumulate, engine/tape.ts), at v's and g's offsets.
// IN_PLACE: dL/dw was put in the gradient arena's V slots themselves (they held zeros: ParameterSet.gradsAreZero),
// so it is read there and replaced by dL/dv (dw is not read); dL/dg is still accumulated.
// Params, Channel, element() and the inputs table, v, mask come from weight_norm_lib.wgsl; workgroup_sum() from
// workgroup_reduce_lib.wgsl (both prepended by the engine).
@group(0) @binding(4) var<storage, read> dw: array<f32>;
@group(0) @binding(5) var<storage, read> norms: array<f32>;
@group(0) @binding(6) var<storage, read_write> grads: array<f32>;

override IN_PLACE: bool = false;

var<workgroup> scratch: array<f32, 64>;

fn dw_at(i: u32) -> f32 {
  if (IN_PLACE) { return grads[i]; }
  return dw[i];
}

fn mask_at(c: Channel, i: u32) -> f32 {
  if (c.has_mask != 0u) { return mask[i + c.mask_delta]; }
  return 1.0;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = wid.y * nwg.x + wid.x;
  if (k >= params.n_channels) { return; }
  let c = table[k];
  var dot = 0.0;
  for (var r = lid; r < c.r; r += 64u) {
    let i = element(c, r);
    dot += dw_at(i) * mask_at(c, i) * v[i];
  }
  workgroup_sum(lid, 32u, dot);
  let n = norms[k];
  let d = scratch[0];
  let g = v[c.g];
  let scale = g / n;
  let proj = d / (n * n);
  for (var r = lid; r < c.r; r += 64u) {
    let i = element(c, r);
    let m = mask_at(c, i);
    let d = m * scale * (dw_at(i) - m * v[i] * proj);
    if (IN_PLACE) { grads[i] = d; } else { grads[i] += d; }
  }
  if (lid == 0u) { grads[c.g] += d / n; }
}
