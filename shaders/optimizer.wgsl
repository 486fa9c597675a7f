// The optimizers' update over a chunk (or a range) of the parameter arena, in place, one invocation per element
// (engine/params/optimizers.ts). OP (the OPTIMIZER_* constants from engine/op_codes.ts) picks the rule; every
// rule first forms the gradient it uses as
//   g = g * scale[0] (CLIP: the global-norm clipping factor, shaders/clip_scale.wgsl) + l2 * p (L2 weight decay)
// and every scalar derived from the hyper-parameters (1 - beta, bias corrections, step sizes) comes from the
// CPU in float64.
//   SGD (PyTorch's torch.optim.SGD):  MOMENTUM: s1 <- first ? g : momentum s1 + one_minus_dampening g;
//                                     d = NESTEROV ? g + momentum s1 : s1 (without MOMENTUM d = g);  p <- p - lr d
//   Adam / AdamW (Kingma & Ba; Loshchilov & Hutter, PyTorch's form):  p <- p * decay_mul (AdamW: 1 - lr wd);
//                                     s1 <- beta1 s1 + (1 - beta1) g;  s2 <- beta2 s2 + (1 - beta2) g^2;
//                                     p <- p - step_size s1 / (sqrt(s2) / bc2_sqrt + eps)   (step_size = lr / (1 - beta1^t))
//   Adamax, TF form (openai/iaf tf_utils/adamax.py, no bias correction):  s1 <- beta1 s1 + (1 - beta1) g;
//                                     s2 <- max(beta2 s2 + eps, |g|);  p <- p - lr s1 / s2
//   Adamax, Theano AdaMaxAvg form:    the same with s2 <- max(beta2 s2, |g| + eps)
// For Adamax s2 >= eps > 0 after the first step, so s1 / s2 is finite for finite g.
// element() is one element's work; each_element() (the bounds check, GROUP) comes from elementwise_lib.wgsl.
struct Params {
  n: u32, lr: f32, beta1: f32, one_minus_beta1: f32,
  beta2: f32, one_minus_beta2: f32, eps: f32, l2: f32,
  decay_mul: f32, step_size: f32, bc2_sqrt: f32, momentum: f32,
  one_minus_dampening: f32, first: u32, _p0: u32, _p1: u32,
}
override OP: u32 = 0u;
override CLIP: bool = false;
override MOMENTUM: bool = false;
override NESTEROV: bool = false;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read_write> p: array<f32>;
@group(0) @binding(4) var<storage, read_write> s1: array<f32>;
@group(0) @binding(5) var<storage, read_write> s2: array<f32>;

fn element(i: u32) {
  var gi = g[i];
  if (CLIP) { gi = gi * scale[0]; }
  var pi = p[i];
  if (params.l2 != 0.0) { gi = gi + params.l2 * pi; }
  switch OP {
    case OPTIMIZER_SGD: {
      var d = gi;
      if (MOMENTUM) {
        var b = gi;
        if (params.first == 0u) { b = params.momentum * s1[i] + params.one_minus_dampening * gi; }
        s1[i] = b;
        if (NESTEROV) { d = gi + params.momentum * b; } else { d = b; }
      }
      p[i] = pi - params.lr * d;
    }
    case OPTIMIZER_ADAM: {
      let m = params.beta1 * s1[i] + params.one_minus_beta1 * gi;
      let v = params.beta2 * s2[i] + params.one_minus_beta2 * gi * gi;
      s1[i] = m;
      s2[i] = v;
      p[i] = pi * params.decay_mul - params.step_size * (m / (sqrt(v) / params.bc2_sqrt + params.eps));
    }
    case OPTIMIZER_ADAMAX, OPTIMIZER_ADAMAX_THEANO: {
      let v = params.beta1 * s1[i] + params.one_minus_beta1 * gi;
      var u: f32;
      if (OP == OPTIMIZER_ADAMAX_THEANO) {
        u = max(params.beta2 * s2[i], abs(gi) + params.eps);
      } else {
        u = max(params.beta2 * s2[i] + params.eps, abs(gi));
      }
      s1[i] = v;
      s2[i] = u;
      p[i] = pi - params.lr * (v / u);
    }
    default: { }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_element((wid.y * nwg.x + wid.x) * 256u + lid);
}
