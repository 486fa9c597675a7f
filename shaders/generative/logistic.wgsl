// K-level discretized logistic log-likelihood, forward (engine/ops/logistic.ts; docs/MODEL.md §1.3, §3.7).
// Per element (IAF units): k = min(floor(y / c), K - 1), c = 256 / K, lower = k * c / 256 - 0.5, width = c / 256,
// a = (lower - mu) / s, b = (lower + width - mu) / s, s = exp(log_scale[ch]),
// log p = log(sigmoid(b) - sigmoid(a) + 1e-7); TAILS: a = -inf in bin 0, b = +inf in bin K-1.
// The CDF difference never subtracts two sigmoids: with d = width / s,
//   sigmoid(b) - sigmoid(a) = exp(-m) * (1 - exp(-d)) / ((1 + exp(-|a|)) (1 + exp(-|b|))),
//   m = a if a >= 0, -b if b <= 0, else 0 (exact for every sign pattern; 1 - exp(-d) via an accurate expm1).
// Grid: (chunk, image). Each workgroup sums the log-likelihood of CHUNK = T * ITEMS elements of one image, with
// T = floor(256 / C) * C n_active threads (so a thread always sees the same channel); one partial per workgroup.
struct Params { n_per_image: u32, channels: u32, n_active: u32, chunks: u32, levels: u32, cw: f32, _p0: u32, _p1: u32 }
override TAILS: bool = false;
const ITEMS: u32 = 8u;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> mean: array<f32>;
@group(0) @binding(2) var<storage, read> log_scale: array<f32>;
@group(0) @binding(3) var<storage, read> pixels: array<f32>;
@group(0) @binding(4) var<storage, read_write> partial: array<f32>;

var<workgroup> scratch: array<f32, 256>;


// log1p_, expm1_, sigmoid_, softplus_ and tanh_ come from math_lib.wgsl (prepended by the engine).

// log(D + 1e-7), D = the probability mass of the bin. Where D > 1/2 (only possible when the bin straddles
// the mean, or for a tail bin) it is log1p(1e-7 - Q) with the complement Q = 1 - D = sigmoid(a) + sigmoid(-b)
// formed directly, so log p near 0 keeps its relative accuracy.
fn log_bin_mass(yv: f32, mu: f32, inv_s: f32) -> f32 {
  let kmax = params.levels - 1u;
  let k = min(u32(max(floor(yv / (256.0 * params.cw)), 0.0)), kmax);
  let lower = f32(k) * params.cw - 0.5;
  let a = (lower - mu) * inv_s;
  let b = (lower + params.cw - mu) * inv_s;
  let lo_inf = TAILS && k == 0u;
  let hi_inf = TAILS && k == kmax;
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
  let chunk = wid.x;
  let img = wid.y;
  let n = params.n_per_image;
  let t = params.n_active;
  var acc = 0.0;
  if (lid < t) {
    let ch = lid % params.channels;
    let inv_s = exp(-log_scale[ch]);
    let start = chunk * t * ITEMS + lid;
    for (var it = 0u; it < ITEMS; it++) {
      let j = start + it * t;
      if (j < n) {
        let e = img * n + j;
        acc += log_bin_mass(pixels[e], mean[e], inv_s);
      }
    }
  }
  scratch[lid] = acc;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (lid < s) { scratch[lid] = scratch[lid] + scratch[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) { partial[img * params.chunks + chunk] = scratch[0]; }
}
