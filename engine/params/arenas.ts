// What the per-parameter passes (adamax.ts, ema.ts, health.ts, checkpoint.ts) work on: the arenas of a
// parameter set and their shared layout. ParameterSet (parameter_set.ts) implements it and calls the passes;
// the passes know only this interface, so the files import one way.
import type { Engine } from '../engine.js';
import type { Tensor } from '../tensor.js';
import type { ArenaLayout } from './layout.js';

/** An arena with the parameter arena's layout, whole and as the chunk windows one dispatch binds. */
export interface LayoutArena {
  whole: Tensor;
  windows: Tensor[];
}

export interface ParameterArenas {
  readonly engine: Engine;
  readonly layout: ArenaLayout;
  /** The parameter and gradient arenas, whole and as chunk windows. */
  readonly paramArena: Tensor;
  readonly gradArena: Tensor;
  readonly paramWindows: Tensor[];
  readonly gradWindows: Tensor[];
  /** A state arena by name ('ema', 'adamax.v', ...), made zeroed on first use. */
  stateArena(name: string): LayoutArena;
  /** A state arena if it was made, else null. */
  existingStateArena(name: string): LayoutArena | null;
}
