// Polyak averaging over a chunk of the parameter and EMA arenas (engine/optim.ts), in place.
// MODE 0: ema <- decay * ema + one_minus_decay * p (one_minus_decay = 1 - decay computed in float64 on the CPU).
// MODE 1: swap p and ema (evaluation with EMA weights without a third copy; swapping twice restores both).
// element() is one element's work; each_element() (the bounds check, GROUP) comes from elementwise_lib.wgsl.
struct Params { n: u32, decay: f32, one_minus_decay: f32, _p0: u32 }
override MODE: u32 = 0u;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> p: array<f32>;
@group(0) @binding(2) var<storage, read_write> ema: array<f32>;

fn element(i: u32) {
  if (MODE == 1u) {
    let t = p[i];
    p[i] = ema[i];
    ema[i] = t;
  } else {
    ema[i] = params.decay * ema[i] + params.one_minus_decay * p[i];
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  each_element((wid.y * nwg.x + wid.x) * 256u + lid);
}
