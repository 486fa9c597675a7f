// The kernels that work along one axis of a tensor seen as [outer, n, inner] (softmax, softmax_backward, arg_reduce),
// prepended to each by the engine (engine/kernels.ts WGSL_LIBS 'axis_rows'): one invocation per row of n elements at
// stride inner, rows = outer * inner.
struct Params { rows: u32, n: u32, inner: u32, _p0: u32 }
@group(0) @binding(0) var<uniform> params: Params;

// The index of element 0 of row r (its element j is at axis_base(r) + j * inner).
fn axis_base(r: u32) -> u32 {
  let inner = params.inner;
  return (r / inner) * params.n * inner + r % inner;
}
