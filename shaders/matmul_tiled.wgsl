// matmul_tiled: register-blocked matmul WITHOUT shared memory (the fastest general kernel on
// lavapipe; see matmul_tiled_shared.wgsl for the shared-memory design that suits discrete GPUs).
// Design: workgroup 8x8 = 64 invocations, each computes an 8x8 block of C (2 column groups of
// vec4 per row, 16 vec4 accumulators), so a workgroup covers a 64x64 tile of C. Thread (tx, ty)
// owns rows 4*(ty + 8r) + i (r < 2, i < 4) and columns 4*(tx + 8j) + q (j < 2, q < 4), so that
// neighbouring invocations read neighbouring addresses. Per k step it loads 8 A + 8 B values and
// does 64 FMAs straight from global memory (relies on L1/L2 caches; no barriers).
// Edges: row/column indices are clamped for loads (always in bounds) and masked on the store, so
// the K loop has no branches. Any M, N, K >= 1, all TRANS_A/TRANS_B (override constants, resolved
// at pipeline creation), batch = workgroup_id.z with per-operand batch strides (0 = broadcast).
// Measured on lavapipe (llvmpipe, 2 cores, AVX2, 8-wide SIMD): ~5.5-7 GFLOP/s at 1024^3 vs ~1
// for naive. Why no shared memory: llvmpipe does every per-invocation (non-constant-address)
// load as a per-lane scalar loop, and workgroupBarrier() is a coroutine switch per 8 lanes, so
// staging through workgroup memory only adds work there (same tile in matmul_tiled_shared: ~4.5).
// 8x8 outputs/thread beat 4x4 (3.9-4.7) and 4x8/8x4 (4.2-4.8): fewer loads per FMA. Manually
// unrolling the k loop (x4) made it 2x slower (register spills).
// Outputs fully unrolled by hand (16 named vec4 accumulators); dispatch = (ceil(N/BN), ceil(M/BM), batch).
// operand4 (f32_operands_lib.wgsl, or f16_operands_lib.wgsl for the mixed-precision matmul_tiled_f16) holds the
// loaded operands as f32 or f16.
// Params, the bindings (a, b, c, bias, addend), TRANS_A/TRANS_B/HAS_BIAS/HAS_ADDEND and the epilogue
// helpers (bias_at, bias4, addend_at, addend4, store4, the store of 4 outputs, and store_block, of the invocation's
// 8x8 block) come from matmul_lib.wgsl, prepended by the engine.
// The workgroup's shape (engine/matmul_variants.ts picks it per problem): WGX x WGY invocations of 8x8 outputs
// each, a (8 WGY) x (8 WGX) tile of C. 8x8 (64x64) for wide outputs; thin ones (nin layers with 16 or 32 output
// channels, or a weight gradient's 32x16 block) use 2x32 (256x16), 4x16 (128x32) or fewer rows, so no lane
// computes columns or rows that do not exist.
override WGX: u32 = 8u;
override WGY: u32 = 8u;
@compute @workgroup_size(WGX, WGY, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let M = params.M; let N = params.N; let K = params.K;
  let tx = lid.x; let ty = lid.y;
  let BM = 8u * WGY; let BN = 8u * WGX;
  let row0 = wid.y * BM; let col0 = wid.x * BN;
  let aOff = wid.z * params.a_batch_stride; let bOff = wid.z * params.b_batch_stride;
  var aS = 1u; if (TRANS_A) { aS = M; }
  var bS = N; if (TRANS_B) { bS = 1u; }
  let ar_0_0 = aOff + select(min(row0 + 4u * (ty + 0u * WGY) + 0u, M - 1u) * K, min(row0 + 4u * (ty + 0u * WGY) + 0u, M - 1u), TRANS_A);
  let ar_0_1 = aOff + select(min(row0 + 4u * (ty + 0u * WGY) + 1u, M - 1u) * K, min(row0 + 4u * (ty + 0u * WGY) + 1u, M - 1u), TRANS_A);
  let ar_0_2 = aOff + select(min(row0 + 4u * (ty + 0u * WGY) + 2u, M - 1u) * K, min(row0 + 4u * (ty + 0u * WGY) + 2u, M - 1u), TRANS_A);
  let ar_0_3 = aOff + select(min(row0 + 4u * (ty + 0u * WGY) + 3u, M - 1u) * K, min(row0 + 4u * (ty + 0u * WGY) + 3u, M - 1u), TRANS_A);
  let ar_1_0 = aOff + select(min(row0 + 4u * (ty + 1u * WGY) + 0u, M - 1u) * K, min(row0 + 4u * (ty + 1u * WGY) + 0u, M - 1u), TRANS_A);
  let ar_1_1 = aOff + select(min(row0 + 4u * (ty + 1u * WGY) + 1u, M - 1u) * K, min(row0 + 4u * (ty + 1u * WGY) + 1u, M - 1u), TRANS_A);
  let ar_1_2 = aOff + select(min(row0 + 4u * (ty + 1u * WGY) + 2u, M - 1u) * K, min(row0 + 4u * (ty + 1u * WGY) + 2u, M - 1u), TRANS_A);
  let ar_1_3 = aOff + select(min(row0 + 4u * (ty + 1u * WGY) + 3u, M - 1u) * K, min(row0 + 4u * (ty + 1u * WGY) + 3u, M - 1u), TRANS_A);
  let bc_0_0 = bOff + select(min(col0 + 4u * (tx + 0u * WGX) + 0u, N - 1u), min(col0 + 4u * (tx + 0u * WGX) + 0u, N - 1u) * K, TRANS_B);
  let bc_0_1 = bOff + select(min(col0 + 4u * (tx + 0u * WGX) + 1u, N - 1u), min(col0 + 4u * (tx + 0u * WGX) + 1u, N - 1u) * K, TRANS_B);
  let bc_0_2 = bOff + select(min(col0 + 4u * (tx + 0u * WGX) + 2u, N - 1u), min(col0 + 4u * (tx + 0u * WGX) + 2u, N - 1u) * K, TRANS_B);
  let bc_0_3 = bOff + select(min(col0 + 4u * (tx + 0u * WGX) + 3u, N - 1u), min(col0 + 4u * (tx + 0u * WGX) + 3u, N - 1u) * K, TRANS_B);
  let bc_1_0 = bOff + select(min(col0 + 4u * (tx + 1u * WGX) + 0u, N - 1u), min(col0 + 4u * (tx + 1u * WGX) + 0u, N - 1u) * K, TRANS_B);
  let bc_1_1 = bOff + select(min(col0 + 4u * (tx + 1u * WGX) + 1u, N - 1u), min(col0 + 4u * (tx + 1u * WGX) + 1u, N - 1u) * K, TRANS_B);
  let bc_1_2 = bOff + select(min(col0 + 4u * (tx + 1u * WGX) + 2u, N - 1u), min(col0 + 4u * (tx + 1u * WGX) + 2u, N - 1u) * K, TRANS_B);
  let bc_1_3 = bOff + select(min(col0 + 4u * (tx + 1u * WGX) + 3u, N - 1u), min(col0 + 4u * (tx + 1u * WGX) + 3u, N - 1u) * K, TRANS_B);
  var acc_0_0_0 = vec4<f32>(0.0);
  var acc_0_0_1 = vec4<f32>(0.0);
  var acc_0_1_0 = vec4<f32>(0.0);
  var acc_0_1_1 = vec4<f32>(0.0);
  var acc_0_2_0 = vec4<f32>(0.0);
  var acc_0_2_1 = vec4<f32>(0.0);
  var acc_0_3_0 = vec4<f32>(0.0);
  var acc_0_3_1 = vec4<f32>(0.0);
  var acc_1_0_0 = vec4<f32>(0.0);
  var acc_1_0_1 = vec4<f32>(0.0);
  var acc_1_1_0 = vec4<f32>(0.0);
  var acc_1_1_1 = vec4<f32>(0.0);
  var acc_1_2_0 = vec4<f32>(0.0);
  var acc_1_2_1 = vec4<f32>(0.0);
  var acc_1_3_0 = vec4<f32>(0.0);
  var acc_1_3_1 = vec4<f32>(0.0);
  for (var k = 0u; k < K; k++) {
    { let ka = k * aS; let kb = k * bS;
      let a0 = operand4(vec4<f32>(a[ar_0_0 + ka], a[ar_0_1 + ka], a[ar_0_2 + ka], a[ar_0_3 + ka]));
      let a1 = operand4(vec4<f32>(a[ar_1_0 + ka], a[ar_1_1 + ka], a[ar_1_2 + ka], a[ar_1_3 + ka]));
      let b0 = operand4(vec4<f32>(b[bc_0_0 + kb], b[bc_0_1 + kb], b[bc_0_2 + kb], b[bc_0_3 + kb]));
      let b1 = operand4(vec4<f32>(b[bc_1_0 + kb], b[bc_1_1 + kb], b[bc_1_2 + kb], b[bc_1_3 + kb]));
      acc_0_0_0 = fma(vec4<f32>(a0[0]), b0, acc_0_0_0);
      acc_0_0_1 = fma(vec4<f32>(a0[0]), b1, acc_0_0_1);
      acc_0_1_0 = fma(vec4<f32>(a0[1]), b0, acc_0_1_0);
      acc_0_1_1 = fma(vec4<f32>(a0[1]), b1, acc_0_1_1);
      acc_0_2_0 = fma(vec4<f32>(a0[2]), b0, acc_0_2_0);
      acc_0_2_1 = fma(vec4<f32>(a0[2]), b1, acc_0_2_1);
      acc_0_3_0 = fma(vec4<f32>(a0[3]), b0, acc_0_3_0);
      acc_0_3_1 = fma(vec4<f32>(a0[3]), b1, acc_0_3_1);
      acc_1_0_0 = fma(vec4<f32>(a1[0]), b0, acc_1_0_0);
      acc_1_0_1 = fma(vec4<f32>(a1[0]), b1, acc_1_0_1);
      acc_1_1_0 = fma(vec4<f32>(a1[1]), b0, acc_1_1_0);
      acc_1_1_1 = fma(vec4<f32>(a1[1]), b1, acc_1_1_1);
      acc_1_2_0 = fma(vec4<f32>(a1[2]), b0, acc_1_2_0);
      acc_1_2_1 = fma(vec4<f32>(a1[2]), b1, acc_1_2_1);
      acc_1_3_0 = fma(vec4<f32>(a1[3]), b0, acc_1_3_0);
      acc_1_3_1 = fma(vec4<f32>(a1[3]), b1, acc_1_3_1);
    }
  }
  let rows = vec2u(row0 + 4u * (ty + 0u * WGY), row0 + 4u * (ty + 1u * WGY));
  let cols = vec2u(col0 + 4u * (tx + 0u * WGX), col0 + 4u * (tx + 1u * WGX));
  store_block(wid.z * params.c_batch_stride, rows, cols, array<vec4<f32>, 16>(
    acc_0_0_0, acc_0_0_1, acc_0_1_0, acc_0_1_1, acc_0_2_0, acc_0_2_1, acc_0_3_0, acc_0_3_1,
    acc_1_0_0, acc_1_0_1, acc_1_1_0, acc_1_1_1, acc_1_2_0, acc_1_2_1, acc_1_3_0, acc_1_3_1));
}
