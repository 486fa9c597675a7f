// Elementwise unary ops and tensor-scalar ops, y = f(x, s). The op is an override constant (its codes: the
// UNARY_* constants generated from engine/op_codes.ts). Numerically stable forms: sigmoid and softplus never exp() a large positive
// number; elu uses an accurate expm1; softplus an accurate log1p (WGSL has neither).
// Params, OP and the binding x come from unary_lib.wgsl; GROUP and each_element() from elementwise_lib.wgsl (both
// prepended by the engine).
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// log1p_, expm1_, sigmoid_, softplus_, tanh_, normal_cdf_ and GELU_TANH_C come from math_lib.wgsl (prepended by
// the engine). gelu is the exact x * Phi(x) (PyTorch's default); geluTanh the tanh approximation.

fn apply(a: f32, s: f32) -> f32 {
  switch OP {
    case UNARY_NEG: { return -a; }
    case UNARY_EXP: { return exp(a); }
    case UNARY_LOG: { if (abs(a - 1.0) <= 0.4) { return log1p_(a - 1.0); } return log(a); } // a - 1 is exact there (Sterbenz)
    case UNARY_SQRT: { return sqrt(a); }
    case UNARY_SQUARE: { return a * a; }
    case UNARY_SIGMOID: { return sigmoid_(a); }
    case UNARY_TANH: { return tanh_(a); }
    case UNARY_ELU: { if (a > 0.0) { return a; } return expm1_(a); }
    case UNARY_SOFTPLUS: { return softplus_(a); }
    case UNARY_ABS: { return abs(a); }
    case UNARY_RELU: { return max(a, 0.0); }
    case UNARY_GELU: { return a * normal_cdf_(a); }
    case UNARY_GELU_TANH: { return 0.5 * a * (1.0 + tanh_(GELU_TANH_C * (a + 0.044715 * a * a * a))); }
    case UNARY_SILU: { return a * sigmoid_(a); }
    case UNARY_ADD_SCALAR: { return a + s; }
    case UNARY_SUB_SCALAR: { return a - s; }
    case UNARY_RSUB_SCALAR: { return s - a; }
    case UNARY_MUL_SCALAR: { return a * s; }
    case UNARY_DIV_SCALAR: { return a / s; }
    case UNARY_RDIV_SCALAR: { return s / a; }
    case UNARY_MAXIMUM_SCALAR: { return max(a, s); }
    case UNARY_POW_SCALAR: { return pow(a, s); }
    case UNARY_COPY: { return a; }
    case UNARY_LEAKY_RELU: { if (a > 0.0) { return a; } return s * a; }
    default: { return 0.0; }
  }
}

fn element(i: u32) {
  y[i] = apply(x[i], params.s);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_element((wid.y * nwg.x + wid.x) * 256u + lid);
}
