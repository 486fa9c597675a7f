// Backward of shaders/iaf_posterior.wgsl. With gz = dL/dz0, gl = dL/dlogq0, gc = dL/dcontext and the forward's
// qm, qs, z, u = (z - qm) exp(-qs):
//   gz0 = gz - gl u exp(-qs)                          (z0's total gradient: logq0 depends on it too)
//   posterior sample: dqMean = gz0 + gl u exp(-qs),   dqLogSd = gz0 exp(qs) eps + gl (u^2 - 1)
//   FROM_PRIOR:       dqMean = gl u exp(-qs),  dqLogSd = gl (u^2 - 1),  dpriorMean = gz0,
//                     dpriorLogSd = gz0 exp(priorLogSd) eps
// dqMean and dqLogSd go to both windows (up's and down's), gc to both context windows. One invocation per
// element of d_up [P, cu] and d_down [P, cd] (index i < P max(cu, cd)); channels outside the windows get 0, or
// are left alone when ACC_UP / ACC_DOWN add into a pending gradient the tape offers (engine/tape.ts sinks).
// Params, FROM_PRIOR, the bindings up, down, eps and posterior_sample() come from iaf_posterior_lib.wgsl.
override ACC_UP: bool = false;
override ACC_DOWN: bool = false;
@group(0) @binding(4) var<storage, read> g_z0: array<f32>;
@group(0) @binding(5) var<storage, read> g_logq0: array<f32>;
@group(0) @binding(6) var<storage, read> g_context: array<f32>;
@group(0) @binding(7) var<storage, read_write> d_up: array<f32>;
@group(0) @binding(8) var<storage, read_write> d_down: array<f32>;

// (dqMean, dqLogSd, dpriorMean, dpriorLogSd) of latent channel j at pixel p.
fn latent_grads(p: u32, j: u32) -> vec4f {
  let sample = posterior_sample(p, j);
  let qs = sample.qs;
  let e = sample.eps;
  let inv = exp(-qs);
  let u = (sample.z - sample.qm) * inv;
  let gl = g_logq0[p * params.z + j];
  let gz0 = g_z0[p * params.z + j] - gl * u * inv;
  if (FROM_PRIOR) { return vec4f(gl * u * inv, gl * (u * u - 1.0), gz0, gz0 * exp(sample.prior_logsd) * e); }
  return vec4f(gz0 + gl * u * inv, gz0 * exp(qs) * e + gl * (u * u - 1.0), 0.0, 0.0);
}

fn in_window(c: u32, start: u32, width: u32) -> bool {
  return c >= start && c < start + width;
}

// The gradient of channel c at pixel p of a conv output holding the posterior's mean, log-sd and context windows
// (starting at mean, logsd, ctx); hit = false outside them.
struct WindowGrad { v: f32, hit: bool }

fn posterior_window_grad(p: u32, c: u32, mean: u32, logsd: u32, ctx: u32) -> WindowGrad {
  if (in_window(c, mean, params.z)) { return WindowGrad(latent_grads(p, c - mean).x, true); }
  if (in_window(c, logsd, params.z)) { return WindowGrad(latent_grads(p, c - logsd).y, true); }
  if (in_window(c, ctx, params.h)) { return WindowGrad(g_context[p * params.h + c - ctx], true); }
  return WindowGrad(0.0, false);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  let width = max(params.cu, params.cd);
  if (i >= params.pixels * width) { return; }
  let p = i / width;
  let c = i - p * width;
  if (c < params.cu) {
    let w = posterior_window_grad(p, c, params.up_mean, params.up_logsd, params.up_ctx);
    let o = p * params.cu + c;
    if (ACC_UP) { if (w.hit) { d_up[o] += w.v; } } else { d_up[o] = w.v; }
  }
  if (c < params.cd) {
    var w = posterior_window_grad(p, c, params.down_mean, params.down_logsd, params.down_ctx);
    if (FROM_PRIOR && !w.hit) {
      if (in_window(c, params.prior_mean, params.z)) { w = WindowGrad(latent_grads(p, c - params.prior_mean).z, true); }
      else if (in_window(c, params.prior_logsd, params.z)) { w = WindowGrad(latent_grads(p, c - params.prior_logsd).w, true); }
    }
    let o = p * params.cd + c;
    if (ACC_DOWN) { if (w.hit) { d_down[o] += w.v; } } else { d_down[o] = w.v; }
  }
}
