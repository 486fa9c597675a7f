// Discretized logistic mixture (DMOL, PixelCNN++) log-likelihood of one pixel per invocation, and in the same
// pass d log p(pixel) / d theta for that pixel (docs/MODEL.md §2.6, pitfalls 3-7, 11). No per-bin tensors.
// theta: [n, K] network output, K = 10*M (RGB: logits M, then per colour slot c at M + 3M*c: means M,
// raw log-scales M, raw coeffs M) or K = 3*M (1 channel: logits, means, raw log-scales). x: [n, NC] in [-1,1].
// Branch order of §2.6: x < -0.999 -> log sigma(plus); x > 0.999 -> log(1 - sigma(minus));
// cdf_delta > 1e-5 -> log cdf_delta; else log_pdf_mid - log(127.5). Only the selected branch is
// differentiated (pitfall 4). cdf_delta is evaluated in the cancellation-free factored form
//   sigma(plus) - sigma(minus) = sigma(plus) * sigma(-minus) * (1 - exp(-(plus - minus)))
// (identical maths, pitfall 5's concern), so log cdf_delta and its derivatives stay accurate in float32 when
// both sigmoids are near 1; the 1e-12 clamp is inactive in the selected branch (cdf_delta > 1e-5 there).
// log_s = max(raw, -7); its gradient is passed where raw >= -7 and is 0 strictly below the clamp.
// Pass 1 computes log p_k for every component (kept in a private array; M <= MAX_MIX), the mixture logsumexp
// and (GRAD only) the unweighted d log p_k / d theta into the pixel's dtheta row; pass 2 (GRAD only) scales
// them by the responsibility r_k and writes the logits' r_k - softmax_k. Only this invocation touches its row.
struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }
override NR_MIX: u32 = 10u;
override NC: u32 = 3u;
override GRAD: bool = true;
const MAX_MIX: u32 = 32u;
const HALF_BIN: f32 = 0.00392156862745098; // 1/255: bins are 2/255 apart in [-1, 1] units (openai/pixel-cnn issue 33)
const LOG_127_5: f32 = 4.848116364598481;
const MIN_LOG_SCALE: f32 = -7.0;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> theta: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> logp: array<f32>;
@group(0) @binding(4) var<storage, read_write> dtheta: array<f32>;

// log1p_, expm1_, sigmoid_, softplus_, tanh_ and sech2_ (1 - tanh^2) come from math_lib.wgsl (prepended by the engine).

// log p of one channel of one component, and its derivatives wrt the (coupled) mean and the clamped log-scale:
// returns (log p, d/dmu, d/dlog_s).
fn channel(xc: f32, mu: f32, ls: f32) -> vec3f {
  let inv = exp(-ls);
  let d = xc - mu;
  let plus = inv * (d + HALF_BIN);
  let minus = inv * (d - HALF_BIN);
  if (xc < -0.999) {
    // log sigma(plus) = plus - softplus(plus) = -softplus(-plus)
    let a = sigmoid_(-plus);
    return vec3f(-softplus_(-plus), -inv * a, -plus * a);
  }
  if (xc > 0.999) {
    // log(1 - sigma(minus)) = -softplus(minus)
    let b = sigmoid_(minus);
    return vec3f(-softplus_(minus), inv * b, minus * b);
  }
  let w = inv * (2.0 * HALF_BIN); // plus - minus
  let em = -expm1_(-w);          // 1 - exp(-w)
  let cdf_delta = sigmoid_(plus) * sigmoid_(-minus) * em;
  if (cdf_delta > 1e-5) {
    let a = sigmoid_(-plus);
    let b = sigmoid_(minus);
    let lp = -softplus_(-plus) - softplus_(minus) + log(em);
    // d/dplus = sigma(-plus) + 1/expm1(w), d/dminus = -sigma(minus) - 1/expm1(w)
    return vec3f(lp, -inv * (a - b), -(plus * a - minus * b + w / expm1_(w)));
  }
  let mid = inv * d;
  let t = sigmoid_(-mid) - sigmoid_(mid); // 1 - 2 sigma(mid)
  return vec3f(mid - ls - 2.0 * softplus_(mid) - LOG_127_5, -inv * t, -mid * t - 1.0);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= params.n) { return; }
  let K = select(3u * NR_MIX, 10u * NR_MIX, NC == 3u);
  let base = i * K;
  let xr = x[i * NC];
  var xg = 0.0;
  var xb = 0.0;
  if (NC == 3u) {
    xg = x[i * 3u + 1u];
    xb = x[i * 3u + 2u];
  }

  // log_softmax of the mixture logits: lmax + log1p(sum of the others' exp(theta - lmax)), so a dominant
  // component's log-weight -log(1 + e^-gap) keeps its relative accuracy (log(1 + 2e-9) is 0 in float32).
  var lmax = theta[base];
  var kmax = 0u;
  for (var k = 1u; k < NR_MIX; k++) {
    if (theta[base + k] > lmax) { lmax = theta[base + k]; kmax = k; }
  }
  var lrest = 0.0;
  for (var k = 0u; k < NR_MIX; k++) {
    if (k != kmax) { lrest += exp(theta[base + k] - lmax); }
  }
  let lse_logit = lmax + log1p_(lrest);

  // pass 1: log p_k = log_softmax_k + sum_c log p_{c,k}; mixture logsumexp. With GRAD, the unweighted
  // derivatives d log p_k / d theta of component k's mean, log-scale and coefficient slots go straight into dtheta
  // (the pixel's own rows, used as scratch: no private per-channel arrays, no recomputation).
  var lp: array<f32, MAX_MIX>;
  var m = -3.0e38;
  var km = 0u;
  for (var k = 0u; k < NR_MIX; k++) {
    var s = theta[base + k] - lse_logit;
    let oR = base + NR_MIX + k;
    let rawR = theta[oR + NR_MIX];
    let gR = channel(xr, theta[oR], max(rawR, MIN_LOG_SCALE));
    s += gR.x;
    if (GRAD) {
      dtheta[oR] = gR.y;
      dtheta[oR + NR_MIX] = select(0.0, gR.z, rawR >= MIN_LOG_SCALE);
    }
    if (NC == 3u) {
      let oG = oR + 3u * NR_MIX;
      let oB = oG + 3u * NR_MIX;
      let cR = theta[oR + 2u * NR_MIX];
      let cG = theta[oG + 2u * NR_MIX];
      let cB = theta[oB + 2u * NR_MIX];
      let rawG = theta[oG + NR_MIX];
      let rawB = theta[oB + NR_MIX];
      // alpha (slot R) couples G to x_R; beta (slot G) couples B to x_R; gamma (slot B) couples B to x_G.
      let gG = channel(xg, theta[oG] + tanh_(cR) * xr, max(rawG, MIN_LOG_SCALE));
      let gB = channel(xb, theta[oB] + tanh_(cG) * xr + tanh_(cB) * xg, max(rawB, MIN_LOG_SCALE));
      s += gG.x + gB.x;
      if (GRAD) {
        dtheta[oG] = gG.y;
        dtheta[oG + NR_MIX] = select(0.0, gG.z, rawG >= MIN_LOG_SCALE);
        dtheta[oB] = gB.y;
        dtheta[oB + NR_MIX] = select(0.0, gB.z, rawB >= MIN_LOG_SCALE);
        dtheta[oR + 2u * NR_MIX] = gG.y * xr * sech2_(cR);
        dtheta[oG + 2u * NR_MIX] = gB.y * xr * sech2_(cG);
        dtheta[oB + 2u * NR_MIX] = gB.y * xg * sech2_(cB);
      }
    }
    lp[k] = s;
    if (k == 0u || s > m) { m = s; km = k; }
  }
  // Mixture log-sum-exp, the same way: m + log1p(sum of the other components' exp(lp - m)).
  var acc = 0.0;
  for (var k = 0u; k < NR_MIX; k++) {
    if (k != km) { acc += exp(lp[k] - m); }
  }
  let total = m + log1p_(acc);
  logp[i] = total;

  if (GRAD) {
    // pass 2: responsibility r_k = exp(log p_k - log p) = d log p / d log p_k; logits get r_k - softmax_k, except
    // the dominant component km (r near 1, and softmax near 1 when it also has the largest logit): its
    // difference is minus the sum of the others' (both sum to 1), without the cancellation 1 - 1.
    var others = 0.0;
    for (var k = 0u; k < NR_MIX; k++) {
      let r = exp(lp[k] - total);
      let dk = r - exp(theta[base + k] - lse_logit);
      if (k != km) {
        dtheta[base + k] = dk;
        others += dk;
      }
      let o = base + NR_MIX + k;
      dtheta[o] *= r;
      dtheta[o + NR_MIX] *= r;
      if (NC == 3u) {
        for (var j = 2u; j < 9u; j++) { dtheta[o + j * NR_MIX] *= r; }
      }
    }
    dtheta[base + km] = -others;
  }
}
