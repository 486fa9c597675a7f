// The bounds check of the row kernels (one invocation per row: softmax, arg_reduce, cross_entropy, layer_norm and
// their backwards), prepended to each by the engine (engine/kernels.ts WGSL_LIBS 'rows'). A kernel that lists it has
// params.rows and defines fn row(r: u32), the work of row r; its main calls each_row with the invocation's index
// (r = (wid.y * nwg.x + wid.x) * 256u + lid).
fn each_row(r: u32) {
  if (r < params.rows) { row(r); }
}
