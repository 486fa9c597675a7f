// Backward of concat_elu (+ optional fused dropout), engine/ops/gated.ts. With x viewed as [rows, C] and the
// output gradient g as [rows, 2C]:
//   dx[r, c] = g[r, c] m0 scale elu'(x) - g[r, C + c] m1 scale elu'(-x),   elu'(a) = 1 (a > 0), exp(a) (a <= 0)
// The dropout masks m0, m1 are regenerated from the Philox counter exactly as in concat_elu.wgsl (kind 2).
// With PAIR the gradients of x and x2 go to dx and dx2. NEGATIVE=false: the forward was elu(x) only (g is [..., C]).
// Params, DROPOUT, PAIR, NEGATIVE, x, x2, input() and keep() come from concat_elu_lib.wgsl; GROUP and
// each_row_element() from elementwise_rows_lib.wgsl (with GROUP 4, c and c1 are multiples of 4), both prepended by
// the engine.
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx2: array<f32>;
// ACCUMULATE, ACCUMULATE2: dx (dx2) += the gradient (a pending gradient of x (x2) the tape lets this kernel add to).
override ACCUMULATE: bool = false;
override ACCUMULATE2: bool = false;

fn row_element(i: u32, r: u32, c: u32) {
  let o = i + r * c;
  let j = i - r * c;
  let a = input(i, r, c);
  var g0 = 0.0;
  var g1 = 0.0;
  if (NEGATIVE) {
    g0 = g[o];
    g1 = g[o + c];
  } else {
    g0 = g[i];
  }
  if (DROPOUT) {
    g0 = select(0.0, g0 * params.scale, keep(o));
    g1 = select(0.0, g1 * params.scale, keep(o + c));
  }
  // elu'(a) = exp(a) for a <= 0, elu'(-a) = exp(-a) for a >= 0: both are exp(-|a|) where they apply, one exp.
  let t = exp(-abs(a));
  let d0 = select(1.0, t, a <= 0.0);
  let d1 = select(1.0, t, a >= 0.0);
  let d = g0 * d0 - g1 * d1;
  if (PAIR && j >= params.c1) {
    let k2 = r * (c - params.c1) + j - params.c1;
    if (ACCUMULATE2) { dx2[k2] += d; } else { dx2[k2] = d; }
  } else {
    var kx = i;
    if (PAIR) { kx = r * params.c1 + j; }
    if (ACCUMULATE) { dx[kx] += d; } else { dx[kx] = d; }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_row_element((wid.y * nwg.x + wid.x) * 256u + lid, params.c);
}
