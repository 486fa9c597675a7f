// Numerically stable scalar helpers shared by many kernels (prepended as a kernel prelude by engine/kernels.ts):
// WGSL has no log1p, expm1 or softplus, its sigmoid-free exp() overflows for large arguments, and its tanh may be
// evaluated as (e^2a - 1)/(e^2a + 1). docs/MODEL.md pitfall 5.
// Small arguments use polynomials, not the cancellation tricks log(1+u)*u/((1+u)-1) and (e^a-1)*a/log(e^a):
// shader compilers may simplify (1+u)-1 to u and log(exp(a)) to a (Mesa's NIR does, as inexact algebra), which
// turns those tricks back into the inaccurate naive forms (test/engine/extreme_inputs.test.ts measured
// softplus(-15) 17% off and elu(-1e-30) = -6e-8 with them on lavapipe).

// log(1 + u) = 2 atanh(s), s = u / (2 + u): for |u| <= 0.4, |s| <= 0.25 and the odd series to s^15 is
// accurate to ~1e-10 relative; beyond, 1 + u is far enough from 1 that log() is accurate.
fn log1p_(u: f32) -> f32 {
  if (abs(u) > 0.4) { return log(1.0 + u); }
  let s = u / (2.0 + u);
  let s2 = s * s;
  let p = 1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0 + s2 * (1.0 / 13.0 + s2 * (1.0 / 15.0)))))));
  return 2.0 * s * p;
}
// exp(a) - 1: Taylor series to a^10 for |a| <= 0.5 (remainder < 1e-10 relative), exp(a) - 1 beyond.
fn expm1_(a: f32) -> f32 {
  if (abs(a) > 0.5) { return exp(a) - 1.0; }
  let p = 1.0 / 2.0 + a * (1.0 / 6.0 + a * (1.0 / 24.0 + a * (1.0 / 120.0 + a * (1.0 / 720.0 + a * (1.0 / 5040.0 + a * (1.0 / 40320.0 + a * (1.0 / 362880.0 + a * (1.0 / 3628800.0))))))));
  return a + a * a * p;
}
fn sigmoid_(a: f32) -> f32 {
  let e = exp(-abs(a));
  if (a >= 0.0) { return 1.0 / (1.0 + e); }
  return e / (1.0 + e);
}
fn softplus_(a: f32) -> f32 { return max(a, 0.0) + log1p_(exp(-abs(a))); }
// tanh(|a|) = -m / (2 + m), m = expm1(-2|a|) in (-1, 0]: no cancellation at any |a|.
fn tanh_(a: f32) -> f32 {
  let m = expm1_(-2.0 * abs(a));
  return sign(a) * (-m / (2.0 + m));
}
// 1 - tanh(a)^2 = 4 e / (1 + e)^2, e = exp(-2|a|), without cancellation (tanh's derivative).
fn sech2_(a: f32) -> f32 {
  let e = exp(-2.0 * abs(a));
  let d = 1.0 + e;
  return 4.0 * e / (d * d);
}
// erfc(z) for z >= 0 (Numerical Recipes' erfcc, a Chebyshev fit: relative error < 1.2e-7 for every z >= 0,
// so the tail stays accurate where 1 - erf(z) would cancel).
fn erfc_pos_(z: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.5 * z);
  let p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * exp(-z * z + p);
}
// The standard normal CDF Phi(a) = erfc(-a / sqrt 2) / 2, from the tail on the side where it is small.
fn normal_cdf_(a: f32) -> f32 {
  let h = 0.5 * erfc_pos_(abs(a) * 0.70710678118654752);
  if (a >= 0.0) { return 1.0 - h; }
  return h;
}
fn normal_pdf_(a: f32) -> f32 { return 0.39894228040143268 * exp(-0.5 * a * a); }
// sqrt(2 / pi), of the tanh approximation of GELU.
const GELU_TANH_C: f32 = 0.79788456080286536;
