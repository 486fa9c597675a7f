// Numerically stable scalar helpers shared by many kernels (prepended as a kernel prelude by engine/kernels.ts):
// WGSL has no log1p, expm1 or softplus, its sigmoid-free exp() overflows for large arguments, and its tanh may be
// evaluated as (e^2a - 1)/(e^2a + 1). MODEL_SPEC pitfall 5.
fn log1p_(u: f32) -> f32 {
  let w = 1.0 + u;
  if (w == 1.0) { return u; }
  return log(w) * u / (w - 1.0);
}
fn expm1_(a: f32) -> f32 {
  if (abs(a) > 0.5) { return exp(a) - 1.0; }
  let u = exp(a);
  if (u == 1.0) { return a; }
  return (u - 1.0) * a / log(u);
}
fn sigmoid_(a: f32) -> f32 {
  let e = exp(-abs(a));
  if (a >= 0.0) { return 1.0 / (1.0 + e); }
  return e / (1.0 + e);
}
fn softplus_(a: f32) -> f32 { return max(a, 0.0) + log1p_(exp(-abs(a))); }
fn tanh_(a: f32) -> f32 {
  if (abs(a) < 0.5) { return tanh(a); }
  let e = exp(-2.0 * abs(a));
  return sign(a) * (1.0 - e) / (1.0 + e);
}
