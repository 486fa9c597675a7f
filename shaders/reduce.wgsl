// Reductions over any set of axes: sum, mean, max, logsumexp (OP 0..3). The input is seen as
// (kept axes) x (reduced axes) through strides, so no transpose is needed first.
// PER_THREAD=false: one 64-wide workgroup per output (long reductions; tree in workgroup memory).
// PER_THREAD=true: one invocation per output with a serial loop (many short reductions).
// logsumexp subtracts the maximum before exponentiating.
// ACCUMULATE=true adds the result to y instead of overwriting it (a gradient summed straight into a leaf's .grad).
// RANK_OUT and RANK_RED (pipeline constants, the ranks after engine/ops/reduce.ts merged neighbouring axes) fix
// the offset loops' trip counts, so they unroll and read the parameter arrays at constant indices.
// OP and strided_offset() come from reduce_lib.wgsl; workgroup_sum() and workgroup_max() from workgroup_reduce_lib.wgsl
// (both prepended by the engine).
struct Params {
  n_out: u32, n_red: u32, rank_out: u32, rank_red: u32,
  out_shape: array<vec4<u32>, 2>,
  out_strides: array<vec4<u32>, 2>,
  red_shape: array<vec4<u32>, 2>,
  red_strides: array<vec4<u32>, 2>,
}
override PER_THREAD: bool = false;
override ACCUMULATE: bool = false;
override RANK_OUT: u32;
override RANK_RED: u32;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

var<workgroup> scratch: array<f32, 64>;

fn base_offset(o: u32) -> u32 {
  return strided_offset(o, RANK_OUT, params.out_shape, params.out_strides);
}

fn red_offset(r: u32) -> u32 {
  return strided_offset(r, RANK_RED, params.red_shape, params.red_strides);
}

fn neg_inf() -> f32 { return -3.40282e38; }

fn store(o: u32, v: f32) {
  if (ACCUMULATE) { y[o] += v; } else { y[o] = v; }
}

fn finish(total: f32, m: f32) -> f32 {
  switch OP {
    case REDUCE_MEAN: { return total / f32(params.n_red); }
    case REDUCE_MAX: { return m; }
    case REDUCE_LOGSUMEXP: { return m + log(total); }
    default: { return total; }
  }
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let flat = wid.y * nwg.x + wid.x;
  if (PER_THREAD) {
    let o = flat * 64u + lid;
    if (o < params.n_out) {
      let base = base_offset(o);
      var m = neg_inf();
      if (OP >= REDUCE_MAX) {
        for (var r = 0u; r < params.n_red; r++) { m = max(m, x[base + red_offset(r)]); }
      }
      var total = 0.0;
      if (OP != REDUCE_MAX) {
        for (var r = 0u; r < params.n_red; r++) {
          let v = x[base + red_offset(r)];
          if (OP == REDUCE_LOGSUMEXP) { total += exp(v - m); } else { total += v; }
        }
      }
      store(o, finish(total, m));
    }
  } else {
    reduce_workgroup(flat, lid);
  }
}

// One workgroup per output; `o` is uniform across the workgroup, so the early exit keeps barriers uniform.
fn reduce_workgroup(o: u32, lid: u32) {
  if (o >= params.n_out) { return; }
  let base = base_offset(o);
  var m = neg_inf();
  if (OP >= REDUCE_MAX) {
    var local_max = neg_inf();
    for (var r = lid; r < params.n_red; r += 64u) { local_max = max(local_max, x[base + red_offset(r)]); }
    workgroup_max(lid, 32u, local_max);
    m = scratch[0];
    workgroupBarrier();
  }
  var total = 0.0;
  if (OP != REDUCE_MAX) {
    var local_sum = 0.0;
    for (var r = lid; r < params.n_red; r += 64u) {
      let v = x[base + red_offset(r)];
      if (OP == REDUCE_LOGSUMEXP) { local_sum += exp(v - m); } else { local_sum += v; }
    }
    workgroup_sum(lid, 32u, local_sum);
    total = scratch[0];
  }
  if (lid == 0u) { store(o, finish(total, m)); }
}
