// Declarations the forward reduction kernels share (reduce.wgsl, reduce_subgroup.wgsl), prepended to each after
// reduce_lib.wgsl by the engine (engine/kernels.ts DECLARATION_LIBS: the family `reduce`; reduce_backward is its
// own family and gets only reduce_lib.wgsl). The input x is (kept axes) x (reduced axes) through strides, so no
// transpose is needed first; y holds one value per output. ACCUMULATE=true adds the result to y instead of
// overwriting it (a gradient summed straight into a leaf's .grad). RANK_OUT and RANK_RED (pipeline constants,
// the ranks after engine/ops/reduce.ts merged neighbouring axes) fix the offset loops' trip counts, so they
// unroll and read the parameter arrays at constant indices.
struct Params {
  n_out: u32, n_red: u32, rank_out: u32, rank_red: u32,
  out_shape: array<vec4<u32>, 2>,
  out_strides: array<vec4<u32>, 2>,
  red_shape: array<vec4<u32>, 2>,
  red_strides: array<vec4<u32>, 2>,
}
override ACCUMULATE: bool = false;
override RANK_OUT: u32;
override RANK_RED: u32;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// The offset of output o's first input element, and of reduced element r from it.
fn base_offset(o: u32) -> u32 {
  return strided_offset(o, RANK_OUT, params.out_shape, params.out_strides);
}

fn red_offset(r: u32) -> u32 {
  return strided_offset(r, RANK_RED, params.red_shape, params.red_strides);
}

fn neg_inf() -> f32 { return -3.40282e38; }

// Reduced elements start, start + step, ... of output o (whose first element is at base): their maximum, and their
// sum (of exp(v - m) for logsumexp, m the output's maximum). One invocation per output walks all (0, 1); one
// workgroup per output gives each invocation every 64th (lid, 64).
fn max_from(base: u32, start: u32, step: u32) -> f32 {
  var m = neg_inf();
  for (var r = start; r < params.n_red; r += step) { m = max(m, x[base + red_offset(r)]); }
  return m;
}

fn sum_from(base: u32, start: u32, step: u32, m: f32) -> f32 {
  var total = 0.0;
  for (var r = start; r < params.n_red; r += step) {
    let v = x[base + red_offset(r)];
    if (OP == REDUCE_LOGSUMEXP) { total += exp(v - m); } else { total += v; }
  }
  return total;
}

// Output o's value from its sum and maximum, written (or added, ACCUMULATE) to y.
fn store_result(o: u32, total: f32, m: f32) {
  var result = total;
  switch OP {
    case REDUCE_MEAN: { result = total / f32(params.n_red); }
    case REDUCE_MAX: { result = m; }
    case REDUCE_LOGSUMEXP: { result = m + log(total); }
    default: {}
  }
  if (ACCUMULATE) { y[o] += result; } else { y[o] = result; }
}
