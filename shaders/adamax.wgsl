// Adamax over a chunk of the parameter arena, in place (engine/optim.ts). One thread per element:
//   TF form (openai/iaf tf_utils/adamax.py, no bias correction; the default, THEANO = false):
//     v <- beta1 v + (1 - beta1) g;   u <- max(beta2 u + eps, |g|);   p <- p - lr v / u
//   Theano AdaMaxAvg (THEANO = true):
//     v <- beta1 v + (1 - beta1) g;   u <- max(beta2 u, |g| + eps);   p <- p - lr v / u
// u >= eps > 0 after the first step in both forms, so v / u is finite for finite g. one_minus_beta1 comes
// from the CPU (computed in float64) so 1 - beta1 is not rounded twice.
// element() is one element's work; each_element() (the bounds check, GROUP) comes from elementwise_lib.wgsl.
struct Params { n: u32, lr: f32, beta1: f32, one_minus_beta1: f32, beta2: f32, eps: f32, _p0: u32, _p1: u32 }
override THEANO: bool = false;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> p: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> u: array<f32>;

fn element(i: u32) {
  let gi = g[i];
  let vi = params.beta1 * v[i] + params.one_minus_beta1 * gi;
  var ui: f32;
  if (THEANO) {
    ui = max(params.beta2 * u[i], abs(gi) + params.eps);
  } else {
    ui = max(params.beta2 * u[i] + params.eps, abs(gi));
  }
  v[i] = vi;
  u[i] = ui;
  p[i] = p[i] - params.lr * (vi / ui);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_element((wid.y * nwg.x + wid.x) * 256u + lid);
}
