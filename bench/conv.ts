// Convolution benchmarks at the PixelCNN++ shapes (batch 16, 160 filters, concat_elu-doubled 320 inputs),
// the stride-2 down/up-samplers, the 1x1 nin, and conv3x3 shapes comparable with other engines.
// GFLOP/s counts 2 * B * Ho * Wo * Cout * taps * Cin per pass (nominal, padding included).
import { ops, type Engine, type Tensor } from '../engine/index.js';
import { printTable, row, timeIt, type BenchRow } from './harness.js';

interface ConvCase {
  name: string;
  /** For a transposed conv: the geometry of the conv it transposes (x = the deconv's output). */
  x: [number, number, number, number];
  w: [number, number, number, number];
  stride?: number;
  pad?: [number, number, number, number];
  /** Transposed conv: its forward is the data-gradient kernel, its data gradient the forward kernel. */
  transposed?: boolean;
}

const F = 160;
export const CONV_CASES: ConvCase[] = [
  { name: 'down_shifted 2x3 32x32 320->160', x: [16, 32, 32, 2 * F], w: [2, 3, 2 * F, F], pad: [1, 0, 1, 1] },
  { name: 'down_right 2x2 32x32 320->160', x: [16, 32, 32, 2 * F], w: [2, 2, 2 * F, F], pad: [1, 0, 1, 0] },
  { name: 'down_shifted 2x3 16x16 320->160', x: [16, 16, 16, 2 * F], w: [2, 3, 2 * F, F], pad: [1, 0, 1, 1] },
  { name: 'down_shifted 2x3 8x8 320->160', x: [16, 8, 8, 2 * F], w: [2, 3, 2 * F, F], pad: [1, 0, 1, 1] },
  { name: 'nin 1x1 32x32 320->160', x: [16, 32, 32, 2 * F], w: [1, 1, 2 * F, F] },
  { name: 'down 2x3 s2 32->16 160->160', x: [16, 32, 32, F], w: [2, 3, F, F], stride: 2, pad: [1, 0, 1, 1] },
  { name: 'down 2x2 s2 32->16 160->160', x: [16, 32, 32, F], w: [2, 2, F, F], stride: 2, pad: [1, 0, 1, 0] },
  { name: 'up (deconv) 2x3 s2 16->32 160->160', x: [16, 32, 32, F], w: [2, 3, F, F], stride: 2, pad: [0, 1, 1, 1], transposed: true },
  { name: 'up (deconv) 2x2 s2 16->32 160->160', x: [16, 32, 32, F], w: [2, 2, F, F], stride: 2, pad: [0, 1, 0, 1], transposed: true },
  { name: 'conv3x3 B16 32x32 64->64', x: [16, 32, 32, 64], w: [3, 3, 64, 64], pad: [1, 1, 1, 1] },
  { name: 'conv3x3 B16 16x16 160->160', x: [16, 16, 16, F], w: [3, 3, F, F], pad: [1, 1, 1, 1] },
];

export async function benchConv(engine: Engine, filter?: string, variants?: string[]): Promise<void> {
  const rows: BenchRow[] = [];
  // 'auto' = the variant the engine picks for each kernel kind; others force a kernel family by name.
  const names = variants ?? ['auto'];
  for (const c of CONV_CASES.filter((k) => !filter || k.name.includes(filter))) {
    const x = engine.uniform(c.x, -1, 1);
    const w = engine.uniform(c.w, -0.05, 0.05);
    const g = ops.convGeometry(c.x, c.w, { stride: c.stride ?? 1, pad: c.pad ?? [0, 0, 0, 0] });
    const flop = 2 * g.B * g.Ho * g.Wo * g.Cout * g.T * g.Cin;
    const dy = engine.uniform([g.B, g.Ho, g.Wo, g.Cout], -1, 1);
    for (const v of names) {
      let total = 0;
      const forced = v === 'auto' ? undefined : v;
      const fwd: [string, () => Tensor] = ['fwd', () => ops.convKernels.forward(x, w, null, g, forced)];
      const dgrad: [string, () => Tensor] = ['dgrad', () => ops.convKernels.dataGrad(dy, w, null, g, forced)];
      const wgrad: [string, () => Tensor] = ['wgrad', () => ops.convKernels.weightGrad(x, dy, g, c.w, forced)];
      const passes: [string, () => Tensor][] = c.transposed ? [['fwd', dgrad[1]], ['dgrad', fwd[1]], wgrad] : [fwd, dgrad, wgrad];
      for (const [pass, fn] of passes) {
        let out: Tensor | null = null;
        const ms = await timeIt(engine, () => {
          out?.dispose();
          out = fn();
        }, { reps: 3, budgetMs: 15_000 });
        (out as Tensor | null)?.dispose();
        total += ms;
        rows.push(row(`${c.name} ${pass} [${v}]`, ms, flop));
      }
      rows.push(row(`${c.name} fwd+dgrad+wgrad [${v}]`, total, 3 * flop));
    }
    for (const t of [x, w, dy]) t.dispose();
  }
  printTable('conv2d (NHWC, float32)', rows);
}
