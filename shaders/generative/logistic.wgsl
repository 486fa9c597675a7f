// K-level discretized logistic log-likelihood, forward (engine/ops/logistic.ts; docs/MODEL.md §1.3, §3.7).
// Per element (IAF units): k = min(floor(y / c), K - 1), c = 256 / K, lower = k * c / 256 - 0.5, width = c / 256,
// a = (lower - mu) / s, b = (lower + width - mu) / s, s = exp(log_scale[ch]),
// log p = log(sigmoid(b) - sigmoid(a) + 1e-7); TAILS: a = -inf in bin 0, b = +inf in bin K-1.
// The CDF difference never subtracts two sigmoids: with d = width / s,
//   sigmoid(b) - sigmoid(a) = exp(-m) * (1 - exp(-d)) / ((1 + exp(-|a|)) (1 + exp(-|b|))),
//   m = a if a >= 0, -b if b <= 0, else 0 (exact for every sign pattern; 1 - exp(-d) via an accurate expm1).
// Each workgroup of the (chunk, image) grid sums the log-likelihood of its chunk's elements: one partial per workgroup.
// Params, TAILS, mean, log_scale, pixels and bin_of() come from logistic_lib.wgsl; ITEMS and chunk_of() from
// image_chunks_lib.wgsl; workgroup_sum() from workgroup_reduce_lib.wgsl; log1p_, expm1_ and sigmoid_ from
// math_lib.wgsl (all prepended by the engine).
@group(0) @binding(4) var<storage, read_write> partial: array<f32>;

var<workgroup> scratch: array<f32, 256>;

// log(D + 1e-7), D = the probability mass of the bin. Where D > 1/2 (only possible when the bin straddles
// the mean, or for a tail bin) it is log1p(1e-7 - Q) with the complement Q = 1 - D = sigmoid(a) + sigmoid(-b)
// formed directly, so log p near 0 keeps its relative accuracy.
fn log_bin_mass(yv: f32, mu: f32, inv_s: f32) -> f32 {
  let bin = bin_of(yv, mu, inv_s);
  let a = bin.a;
  let b = bin.b;
  let lo_inf = bin.lo_inf;
  let hi_inf = bin.hi_inf;
  var D = 1.0;
  var Q = 0.0;
  if (lo_inf && hi_inf) {
    D = 1.0;
    Q = 0.0;
  } else if (lo_inf) {
    D = sigmoid_(b);
    Q = sigmoid_(-b);
  } else if (hi_inf) {
    D = sigmoid_(-a);
    Q = sigmoid_(a);
  } else {
    let d = params.cw * inv_s;
    let ea = exp(-abs(a));
    let eb = exp(-abs(b));
    var pre = 1.0;
    if (a >= 0.0) { pre = ea; } else if (b <= 0.0) { pre = eb; }
    D = pre * (-expm1_(-d)) / ((1.0 + ea) * (1.0 + eb));
    Q = sigmoid_(a) + sigmoid_(-b);
  }
  if (D > 0.5) { return log1p_(1e-7 - Q); }
  return log(D + 1e-7);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = chunk_of(wid, lid);
  var acc = 0.0;
  if (lid < k.t) {
    let inv_s = exp(-log_scale[lid % params.channels]);
    for (var it = 0u; it < ITEMS; it++) {
      let j = k.start + it * k.t;
      if (j < k.n) {
        let e = k.img * k.n + j;
        acc += log_bin_mass(pixels[e], mean[e], inv_s);
      }
    }
  }
  workgroup_sum(lid, 128u, acc);
  if (lid == 0u) { partial[k.slot] = scratch[0]; }
}
