// Backward of freeBitsKL, one thread per element of kl [B, H*W*Z]:
// MODE 0 (objective): dkl = g[0] / B where channel_kl[c] > kl_min, else 0 (the subgradient of max that is 0
//        at and below the floor: channels held at the floor get no gradient);
// MODE 1 (true KL):   dkl = g[b] (channel_kl unused).
// element() is one element's work; each_element() (the bounds check, GROUP) comes from elementwise_lib.wgsl.
struct Params { n: u32, channels: u32, per_image: u32, kl_min: f32, inv_batch: f32, _p0: u32, _p1: u32, _p2: u32 }
override MODE: u32 = 0u;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> channel_kl: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> dkl: array<f32>;

fn element(i: u32) {
  if (MODE == 0u) {
    dkl[i] = select(0.0, g[0] * params.inv_batch, channel_kl[i % params.channels] > params.kl_min);
  } else {
    dkl[i] = g[i / params.per_image];
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_element((wid.y * nwg.x + wid.x) * 256u + lid);
}
