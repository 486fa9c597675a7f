// Named initialisers for the layer kit: a weight's initial values from its fan-in and fan-out, as a ParamInit
// the parameter set draws from its Philox stream (N(0, std^2) or U(-limit, limit)):
//   heNormal       std   = sqrt(2 / fanIn)             (He et al. 2015; PyTorch kaiming_normal_, ReLU gain)
//   heUniform      limit = sqrt(6 / fanIn)             (kaiming_uniform_)
//   glorotNormal   std   = sqrt(2 / (fanIn + fanOut))  (Glorot & Bengio 2010; xavier_normal_)
//   glorotUniform  limit = sqrt(6 / (fanIn + fanOut))  (xavier_uniform_; Keras' default)
//   lecunNormal    std   = sqrt(1 / fanIn)             (LeCun 1998; SELU nets)
// Normal draws are not truncated (PyTorch's form; Keras truncates its he_normal / glorot_normal).
import type { ParamInit } from '../params/parameter_set.js';

export const INITIALIZERS = ['heNormal', 'heUniform', 'glorotNormal', 'glorotUniform', 'lecunNormal'] as const;
export type InitializerName = (typeof INITIALIZERS)[number];
/** A named initialiser, or any ParamInit ('zeros', 'ones', { normal: std }, { uniform: limit }, values). */
export type Initializer = InitializerName | ParamInit;

/** The ParamInit of a named initialiser for a weight with these fans (a ParamInit passes through). */
export function initializer(init: Initializer, fanIn: number, fanOut: number): ParamInit {
  if (typeof init !== 'string' || init === 'zeros' || init === 'ones') return init;
  if (!(fanIn > 0 && fanOut > 0)) throw new Error(`initializer '${init}': fans must be positive, got fanIn ${fanIn}, fanOut ${fanOut}`);
  switch (init) {
    case 'heNormal':
      return { normal: Math.sqrt(2 / fanIn) };
    case 'heUniform':
      return { uniform: Math.sqrt(6 / fanIn) };
    case 'glorotNormal':
      return { normal: Math.sqrt(2 / (fanIn + fanOut)) };
    case 'glorotUniform':
      return { uniform: Math.sqrt(6 / (fanIn + fanOut)) };
    case 'lecunNormal':
      return { normal: Math.sqrt(1 / fanIn) };
    default:
      throw new Error(`initializer: unknown name '${String(init)}' (one of ${INITIALIZERS.join(', ')}, 'zeros', 'ones', { normal }, { uniform })`);
  }
}
