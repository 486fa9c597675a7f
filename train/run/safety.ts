// Messages of the training loop's safety stops: the non-finite state after an update, and a resume
// with nothing left to do.
import type { FinitenessReport, NonFiniteHit } from '../../engine/index.js';

const ARENA_WORDS: Record<NonFiniteHit['arena'], string> = {
  params: 'parameters',
  ema: 'EMA',
  'adamax.v': 'Adamax v',
  'adamax.u': 'Adamax u',
  'adam.m': 'Adam m',
  'adam.v': 'Adam v',
  'sgd.momentum': 'SGD momentum',
};

/** The group of a parameter: its layer, i.e. the name without the last component ('pixelcnn.up.0.V' -> 'pixelcnn.up.0'). */
export function parameterGroup(name: string): string {
  const i = name.lastIndexOf('.');
  return i > 0 ? name.slice(0, i) : name;
}

function where(h: NonFiniteHit): string {
  if (h.parameter === '') return h.after !== undefined ? `the alignment gap after '${h.after}'` : 'an alignment gap';
  return `'${h.parameter}'[${h.element}]`;
}

/**
 * `step N: non-finite parameters after the update (first bad parameter group 'x'; parameters at 'x.V'[3], EMA at
 * ...); stopping. The last good checkpoint (PATH) is kept unchanged.` The parameter arena's first hit names the
 * group (Adamax state and EMA follow from it in the same update); without one, the first arena that has a hit.
 */
export function nonFiniteStateMessage(step: number, report: FinitenessReport, checkpoint: string | null): string {
  const lead = report.hits.find((h) => h.arena === 'params' && h.parameter !== '') ?? report.hits.find((h) => h.parameter !== '') ?? report.hits[0];
  const group = lead && lead.parameter !== '' ? `first bad parameter group '${parameterGroup(lead.parameter)}'; ` : '';
  const list = report.hits.map((h) => `${ARENA_WORDS[h.arena]} at ${where(h)}`).join(', ');
  return `step ${step}: non-finite ${report.hits.map((h) => ARENA_WORDS[h.arena]).join(', ')} after the update (${group}first NaN/Inf: ${list}); ` +
    `stopping. The last good checkpoint (${checkpoint ?? 'none written yet'}) is kept unchanged.`;
}

export function nothingToDoMessage(checkpointStep: number, steps: number, checkpoint: string): string {
  return `nothing to do: ${checkpoint} is at step ${checkpointStep} and --steps is ${steps}` +
    `${checkpointStep > steps ? ` (it cannot go back; ` : ' ('}give --steps larger than ${checkpointStep} to train further)`;
}
