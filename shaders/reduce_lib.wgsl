// Declarations both reduction kernels share (reduce, reduce_backward), prepended to each by the engine
// (engine/kernels.ts DECLARATION_LIBS): the op OP (the REDUCE_* codes generated from engine/op_codes.ts), and the
// offset of an element in a tensor seen through strides (shapes of up to 8 axes travel as array<vec4<u32>, 2>).
override OP: u32 = 0u;

// The offset of element i (row-major over shape's first `rank` axes) through strides. With rank a pipeline constant
// (RANK_OUT, RANK_RED, RANK, the ranks after engine/ops/reduce.ts merged neighbouring axes) the loop unrolls and reads
// the arrays at constant indices.
fn strided_offset(i: u32, rank: u32, shape: array<vec4<u32>, 2>, strides: array<vec4<u32>, 2>) -> u32 {
  var rem = i;
  var off = 0u;
  for (var d = 0u; d < rank; d++) {
    let k = rank - 1u - d;
    let extent = shape[k / 4u][k % 4u];
    off += (rem % extent) * strides[k / 4u][k % 4u];
    rem = rem / extent;
  }
  return off;
}
