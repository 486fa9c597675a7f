// `mpirun -np N node dist/bench.js allreduce [--configs small,paper]`: the gradient all-reduce of a
// data-parallel step (train/distributed/data-parallel.ts averageGradients) on a config's real parameter arena
// (the model's parameter specs; the model itself is not run): GPU -> host copies, MPI_Allreduce in chunks,
// scaling, host -> GPU writes, as the training loop does it; and the MPI_Allreduce of the same bytes alone, on
// host memory. Rank 0 prints ms per step, the algorithmic bandwidth (bytes / time) and the ring's bus
// bandwidth (2 (N - 1) / N x bytes / time, what each link carries).
import { ParameterSet, type Engine } from '../engine/index.js';
import { Agave } from '../model/agave.js';
import { CONFIGS, type ConfigName } from '../model/config.js';
import { GRADIENT_CHUNK, type DataParallel } from '../train/distributed/data-parallel.js';
import { printTable, row, type BenchRow } from './harness.js';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchAllreduce(engine: Engine, dp: DataParallel, configs: ConfigName[], reps = 5): Promise<void> {
  const rows: BenchRow[] = [];
  const n = dp.size;
  for (const name of configs) {
    const model = new Agave(CONFIGS[name], { variant: 'identity' }, 3, 'agave');
    const params = ParameterSet.create(engine, model.builder.specs, 1);
    try {
      await engine.sync();
      const bytes = params.arenaSize * 4;
      const what = `${name}: ${params.count.toLocaleString('en-US')} parameters, ${(bytes / 2 ** 20).toFixed(1)} MiB arena`;
      const gpuPath: number[] = [];
      for (let i = 0; i <= reps; i++) {
        const t0 = performance.now();
        await dp.averageGradients(params, 1);
        await engine.sync();
        if (i > 0) gpuPath.push(performance.now() - t0); // the first: warm-up
      }
      const host = new Float32Array(params.arenaSize);
      const hostOnly: number[] = [];
      for (let i = 0; i <= reps; i++) {
        await dp.mpi.arrive('bench');
        const t0 = performance.now();
        for (let o = 0; o < host.length; o += GRADIENT_CHUNK) await dp.mpi.allreduce(host.subarray(o, Math.min(host.length, o + GRADIENT_CHUNK)), 'bench all-reduce');
        if (i > 0) hostOnly.push(performance.now() - t0);
      }
      const bus = (2 * (n - 1)) / n;
      const note = (ms: number): string => `bus ${((bus * bytes) / (ms * 1e6)).toFixed(2)} GB/s`;
      const a = median(gpuPath);
      const b = median(hostOnly);
      rows.push(row(`${what}: GPU -> host -> all-reduce -> GPU`, a, undefined, bytes, note(a)));
      rows.push(row(`${what}: MPI_Allreduce alone (host memory)`, b, undefined, bytes, note(b)));
    } finally {
      params.dispose();
    }
  }
  if (dp.writes) printTable(`gradient all-reduce per step, ${n} ranks (${dp.mpi.ranks.map((r) => r.host).filter((h, i, a) => a.indexOf(h) === i).length} host(s)), chunks of ${GRADIENT_CHUNK} elements; GB/s = bytes / time`, rows);
}
