// gather (index-select) along one axis: x seen as [outer, n, inner], indices int32 [k] (any shape, flattened),
// y [outer, k, inner] with y[o, j, i] = x[o, indices[j], i]; an index outside [0, n) gives 0 (TensorFlow's GPU
// rule), never a read out of bounds. One invocation per output element. Params and indices come from gather_lib.wgsl
// (prepended by the engine).
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (t >= params.count) { return; }
  let inner = params.inner;
  let i = t % inner;
  let j = (t / inner) % params.k;
  let o = t / (inner * params.k);
  let idx = indices[j];
  if (idx < 0 || u32(idx) >= params.n) {
    y[t] = 0.0;
  } else {
    y[t] = x[(o * params.n + u32(idx)) * inner + i];
  }
}
