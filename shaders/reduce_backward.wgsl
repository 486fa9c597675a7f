// Input gradient of reduce.wgsl: for each input element, o = its output position (strides that are 0 on
// reduced axes), then dx = g[o] (sum), g[o]/count (mean), g[o]*exp(x - y[o]) (logsumexp), and for max
// g[o]/ties[o] where x == y[o], else 0: the gradient is split equally among tied maxima (the rule of TF's
// reduce_max and of the elementwise maximum). REDUCE_TIES writes the tie indicator (x == y[o]) that engine/ops/reduce.ts
// sums into ties[]; the other ops ignore `ties`.
// element() is one element's work; each_element() (the bounds check, GROUP) comes from elementwise_lib.wgsl.
struct Params {
  n: u32, rank: u32, count: u32, _p0: u32,
  shape: array<vec4<u32>, 2>,
  out_strides: array<vec4<u32>, 2>,
}
// OP and strided_offset() come from reduce_lib.wgsl, prepended by the engine.
// The rank after engine/ops/reduce.ts merged neighbouring axes; a pipeline constant, so the loop unrolls.
override RANK: u32;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read> ties: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

fn element(i: u32) {
  let o = strided_offset(i, RANK, params.shape, params.out_strides);
  let go = g[o];
  switch OP {
    case REDUCE_MEAN: { dx[i] = go / f32(params.count); }
    case REDUCE_MAX: { if (x[i] == y[o]) { dx[i] = go / ties[o]; } else { dx[i] = 0.0; } }
    case REDUCE_LOGSUMEXP: { dx[i] = go * exp(x[i] - y[o]); }
    case REDUCE_TIES: { dx[i] = select(0.0, 1.0, x[i] == y[o]); }
    default: { dx[i] = go; }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_element((wid.y * nwg.x + wid.x) * 256u + lid);
}
