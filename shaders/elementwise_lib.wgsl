// The loop of the 1-D kernels (one invocation per element: unary, binary, the optimizer's and the generative family's
// pointwise kernels...), prepended to each by the engine (engine/kernels.ts WGSL_LIBS 'elementwise'). A kernel that
// lists it has params.n (the element count) and defines fn element(i: u32), the work of element i; its main calls
// each_element with the invocation's index (i = (wid.y * nwg.x + wid.x) * 256u + lid: the runner folds large
// dispatches into 2-D grids).
// GROUP (1 or 4): elements per invocation. On lavapipe an invocation's fixed cost (index math, a division, the
// lanes' scalarised memory accesses) is most of an elementwise kernel's time, so 4 consecutive elements per
// invocation run ~3x faster; the engine asks for 4 where the element count (and channel count) allow it (the
// default 1 is the plain one-element guard).
override GROUP: u32 = 1u;

// Elements t GROUP .. t GROUP + GROUP - 1 of invocation t, those below params.n.
fn each_element(t: u32) {
  for (var k = 0u; k < GROUP; k++) {
    let i = t * GROUP + k;
    if (i < params.n) { element(i); }
  }
}
