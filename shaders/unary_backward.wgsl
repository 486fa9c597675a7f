// Input gradient of the ops in unary.wgsl: dx = dy * f'(x), using the saved input x and output y, whichever
// gives the cheaper and more accurate derivative. Same op codes as unary.wgsl.
// Params, OP and the binding x come from unary_lib.wgsl; GROUP and each_element() from elementwise_lib.wgsl (both
// prepended by the engine).
// ACCUMULATE: dx += the gradient (dx is a pending gradient of x the tape lets this kernel add to).
override ACCUMULATE: bool = false;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

// log1p_, expm1_, sigmoid_, softplus_, tanh_, sech2_, normal_cdf_, normal_pdf_ and GELU_TANH_C come from
// math_lib.wgsl (prepended by the engine). relu's and leakyRelu's derivative at 0 is the left one (0, s), as PyTorch's.
// sigmoid, tanh and elu derive from x, not y: y (1 - y), 1 - y^2 and y + 1 cancel to 0 where the derivative is
// tiny but not 0 (sigmoid'(20) = 2e-9, tanh'(10) = 8e-9, elu'(-20) = 2e-9).

fn grad(a: f32, out: f32, g: f32, s: f32) -> f32 {
  switch OP {
    case UNARY_NEG: { return -g; }
    case UNARY_EXP: { return g * out; }
    case UNARY_LOG: { return g / a; }
    case UNARY_SQRT: { return g * 0.5 / out; }
    case UNARY_SQUARE: { return 2.0 * a * g; }
    case UNARY_SIGMOID: { return g * sigmoid_(a) * sigmoid_(-a); }
    case UNARY_TANH: { return g * sech2_(a); }
    case UNARY_ELU: { if (a > 0.0) { return g; } return g * exp(a); }
    case UNARY_SOFTPLUS: { return g * sigmoid_(a); }
    case UNARY_ABS: { return g * sign(a); }
    case UNARY_RELU: { if (a > 0.0) { return g; } return 0.0; }
    case UNARY_GELU: { return g * (normal_cdf_(a) + a * normal_pdf_(a)); }
    case UNARY_GELU_TANH: {
      let u = GELU_TANH_C * (a + 0.044715 * a * a * a);
      return g * (0.5 * (1.0 + tanh_(u)) + 0.5 * a * sech2_(u) * GELU_TANH_C * (1.0 + 3.0 * 0.044715 * a * a));
    }
    case UNARY_SILU: { let s1 = sigmoid_(a); return g * (s1 + a * s1 * sigmoid_(-a)); }
    case UNARY_ADD_SCALAR: { return g; }
    case UNARY_SUB_SCALAR: { return g; }
    case UNARY_RSUB_SCALAR: { return -g; }
    case UNARY_MUL_SCALAR: { return g * s; }
    case UNARY_DIV_SCALAR: { return g / s; }
    case UNARY_RDIV_SCALAR: { return -g * out / a; }
    case UNARY_MAXIMUM_SCALAR: { if (a > s) { return g; } if (a == s) { return 0.5 * g; } return 0.0; }
    case UNARY_POW_SCALAR: { return g * s * pow(a, s - 1.0); }
    case UNARY_COPY: { return g; }
    case UNARY_LEAKY_RELU: { if (a > 0.0) { return g; } return g * s; }
    default: { return 0.0; }
  }
}

fn element(i: u32) {
  let d = grad(x[i], y[i], dy[i], params.s);
  if (ACCUMULATE) { dx[i] += d; } else { dx[i] = d; }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_element((wid.y * nwg.x + wid.x) * 256u + lid);
}
