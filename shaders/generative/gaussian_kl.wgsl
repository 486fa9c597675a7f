// Analytic elementwise KL(q || p) of diagonal Gaussians (engine/ops/gaussian.ts):
//   KL = log(sp / sq) + (sq^2 + (mq - mp)^2) / (2 sp^2) - 1/2
//      = h(lsq - lsp) + 0.5 v^2,  v = (mq - mp) exp(-lsp),  h(t) = 0.5 (exp(2t) - 1 - 2t)
// h is evaluated by its Taylor series for |t| < 0.1 (no cancellation when q ~ p, where KL ~ t^2).
// Params and the inputs mean_q, log_std_q, mean_p, log_std_p come from gaussian_kl_lib.wgsl, prepended by the engine.
// element() is one element's work; each_element() (the bounds check, GROUP) comes from elementwise_lib.wgsl.
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

fn h(t: f32) -> f32 {
  if (abs(t) < 0.1) {
    // sum_{n>=2} 2^(n-1) t^n / n!
    return t * t * (1.0 + t * (2.0 / 3.0 + t * (1.0 / 3.0 + t * (2.0 / 15.0 + t * (2.0 / 45.0 + t * (4.0 / 315.0))))));
  }
  return 0.5 * (exp(2.0 * t) - 1.0) - t;
}

fn element(i: u32) {
  let v = (mean_q[i] - mean_p[i]) * exp(-log_std_p[i]);
  y[i] = h(log_std_q[i] - log_std_p[i]) + 0.5 * v * v;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_element((wid.y * nwg.x + wid.x) * 256u + lid);
}
