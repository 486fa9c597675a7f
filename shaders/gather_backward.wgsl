// dL/dx of gather.wgsl: a scatter-add of dy [outer, k, inner] into dx [outer, n, inner] at the gathered rows.
// Repeated indices add up. WGSL has no float atomics, so one invocation owns one column (o, i) of dx: it zeroes
// the column, then adds dy[o, j, i] for every j in order, so no two invocations write one element and the sums
// are deterministic. Indices outside [0, n) contribute nothing. Params and indices come from gather_lib.wgsl (prepended
// by the engine).
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (c >= params.count) { return; }
  let inner = params.inner;
  let i = c % inner;
  let o = c / inner;
  let dx_base = o * params.n * inner + i;
  for (var r = 0u; r < params.n; r++) { dx[dx_base + r * inner] = 0.0; }
  let dy_base = o * params.k * inner + i;
  for (var j = 0u; j < params.k; j++) {
    let idx = indices[j];
    if (idx >= 0 && u32(idx) < params.n) {
      dx[dx_base + u32(idx) * inner] += dy[dy_base + j * inner];
    }
  }
}
