// Workgroup reductions through a kernel's `var<workgroup> scratch: array<f32, N>` (declared by the kernel, one slot
// per invocation), prepended by the engine to the kernels that list it (engine/kernels.ts WGSL_LIBS
// 'workgroup_reduce'). They contain barriers: call them from uniform control flow, from every invocation.

// The workgroup's sum of x into scratch[0]: scratch[lid] = x, then a tree of halves (half = N / 2), one barrier
// per level.
fn workgroup_sum(lid: u32, half: u32, x: f32) {
  scratch[lid] = x;
  workgroupBarrier();
  tree_sum(lid, half);
}

// The tree of workgroup_sum over values already in scratch (and a barrier passed since they were written).
fn tree_sum(lid: u32, half: u32) {
  for (var s = half; s > 0u; s >>= 1u) {
    if (lid < s) { scratch[lid] += scratch[lid + s]; }
    workgroupBarrier();
  }
}

// The workgroup's maximum of x into scratch[0], like workgroup_sum.
fn workgroup_max(lid: u32, half: u32, x: f32) {
  scratch[lid] = x;
  workgroupBarrier();
  for (var s = half; s > 0u; s >>= 1u) {
    if (lid < s) { scratch[lid] = max(scratch[lid], scratch[lid + s]); }
    workgroupBarrier();
  }
}

// For invocation lid < c: the sum of scratch[j] over j < t with j % c == lid (threads j of the per-channel
// kernels, whose thread j always sees channel j % c).
fn channel_sum(lid: u32, t: u32, c: u32) -> f32 {
  var s = 0.0;
  for (var j = lid; j < t; j += c) { s += scratch[j]; }
  return s;
}
