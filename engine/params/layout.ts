// The layout shared by every arena of a parameter set (parameters, gradients, EMA, optimizer state): each
// parameter at a 256-byte-aligned element offset (gaps zero), in spec order, so element i of every arena
// belongs to the same scalar; and the chunks one dispatch binds (at most maxStorageBufferBindingSize bytes:
// the paper model's ~105M parameters are 420 MB per arena, lavapipe binds at most 128 MiB). Checkpoints store
// arenas packed (concatenated in spec order, no gaps): pack/unpack convert.
import { shapeSize } from '../tensor.js';

/** A range [offset, offset + size) of the arenas that one dispatch binds. */
export interface Chunk {
  offset: number;
  size: number;
}

/** Where an arena element lies: a parameter and its element, or the alignment gap after one. */
export interface ArenaPlace {
  /** The parameter holding it ('' when it lies in an alignment gap between parameters). */
  parameter: string;
  /** Its index within that parameter (within the gap when parameter is ''), and in the packed checkpoint order. */
  element: number;
  packedIndex: number;
  /** For a gap: the parameter the gap follows. */
  after?: string;
}

export class ArenaLayout {
  /** Number of scalars (without alignment gaps). */
  readonly count: number;
  readonly chunks: readonly Chunk[];

  constructor(
    readonly names: string[],
    readonly shapes: number[][],
    /** Element offset of each parameter in the arenas. */
    readonly offsets: readonly number[],
    /** Elements per arena, gaps included. */
    readonly arenaSize: number,
    /** Largest number of elements one dispatch covers. */
    readonly chunkElements: number,
  ) {
    this.count = shapes.reduce((a, s) => a + shapeSize(s), 0);
    const chunks: Chunk[] = [];
    for (let o = 0; o < arenaSize; o += chunkElements) chunks.push({ offset: o, size: Math.min(chunkElements, arenaSize - o) });
    this.chunks = chunks;
  }

  /** The parameter (or alignment gap) holding arena element `index`. */
  locate(index: number): ArenaPlace {
    let packed = 0;
    for (let i = 0; i < this.names.length; i++) {
      const start = this.offsets[i]!;
      const n = shapeSize(this.shapes[i]!);
      if (index >= start && index < start + n) return { parameter: this.names[i]!, element: index - start, packedIndex: packed + index - start };
      packed += n;
      const next = i + 1 < this.names.length ? this.offsets[i + 1]! : this.arenaSize;
      if (index >= start + n && index < next) return { parameter: '', element: index - start - n, packedIndex: -1, after: this.names[i]! };
    }
    return { parameter: '', element: index, packedIndex: -1 };
  }

  /**
   * The arena cut where a per-parameter value changes: runs of consecutive parameters with the same
   * `valueOf(name)` (the gap after a parameter goes with it), each split into pieces of at most chunkElements,
   * so a per-parameter setting (an EMA decay, a weight decay) costs one dispatch per run and chunk.
   */
  ranges(valueOf: (name: string) => number): { offset: number; size: number; value: number }[] {
    const runs: { start: number; end: number; value: number }[] = [];
    this.names.forEach((name, i) => {
      const value = valueOf(name);
      const start = this.offsets[i]!;
      const last = runs[runs.length - 1];
      if (last && last.value === value) return;
      if (last) last.end = start;
      runs.push({ start, end: this.arenaSize, value });
    });
    const out: { offset: number; size: number; value: number }[] = [];
    for (const r of runs) for (let o = r.start; o < r.end; o += this.chunkElements) out.push({ offset: o, size: Math.min(this.chunkElements, r.end - o), value: r.value });
    return out;
  }

  /** An arena's values packed in spec order (no gaps). */
  pack(arena: Float32Array): Float32Array {
    const out = new Float32Array(this.count);
    let k = 0;
    this.shapes.forEach((s, i) => {
      const n = shapeSize(s);
      out.set(arena.subarray(this.offsets[i]!, this.offsets[i]! + n), k);
      k += n;
    });
    return out;
  }

  /** Packed values laid out as an arena (gaps zero); `what` names them in the length error. */
  unpack(packed: Float32Array, what: string): Float32Array {
    if (packed.length !== this.count) throw new Error(`ParameterSet.load: ${what} has ${packed.length} values, expected ${this.count}`);
    const out = new Float32Array(this.arenaSize);
    let k = 0;
    this.shapes.forEach((s, i) => {
      const n = shapeSize(s);
      out.set(packed.subarray(k, k + n), this.offsets[i]!);
      k += n;
    });
    return out;
  }
}
