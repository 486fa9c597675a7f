// Convolution kernel variants, fastest first; ops/conv.ts takes the first whose requirements the geometry
// meets (or one forced by name). Every variant implements the same tap-list geometry (see ops/conv.ts).
import { KERNELS } from './kernels.js';
import type { KernelSource } from './runner.js';

export type ConvKernelKind = 'fwd' | 'dgrad' | 'wgrad';

/** x [B,H,W,Cin] -> y [B,Ho,Wo,Cout] with T taps, stride and top/left padding. */
export interface ConvProblem {
  B: number; H: number; W: number; Cin: number;
  Ho: number; Wo: number; Cout: number; T: number;
  stride: number; padTop: number; padLeft: number;
}

export interface ConvVariant {
  name: string;
  kind: ConvKernelKind;
  kernel: KernelSource;
  /** Override constants selecting this variant's specialisation of the kernel for a geometry. */
  overrides?(p: ConvProblem): Record<string, number>;
  supports(p: ConvProblem): boolean;
  /** Workgroup counts (or a 1-D total, folded by the runner). */
  dispatch(p: ConvProblem): number | [number, number, number];
}

const cdiv = (a: number, b: number): number => Math.ceil(a / b);

/** GEMM sizes (M, N) of each kind, for tiled dispatch. */
function gemmMN(kind: ConvKernelKind, p: ConvProblem): [number, number] {
  if (kind === 'fwd') return [p.B * p.Ho * p.Wo, p.Cout];
  if (kind === 'dgrad') return [p.B * p.H * p.W, p.Cin];
  return [p.T * p.Cin, p.Cout];
}

const tiled = (kind: ConvKernelKind, mode: number): ConvVariant => ({
  name: 'tiled64',
  kind,
  kernel: KERNELS.conv2d_tiled,
  overrides: (p) => ({ MODE: mode, STRIDE: p.stride }),
  supports: () => true,
  dispatch: (p) => {
    const [M, N] = gemmMN(kind, p);
    return [cdiv(N, 64), cdiv(M, 64), 1];
  },
});

export const CONV_VARIANTS: readonly ConvVariant[] = [
  tiled('fwd', 0),
  tiled('dgrad', 1),
  tiled('wgrad', 2),
  { name: 'naive', kind: 'fwd', kernel: KERNELS.conv2d_naive_fwd, supports: () => true, dispatch: (p) => cdiv(p.B * p.Ho * p.Wo * p.Cout, 256) },
  { name: 'naive', kind: 'dgrad', kernel: KERNELS.conv2d_naive_dgrad, supports: () => true, dispatch: (p) => cdiv(p.B * p.H * p.W * p.Cin, 256) },
  { name: 'naive', kind: 'wgrad', kernel: KERNELS.conv2d_naive_wgrad, supports: () => true, dispatch: (p) => cdiv(p.T * p.Cin * p.Cout, 256) },
];
