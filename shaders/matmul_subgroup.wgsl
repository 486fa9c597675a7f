// matmul_subgroup: the register-blocked matmul (matmul_tiled.wgsl's 64x64 tile, 8x8 outputs per invocation)
// with its A operand shared through subgroup shuffles instead of each invocation loading it. The 8 invocations
// of one tile row (same ty, tx = 0..7) need the same 8 A rows; per chunk of 8 k, invocation tx loads those rows
// at k0 + tx (8 loads), and the 8 k steps take them from the row's lanes with subgroupShuffle, so A costs one
// load per k instead of eight; B is loaded as in matmul_tiled (its columns differ between the lanes).
// Needs the adapter feature `subgroups` (the registry opens the kernel with `enable subgroups;`) and subgroups of at least 8 lanes made of consecutive invocations
// (lane = local_invocation_index mod subgroup size), which every implementation here has; the tuner checks each
// candidate's output against the static choice before timing it (engine/tuning/tuner.ts), so a device that
// lays subgroups out otherwise gets a refused candidate, never a wrong result. Edges: rows and columns clamped
// for loads and masked on the store (store4); k past K loads 0 for A. Any M, N, K >= 1, all TRANS_A/TRANS_B,
// batch = workgroup_id.z with per-operand strides (0 = broadcast). Dispatch = (ceil(N/64), ceil(M/64), batch).
// Params, bindings, TRANS_*, HAS_* and store4 come from matmul_lib.wgsl, prepended by the engine.
@compute @workgroup_size(8, 8, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_invocation_id) sid: u32) {
  let M = params.M; let N = params.N; let K = params.K;
  let tx = lid.x; let ty = lid.y;
  let row0 = wid.y * 64u; let col0 = wid.x * 64u;
  let aOff = wid.z * params.a_batch_stride; let bOff = wid.z * params.b_batch_stride;
  // The lane of this tile row's invocation tx = 0 (the row's 8 lanes are consecutive within the subgroup).
  let lane0 = sid - tx;
  // Rows 4 * (ty + 8 h) + q and columns 4 * (tx + 8 j) + q, clamped for loading.
  var rows: array<vec4<u32>, 2>;
  var cols: array<vec4<u32>, 2>;
  for (var h = 0u; h < 2u; h++) {
    let r = row0 + 4u * (ty + 8u * h);
    rows[h] = min(vec4<u32>(r, r + 1u, r + 2u, r + 3u), vec4<u32>(M - 1u));
    let c = col0 + 4u * (tx + 8u * h);
    cols[h] = min(vec4<u32>(c, c + 1u, c + 2u, c + 3u), vec4<u32>(N - 1u));
  }
  var aS = vec4<u32>(K); var aK = 1u;
  if (TRANS_A) { aS = vec4<u32>(1u); aK = M; }
  var bS = vec4<u32>(1u); var bK = N;
  if (TRANS_B) { bS = vec4<u32>(K); bK = 1u; }
  var acc: array<vec4<f32>, 16>;
  for (var i = 0u; i < 16u; i++) { acc[i] = vec4<f32>(0.0); }
  for (var k0 = 0u; k0 < K; k0 += 8u) {
    // This lane's share of A: its 8 rows at k0 + tx (0 past K).
    let ka = k0 + tx;
    let kc = min(ka, K - 1u);
    let live = f32(ka < K);
    let ia0 = aOff + rows[0] * aS + vec4<u32>(kc * aK);
    let ia1 = aOff + rows[1] * aS + vec4<u32>(kc * aK);
    let mine0 = vec4<f32>(a[ia0.x], a[ia0.y], a[ia0.z], a[ia0.w]) * live;
    let mine1 = vec4<f32>(a[ia1.x], a[ia1.y], a[ia1.z], a[ia1.w]) * live;
    for (var kk = 0u; kk < 8u; kk++) {
      let a0 = subgroupShuffle(mine0, lane0 + kk);
      let a1 = subgroupShuffle(mine1, lane0 + kk);
      let k = min(k0 + kk, K - 1u);
      let ib0 = bOff + cols[0] * bS + vec4<u32>(k * bK);
      let ib1 = bOff + cols[1] * bS + vec4<u32>(k * bK);
      let b0 = vec4<f32>(b[ib0.x], b[ib0.y], b[ib0.z], b[ib0.w]);
      let b1 = vec4<f32>(b[ib1.x], b[ib1.y], b[ib1.z], b[ib1.w]);
      for (var q = 0u; q < 4u; q++) {
        acc[q * 2u] = fma(vec4<f32>(a0[q]), b0, acc[q * 2u]);
        acc[q * 2u + 1u] = fma(vec4<f32>(a0[q]), b1, acc[q * 2u + 1u]);
        acc[8u + q * 2u] = fma(vec4<f32>(a1[q]), b0, acc[8u + q * 2u]);
        acc[8u + q * 2u + 1u] = fma(vec4<f32>(a1[q]), b1, acc[8u + q * 2u + 1u]);
      }
    }
  }
  let cOff = wid.z * params.c_batch_stride;
  for (var h = 0u; h < 2u; h++) {
    for (var q = 0u; q < 4u; q++) {
      for (var j = 0u; j < 2u; j++) {
        store4(cOff, row0 + 4u * (ty + 8u * h) + q, col0 + 4u * (tx + 8u * j), acc[h * 8u + q * 2u + j]);
      }
    }
  }
}
