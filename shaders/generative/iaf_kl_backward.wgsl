// Backward of shaders/iaf_kl.wgsl, g = dL/dkl, u = (z - pMean) exp(-pLogSd):
//   dlogq0 = dlog_det = g (views of g, no kernel),  dz = g u exp(-pLogSd),
//   dpMean = -g u exp(-pLogSd),  dpLogSd = g (1 - u^2)
// One invocation per element of d_prior [P, cp] and of dz [P, Z] (index i < P max(cp, Z)); prior channels
// outside the two windows get 0, or are left alone with ACC_PRIOR (adding into a pending gradient the tape
// offers, engine/tape.ts sinks); ACC_Z adds dz into z's pending gradient.
// Params, z, prior and standardized() come from iaf_kl_lib.wgsl, prepended by the engine.
override ACC_Z: bool = false;
override ACC_PRIOR: bool = false;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> dz: array<f32>;
@group(0) @binding(5) var<storage, read_write> d_prior: array<f32>;

// (dz, dpMean, dpLogSd) of latent channel j at pixel p.
fn grads(p: u32, j: u32) -> vec3f {
  let q = standardized(p, j);
  let u = q.x;
  let inv = q.z;
  let gi = g[p * params.z + j];
  return vec3f(gi * u * inv, -gi * u * inv, gi * (1.0 - u * u));
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  let width = max(params.cp, params.z);
  if (i >= params.pixels * width) { return; }
  let p = i / width;
  let c = i - p * width;
  if (c < params.z) {
    let v = grads(p, c).x;
    let o = p * params.z + c;
    if (ACC_Z) { dz[o] += v; } else { dz[o] = v; }
  }
  if (c < params.cp) {
    var v = 0.0;
    var hit = true;
    if (c >= params.prior_mean && c < params.prior_mean + params.z) { v = grads(p, c - params.prior_mean).y; }
    else if (c >= params.prior_logsd && c < params.prior_logsd + params.z) { v = grads(p, c - params.prior_logsd).z; }
    else { hit = false; }
    let o = p * params.cp + c;
    if (ACC_PRIOR) { if (hit) { d_prior[o] += v; } } else { d_prior[o] = v; }
  }
}
