// The optimizers' update passes over a parameter set's arenas: SGD (momentum, Nesterov), Adam, AdamW and Adamax
// (the TF form the AGAVE model trains with, docs/MODEL.md §3.9, and Theano's AdaMaxAvg), all one kernel
// (shaders/optimizer.wgsl) dispatched once per arena chunk, with L2 or decoupled weight decay (one dispatch per
// run of parameters with equal decay where it is a function of the name) and the gradient scaled by the global-
// norm clipping factor (health.ts clipFactorPass) read on the GPU, so clipping costs no readback. Each rule's
// state lives in named state arenas (zero at first use) and its step count in the set, so both are saved and
// restored with the parameters (checkpoint.ts). The formulas are in the kernel's header; the float64 reference
// of each is in test/reference/optim.ts.
import { KERNELS } from '../kernels.js';
import { OPTIMIZER_CODES } from '../op_codes.js';
import type { Tensor } from '../tensor.js';
import { unusedOutput } from '../ops/scratch.js';
import type { ParameterArenas } from './arenas.js';

/** A learning rate: a number, or a schedule of the optimizer's step count (0 at its first step; schedules.ts). */
export type LearningRate = number | ((step: number) => number);

/** What every optimizer takes besides its own hyper-parameters. */
export interface OptimizerOptions {
  lr?: LearningRate;
  /**
   * Weight decay: L2 (g += wd * p) for SGD, Adam and Adamax; decoupled (p *= 1 - lr * wd) for AdamW. A function
   * gives each parameter its own (e.g. 0 for biases): one dispatch per run of parameters with equal decay.
   */
  weightDecay?: number | ((name: string) => number);
  /** Clip the gradient to this global L2 norm (PyTorch's clip_grad_norm_), on the GPU, before the update. */
  clipNorm?: number;
}

export interface SgdOptions extends OptimizerOptions {
  /** Default 0 (plain SGD, no state). */
  momentum?: number;
  /** Default 0. */
  dampening?: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). */
  nesterov?: boolean;
}

export interface AdamOptions extends OptimizerOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
}

export interface AdamaxOptions extends OptimizerOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** 'tf' (default): u <- max(beta2 u + eps, |g|). 'theano': u <- max(beta2 u, |g| + eps). */
  variant?: 'tf' | 'theano';
}

/** The state arenas of each rule, as named in checkpoints and health reports, and the step counter's name. */
export const OPTIMIZER_STATE = {
  sgd: { counter: 'sgd', arenas: ['sgd.momentum'] },
  adam: { counter: 'adam', arenas: ['adam.m', 'adam.v'] },
  adamax: { counter: 'adamax', arenas: ['adamax.v', 'adamax.u'] },
} as const;
export type OptimizerKind = keyof typeof OPTIMIZER_STATE;

/** The Adamax state arenas' names (the trainer's checkpoints store them as 'v' and 'u'). */
export const ADAMAX_STATE = { v: 'adamax.v', u: 'adamax.u' } as const;

function checked(value: number, name: string, what: string, ok: (v: number) => boolean, range: string): number {
  if (typeof value !== 'number' || !ok(value)) throw new Error(`${what}: ${name} must be ${range}, got ${value}`);
  return value;
}

/** The learning rate at `step` (a schedule evaluated), checked. */
export function learningRate(lr: LearningRate, step: number, what: string): number {
  const v = typeof lr === 'function' ? lr(step) : lr;
  return checked(v, typeof lr === 'function' ? `the learning-rate schedule's value at step ${step}` : 'lr', what, (x) => Number.isFinite(x) && x >= 0, 'a finite number >= 0');
}

interface Rule {
  kind: OptimizerKind;
  /** The state arenas it reads and writes (SGD without momentum: none). */
  arenas: readonly string[];
  code: number;
  overrides: Record<string, boolean>;
  /** Hyper-parameters of the kernel, besides lr and the decay terms. */
  params: Record<string, number>;
  lr: number;
  /** AdamW: decay p by (1 - lr wd) instead of adding wd p to the gradient. */
  decoupled: boolean;
}

const NONE = { lr: 0, beta1: 0, one_minus_beta1: 0, beta2: 0, one_minus_beta2: 0, eps: 0, step_size: 0, bc2_sqrt: 1, momentum: 0, one_minus_dampening: 0, first: 0 };

/**
 * One update of every parameter by `rule`: one dispatch per arena chunk (per run of equal weight decay when that
 * is a function of the name). `clip`: the clipping factor's tensor (health.ts), or null.
 */
function updatePass(set: ParameterArenas, rule: Rule, weightDecay: OptimizerOptions['weightDecay'], clip: Tensor | null, what: string): void {
  const e = set.engine;
  const state = rule.arenas.map((name) => set.stateArena(name));
  const checkDecay = (wd: number, name?: string): number => checked(wd, `weightDecay${name ? ` of '${name}'` : ''}`, what, (x) => Number.isFinite(x) && x >= 0, 'a finite number >= 0');
  const dispatch = (n: number, g: Tensor, p: Tensor, s: Tensor[], wd: number): void => {
    e.dispatch({
      kernel: KERNELS.optimizer,
      overrides: { OP: rule.code, CLIP: clip !== null, ...rule.overrides },
      params: { ...NONE, ...rule.params, n, lr: rule.lr, l2: rule.decoupled ? 0 : wd, decay_mul: rule.decoupled ? 1 - rule.lr * wd : 1 },
      inputs: { g, scale: clip ?? g },
      outputs: { p, s1: s[0] ?? unusedOutput(e, 0), s2: s[1] ?? unusedOutput(e, 1) },
      workgroups: Math.ceil(n / 256),
      label: rule.kind,
    });
  };
  if (typeof weightDecay !== 'function') {
    const wd = checkDecay(weightDecay ?? 0);
    set.layout.chunks.forEach((c, k) => dispatch(c.size, set.gradWindows[k]!, set.paramWindows[k]!, state.map((a) => a.windows[k]!), wd));
    return;
  }
  for (const r of set.layout.ranges((name) => checkDecay(weightDecay(name), name))) {
    const windows = [set.gradArena, set.paramArena, ...state.map((a) => a.whole)].map((t) => e.window(t, r.offset, [r.size], `${rule.kind}.range`));
    dispatch(r.size, windows[0]!, windows[1]!, windows.slice(2), r.value);
    for (const w of windows) w.dispose();
  }
}

/** SGD with optional momentum (PyTorch's torch.optim.SGD). `step`: this optimizer's steps so far (0 first). */
export function sgdPass(set: ParameterArenas, o: SgdOptions, step: number, clip: Tensor | null): void {
  const what = 'SGD';
  const momentum = checked(o.momentum ?? 0, 'momentum', what, (x) => x >= 0 && x < 1, 'in [0, 1)');
  const dampening = checked(o.dampening ?? 0, 'dampening', what, (x) => x >= 0 && x <= 1, 'in [0, 1]');
  const nesterov = o.nesterov ?? false;
  if (nesterov && (momentum === 0 || dampening !== 0)) throw new Error(`${what}: Nesterov momentum needs momentum > 0 and dampening 0 (got momentum ${momentum}, dampening ${dampening})`);
  const lr = learningRate(o.lr ?? 0.01, step, what);
  const withMomentum = momentum > 0;
  const rule: Rule = {
    kind: 'sgd',
    arenas: withMomentum ? OPTIMIZER_STATE.sgd.arenas : [],
    code: OPTIMIZER_CODES.sgd,
    overrides: { MOMENTUM: withMomentum, NESTEROV: nesterov },
    // The momentum buffer starts as the first gradient itself (PyTorch), not (1 - dampening) g.
    params: { momentum, one_minus_dampening: 1 - dampening, first: step === 0 ? 1 : 0 },
    lr,
    decoupled: false,
  };
  updatePass(set, rule, o.weightDecay, clip, what);
}

/** Adam, or AdamW with `decoupled` (PyTorch's forms, bias-corrected). `step`: this optimizer's steps so far. */
export function adamPass(set: ParameterArenas, o: AdamOptions, step: number, clip: Tensor | null, decoupled: boolean): void {
  const what = decoupled ? 'AdamW' : 'Adam';
  const beta1 = checked(o.beta1 ?? 0.9, 'beta1', what, (x) => x >= 0 && x < 1, 'in [0, 1)');
  const beta2 = checked(o.beta2 ?? 0.999, 'beta2', what, (x) => x >= 0 && x < 1, 'in [0, 1)');
  const eps = checked(o.eps ?? 1e-8, 'eps', what, (x) => x > 0, '> 0');
  const lr = learningRate(o.lr ?? 0.001, step, what);
  const t = step + 1;
  updatePass(
    set,
    {
      kind: 'adam',
      arenas: OPTIMIZER_STATE.adam.arenas,
      code: OPTIMIZER_CODES.adam,
      overrides: {},
      params: { beta1, one_minus_beta1: 1 - beta1, beta2, one_minus_beta2: 1 - beta2, eps, step_size: lr / (1 - beta1 ** t), bc2_sqrt: Math.sqrt(1 - beta2 ** t) },
      lr,
      decoupled,
    },
    o.weightDecay ?? (decoupled ? 0.01 : 0),
    clip,
    what,
  );
}

/** Adamax (TF form by default, no bias correction; docs/MODEL.md §3.9). */
export function adamaxPass(set: ParameterArenas, o: AdamaxOptions, step = 0, clip: Tensor | null = null): void {
  const what = 'Adamax';
  const beta1 = o.beta1 ?? 0.9;
  const beta2 = o.beta2 ?? 0.999;
  const eps = o.eps ?? 1e-8;
  const theano = (o.variant ?? 'tf') === 'theano';
  updatePass(
    set,
    { kind: 'adamax', arenas: OPTIMIZER_STATE.adamax.arenas, code: theano ? OPTIMIZER_CODES.adamaxTheano : OPTIMIZER_CODES.adamax, overrides: {}, params: { beta1, one_minus_beta1: 1 - beta1, beta2, eps }, lr: learningRate(o.lr ?? 0.002, step, what), decoupled: false },
    o.weightDecay,
    clip,
    what,
  );
}
