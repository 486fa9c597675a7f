// Backward of shaders/logistic.wgsl: with g[b] = dL/d(loglik[b]) and D = sigmoid(b) - sigmoid(a),
//   dlogp/dmu = D / (D + 1e-7) * t / s,  t = sigmoid(a) + sigmoid(b) - 1 = sigmoid(a) - sigmoid(-b)
//   dlogp/dlog_s = D / (D + 1e-7) * (a * t - d * sigmoid'(b) / D)   where |a| <= |b|,
//                = D / (D + 1e-7) * (b * t - d * sigmoid'(a) / D)   elsewhere (b = a + d)
// (exact rewrites of (dD/dtheta) / (D + 1e-7) without the cancelling difference sigmoid'(a) - sigmoid'(b);
// sigmoid'(.) / D is formed from the same exp(-|.|) factors as D so it is finite for tiny scales). The form
// follows the smaller of |a|, |b|: the other cancels there (at b = 0, a = -d: a t = d sigmoid'(b) / D = d / 2,
// a true value ~ -2 d e^-d lost entirely, found by the per-element test in test/kernels/logistic.test.ts).
// Tails: bin 0 -> log sigmoid(b): (-sigmoid(-b) / s, -b sigmoid(-b)); bin K-1 -> log sigmoid(-a):
// (sigmoid(a) / s, a sigmoid(a)). Writes dmean per element and, per workgroup, one partial d(log_scale) per
// channel (same grid and thread->channel mapping as the forward; summed over partials by the caller).
// Params, TAILS, mean, log_scale, pixels and bin_of() come from logistic_lib.wgsl; ITEMS and chunk_of() from
// image_chunks_lib.wgsl; channel_sum() from workgroup_reduce_lib.wgsl; expm1_ and sigmoid_ from math_lib.wgsl (all
// prepended by the engine).
@group(0) @binding(4) var<storage, read> g: array<f32>;
@group(0) @binding(5) var<storage, read_write> dmean: array<f32>;
@group(0) @binding(6) var<storage, read_write> partial: array<f32>;

var<workgroup> scratch: array<f32, 256>;

// (dlogp/dmu, dlogp/dlog_s) of one element.
fn grads(yv: f32, mu: f32, inv_s: f32) -> vec2<f32> {
  let bin = bin_of(yv, mu, inv_s);
  let a = bin.a;
  let b = bin.b;
  let lo_inf = bin.lo_inf;
  let hi_inf = bin.hi_inf;
  if (lo_inf && hi_inf) { return vec2<f32>(0.0, 0.0); }
  if (lo_inf) {
    let D = sigmoid_(b);
    let w = D / (D + 1e-7);
    let q = sigmoid_(-b);
    return w * vec2<f32>(-q * inv_s, -b * q);
  }
  if (hi_inf) {
    let D = sigmoid_(-a);
    let w = D / (D + 1e-7);
    let q = sigmoid_(a);
    return w * vec2<f32>(q * inv_s, a * q);
  }
  let d = params.cw * inv_s;
  let ea = exp(-abs(a));
  let eb = exp(-abs(b));
  var pre = 1.0;
  var qb = eb; // exp(m - |b|)
  var qa = ea; // exp(m - |a|)
  if (a >= 0.0) { pre = ea; qb = exp(-d); qa = 1.0; } else if (b <= 0.0) { pre = eb; qb = 1.0; qa = exp(-d); }
  let one_m = max(-expm1_(-d), 1e-30);
  let D = pre * one_m / ((1.0 + ea) * (1.0 + eb));
  let w = D / (D + 1e-7);
  let t = sigmoid_(a) - sigmoid_(-b); // = sigmoid(a) + sigmoid(b) - 1 without the cancellation
  if (abs(a) <= abs(b)) {
    let rb = qb * (1.0 + ea) / ((1.0 + eb) * one_m); // sigmoid'(b) / D
    return w * vec2<f32>(t * inv_s, a * t - d * rb);
  }
  let ra = qa * (1.0 + eb) / ((1.0 + ea) * one_m); // sigmoid'(a) / D
  return w * vec2<f32>(t * inv_s, b * t - d * ra);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = chunk_of(wid, lid);
  let c = params.channels;
  var acc = 0.0;
  if (lid < k.t) {
    let inv_s = exp(-log_scale[lid % c]);
    let gi = g[k.img];
    for (var it = 0u; it < ITEMS; it++) {
      let j = k.start + it * k.t;
      if (j < k.n) {
        let e = k.img * k.n + j;
        let r = grads(pixels[e], mean[e], inv_s);
        dmean[e] = gi * r.x;
        acc += gi * r.y;
      }
    }
  }
  scratch[lid] = acc;
  workgroupBarrier();
  // Thread ch < C sums the partials of every thread with that channel (lid % C == ch).
  if (lid < c) {
    partial[k.slot * c + lid] = channel_sum(lid, k.t, c);
  }
}
