// The grouping loop of the row-wise elementwise kernels (concat_elu, gate and their backwards), prepended to each by
// the engine (engine/kernels.ts WGSL_LIBS 'elementwise_rows'). A kernel that lists it has params.n (the element
// count) and defines fn row_element(i: u32, r: u32, width: u32), the work of element i, which lies in row r of
// `width` elements.
// GROUP (1 or 4): elements per invocation, as in elementwise_lib.wgsl (an invocation's fixed cost dominates an
// elementwise kernel on lavapipe, so 4 consecutive elements per invocation run ~3x faster). The engine asks for 4
// only where the row widths are multiples of 4, so an invocation's elements share a row: one division per invocation.
override GROUP: u32 = 1u;

// Elements t GROUP .. t GROUP + GROUP - 1 of invocation t (none when the first is past params.n), in rows of
// `width` elements.
fn each_row_element(t: u32, width: u32) {
  let base = t * GROUP;
  if (base >= params.n) { return; }
  let r = base / width;
  for (var k = 0u; k < GROUP; k++) {
    row_element(base + k, r, width);
  }
}
