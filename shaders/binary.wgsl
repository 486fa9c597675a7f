// Elementwise binary ops with numpy broadcasting: out[i] = f(a[ia], b[ib]), where ia/ib come from the output
// coordinates through strides that are 0 on broadcast dimensions (operand_indices); the comparisons give 1.0 where
// the relation holds, else 0.0. Params, OP, BROADCAST, the bindings a and b and operand_indices() come from
// binary_lib.wgsl; GROUP (4 on the same-shape path) and each_element() from elementwise_lib.wgsl (both prepended by
// the engine).
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

fn apply(u: f32, v: f32) -> f32 {
  switch OP {
    case BINARY_ADD: { return u + v; }
    case BINARY_SUB: { return u - v; }
    case BINARY_MUL: { return u * v; }
    case BINARY_DIV: { return u / v; }
    case BINARY_MAXIMUM: { return max(u, v); }
    case BINARY_ADD_SCALED: { return u + params.s * v; }
    case BINARY_MINIMUM: { return min(u, v); }
    case BINARY_EQUAL: { return select(0.0, 1.0, u == v); }
    case BINARY_NOT_EQUAL: { return select(0.0, 1.0, u != v); }
    case BINARY_LESS: { return select(0.0, 1.0, u < v); }
    case BINARY_LESS_EQUAL: { return select(0.0, 1.0, u <= v); }
    case BINARY_GREATER: { return select(0.0, 1.0, u > v); }
    case BINARY_GREATER_EQUAL: { return select(0.0, 1.0, u >= v); }
    default: { return 0.0; }
  }
}

fn element(i: u32) {
  let o = operand_indices(i);
  y[i] = apply(a[o.x], b[o.y]);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_element((wid.y * nwg.x + wid.x) * 256u + lid);
}
