// Backward of shaders/gaussian_kl.wgsl, g = dL/dKL; r = exp(2 (lsq - lsp)), v = (mq - mp) exp(-lsp):
//   d mq = g v exp(-lsp), d mp = -g v exp(-lsp), d lsq = g (r - 1), d lsp = g (1 - r - v^2)
// r - 1 via an accurate expm1 (small when q ~ p).
// Two dispatches, one per pair of outputs (MODE 0: d mq, d mp; MODE 1: d lsq, d lsp): the five inputs and all
// four outputs would be 9 storage buffers, over WebGPU's default limit of 8 per shader stage.
// Params and the inputs mean_q, log_std_q, mean_p, log_std_p come from gaussian_kl_lib.wgsl, prepended by the engine.
// element() is one element's work; each_element() (the bounds check, GROUP) comes from elementwise_lib.wgsl.
@group(0) @binding(5) var<storage, read> g: array<f32>;
@group(0) @binding(6) var<storage, read_write> d_q: array<f32>;
@group(0) @binding(7) var<storage, read_write> d_p: array<f32>;

override MODE: u32 = 0u;

// log1p_, expm1_, sigmoid_, softplus_ and tanh_ come from math_lib.wgsl (prepended by the engine).

fn element(i: u32) {
  let gi = g[i];
  let inv = exp(-log_std_p[i]);
  let v = (mean_q[i] - mean_p[i]) * inv;
  if (MODE == 0u) {
    d_q[i] = gi * v * inv;
    d_p[i] = -gi * v * inv;
  } else {
    let rm1 = expm1_(2.0 * (log_std_q[i] - log_std_p[i]));
    d_q[i] = gi * rm1;
    d_p[i] = -gi * (rm1 + v * v);
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_element((wid.y * nwg.x + wid.x) * 256u + lid);
}
