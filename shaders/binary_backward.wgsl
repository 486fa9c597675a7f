// Local gradients of binary.wgsl at the output shape: da[i] = g[i] * df/du, db[i] = g[i] * df/dv. The caller
// sums them over broadcast dimensions afterwards (ops/reduce.ts sumTo). maximum and minimum split ties 0.5/0.5.
// Params, OP, BROADCAST, the bindings a and b and operand_indices() come from binary_lib.wgsl; GROUP (4 on the
// same-shape path) and each_element() from elementwise_lib.wgsl (both prepended by the engine).
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> da: array<f32>;
@group(0) @binding(5) var<storage, read_write> db: array<f32>;

fn element(i: u32) {
  let o = operand_indices(i);
  let u = a[o.x];
  let v = b[o.y];
  let gi = g[i];
  var gu = 0.0;
  var gv = 0.0;
  switch OP {
    case BINARY_ADD: { gu = gi; gv = gi; }
    case BINARY_SUB: { gu = gi; gv = -gi; }
    case BINARY_MUL: { gu = gi * v; gv = gi * u; }
    case BINARY_DIV: { gu = gi / v; gv = -gi * u / (v * v); }
    case BINARY_MAXIMUM: {
      if (u > v) { gu = gi; } else if (v > u) { gv = gi; } else { gu = 0.5 * gi; gv = 0.5 * gi; }
    }
    case BINARY_MINIMUM: {
      if (u < v) { gu = gi; } else if (v < u) { gv = gi; } else { gu = 0.5 * gi; gv = 0.5 * gi; }
    }
    default: { }
  }
  da[i] = gu;
  db[i] = gv;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_element((wid.y * nwg.x + wid.x) * 256u + lid);
}
