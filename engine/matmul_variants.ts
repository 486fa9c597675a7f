export interface MatmulVariant {
  name: string;
  shader: string;
  workgroupSize: [number, number, number];
  tileM: number;
  tileN: number;
  supports(M: number, N: number, K: number, transA: boolean, transB: boolean): boolean;
  dispatch(M: number, N: number, batch: number): [number, number, number];
}
const cdiv = (x: number, y: number): number => Math.ceil(x / y);
export const MATMUL_NAIVE: MatmulVariant = {
  name: 'naive',
  shader: 'matmul_naive.wgsl',
  workgroupSize: [16, 16, 1],
  tileM: 16,
  tileN: 16,
  supports: () => true,
  dispatch: (M, N, batch) => [cdiv(N, 16), cdiv(M, 16), batch],
};
export const MATMUL_VARIANTS: readonly MatmulVariant[] = [MATMUL_NAIVE];
