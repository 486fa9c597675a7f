// matmul_naive: baseline. One output element per invocation, plain K loop straight
// from global memory, no shared memory, no register blocking. Workgroup 16x16 (256
// invocations) -> 16x16 outputs per workgroup; x = column (n), y = row (m), z = batch.
// Handles any M, N, K >= 1 and all four TRANS_A / TRANS_B combinations.
// Measured on lavapipe (2 cores): ~1 GFLOP/s at 1024^3; exists only as the reference.
// Params, the bindings (a, b, c, bias, addend), TRANS_A/TRANS_B/HAS_BIAS/HAS_ADDEND and the epilogue
// helpers (bias_at, addend_at) come from matmul_lib.wgsl, prepended by the engine.

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let M = params.M;
  let N = params.N;
  let K = params.K;
  let col = gid.x;
  let row = gid.y;
  let z = gid.z;
  if (row >= M || col >= N || z >= params.batch) { return; }
  let aOff = z * params.a_batch_stride;
  let bOff = z * params.b_batch_stride;
  // element (row, k) of opA and (k, col) of opB are at aBase + k*aStep, bBase + k*bStep
  var aBase = aOff + row * K;
  var aStep = 1u;
  if (TRANS_A) { aBase = aOff + row; aStep = M; }
  var bBase = bOff + col;
  var bStep = N;
  if (TRANS_B) { bBase = bOff + col * K; bStep = 1u; }
  var acc = 0.0;
  for (var k = 0u; k < K; k++) {
    acc = fma(a[aBase + k * aStep], b[bBase + k * bStep], acc);
  }
  let i = z * params.c_batch_stride + row * N + col;
  c[i] = acc + bias_at(col) + addend_at(i, col);
}
