// Tape-based reverse-mode autodiff.
//
// GRADIENT CONVENTION (the one place it is written down):
// - An op that has an input with requiresGrad records a node: its inputs, its output and a backward rule.
// - A backward rule receives dL/d(output) and returns NEW tensors dL/d(input_i) (null where input i needs no
//   gradient). It never modifies its argument. Rules run with recording off.
// - When a tensor feeds several ops, the tape sums the contributions.
// - Sinks: for an input that is a leaf with a .grad, the rule also receives a sink, and may put that input's
//   gradient straight into leaf.grad (overwriting it when the sink says 'write', i.e. leaf.gradFresh: nothing
//   was put there since its owner zeroed it; adding to it for 'accumulate') and return leaf.grad itself for
//   that input: the tape then does nothing more for it. This saves a temporary and an accumulate dispatch per
//   parameter (a conv's bias gradient summed into b.grad, a weight gradient written into its arena slot).
//   For an intermediate input that already has a pending gradient from a later op, which no other tensor
//   shares, the sink is that pending gradient ('accumulate'): a rule that adds to it saves the tape's add.
// - Leaf tensors with requiresGrad (parameters) ACCUMULATE across backward() calls: param.grad += dL/dparam,
//   until the caller zeroes or disposes param.grad.
// - backward() frees as it goes: each node's incoming gradient once used, and each intermediate output (the
//   output of a recorded op) once its node has been processed, except the loss and keep()-ed tensors.
//   The tape is empty afterwards.
// - An op with several outputs records one node for all of them (recordMany); its rule receives one gradient
//   per output, null for an output nothing downstream used (a zero gradient).
// - Hooks registered with afterBackward() while recording run at the end of the next backward(), after the leaf
//   gradients are accumulated, newest first (a fused op over many leaves, e.g. engine/weight_norm.ts, turns the
//   gradients of its outputs, which it made leaves, into its inputs' gradients there). clear() drops them.
import { cloneTensor } from './buffer_copy.js';
import { KERNELS } from './kernels.js';
import { type Tensor, type TensorEngine, fmtShape } from './tensor.js';

/** Where a backward rule may put input i's gradient itself: the input's own .grad (see the convention). */
export interface GradSink {
  tensor: Tensor;
  /** 'write': the .grad holds nothing yet (gradFresh), overwrite it; 'accumulate': add to it. */
  mode: 'write' | 'accumulate';
}

export type BackwardRule = (gradOutput: Tensor, sinks: readonly (GradSink | null)[]) => (Tensor | null)[];
/** The rule of an op with several outputs: one gradient per output, null where none reached it. */
export type BackwardRuleMany = (gradOutputs: readonly (Tensor | null)[], sinks: readonly (GradSink | null)[]) => (Tensor | null)[];

interface TapeNode {
  op: string;
  inputs: Tensor[];
  outputs: Tensor[];
  backward: BackwardRuleMany;
}

export class Tape {
  private nodes: TapeNode[] = [];
  private producedBy = new Map<Tensor, TapeNode>();
  private enabled = true;
  private hooks: (() => void)[] = [];
  private cleared = 0;

  constructor(private readonly engine: TensorEngine) {}

  get recording(): boolean {
    return this.enabled;
  }

  /** Increases at every clear() and backward(): what was recorded before is no longer on the tape. */
  get generation(): number {
    return this.cleared;
  }

  get length(): number {
    return this.nodes.length;
  }

  noGrad<T>(fn: () => T): T {
    const prev = this.enabled;
    this.enabled = false;
    try {
      return fn();
    } finally {
      this.enabled = prev;
    }
  }

  /** Record `output = op(inputs)` if any input needs a gradient. Returns the output. */
  record(op: string, output: Tensor, inputs: Tensor[], backward: BackwardRule): Tensor {
    this.recordMany(op, [output], inputs, (g, sinks) => backward(g[0]!, sinks));
    return output;
  }

  /** Record `outputs = op(inputs)` (one node, one rule for all outputs) if any input needs a gradient. */
  recordMany<T extends Tensor[]>(op: string, outputs: T, inputs: Tensor[], backward: BackwardRuleMany): T {
    if (!this.enabled || !inputs.some((t) => t.requiresGrad)) return outputs;
    const node: TapeNode = { op, inputs, outputs, backward };
    for (const output of outputs) {
      output.requiresGrad = true;
      this.producedBy.set(output, node);
    }
    this.nodes.push(node);
    return outputs;
  }

  /** Run fn at the end of the next backward() (see the convention above). */
  afterBackward(fn: () => void): void {
    this.hooks.push(fn);
  }

  /** Forget the recorded graph without computing gradients. */
  clear(): void {
    this.nodes = [];
    this.producedBy.clear();
    this.hooks = [];
    this.cleared++;
  }

  backward(loss: Tensor, gradOutput?: Tensor): void {
    const engine = this.engine;
    loss.assertLive('backward');
    if (!loss.requiresGrad) throw new Error(`backward: the loss ${fmtShape(loss.shape)} (from ${loss.producer}) does not depend on any tensor with requiresGrad`);
    if (gradOutput && gradOutput.size !== loss.size) {
      throw new Error(`backward: gradOutput shape ${fmtShape(gradOutput.shape)} does not match the loss shape ${fmtShape(loss.shape)}`);
    }
    if (!gradOutput && loss.size !== 1) throw new Error(`backward: the loss has shape ${fmtShape(loss.shape)}; pass gradOutput for a non-scalar loss`);
    const grads = new Map<Tensor, Tensor>();
    const nodes = this.nodes;
    const hooks = this.hooks;
    const produced = new Set(nodes.flatMap((n) => n.outputs));
    this.clear();
    this.noGrad(() => {
      grads.set(loss, gradOutput ? engine.view(gradOutput, loss.shape, 'grad-seed') : engine.ones(loss.shape));
      for (let n = nodes.length - 1; n >= 0; n--) {
        const node = nodes[n]!;
        const gs = node.outputs.map((o) => grads.get(o) ?? null);
        if (gs.some((g) => g !== null)) {
          for (const o of node.outputs) grads.delete(o);
          const sinks = node.inputs.map((input, i): GradSink | null => {
            if (!input.requiresGrad || node.inputs.indexOf(input) !== i || node.inputs.lastIndexOf(input) !== i) return null;
            if (input.grad && !produced.has(input)) return { tensor: input.grad, mode: input.gradFresh ? 'write' : 'accumulate' };
            // A pending gradient nothing else shares may be added to in place.
            const pending = grads.get(input);
            return pending && pending.storage.refs === 1 && !pending.kept ? { tensor: pending, mode: 'accumulate' } : null;
          });
          const inputGrads = node.backward(gs, sinks);
          for (const g of gs) g?.dispose('gradient consumed by backward()');
          node.inputs.forEach((input, i) => {
            const gi = inputGrads[i];
            if (!gi) return;
            if (sinks[i] && gi === sinks[i]!.tensor) {
              if (input.grad === gi) input.gradFresh = false;
              return;
            }
            if (!input.requiresGrad) {
              gi.dispose('gradient not needed');
              return;
            }
            if (!sameShape(gi.shape, input.shape)) {
              throw new Error(`backward of ${node.op}: gradient for input ${i} has shape ${fmtShape(gi.shape)}, input has ${fmtShape(input.shape)}`);
            }
            const prev = grads.get(input);
            grads.set(input, prev ? this.addGrads(prev, gi) : gi);
          });
        }
        for (const o of node.outputs) if (o !== loss && !o.kept) o.dispose('intermediate freed by backward()');
      }
      // What remains are gradients of leaves (tensors no recorded op produced).
      for (const [leaf, g] of grads) {
        if (leaf.grad) {
          // In place, so a gradient that lives in an arena (see Engine.arena) stays there.
          this.accumulate(leaf.grad, g);
          leaf.gradFresh = false;
          g.dispose('gradient accumulated');
        } else if (g.storage.refs > 1) {
          // g aliases another tensor's gradient (a view from a rule): the leaf gets its own copy, as
          // accumulating into it later must not change the other.
          leaf.grad = cloneTensor(engine, g, 'grad-copy').keep();
          g.dispose('gradient copied');
        } else leaf.grad = g.keep();
      }
      for (let h = hooks.length - 1; h >= 0; h--) hooks[h]!();
    });
  }

  /**
   * a + b for gradient accumulation; disposes both. b is added into a in place when nothing else shares a's
   * storage (a rule may return a view of its incoming gradient), else into a copy of a.
   */
  private addGrads(a: Tensor, b: Tensor): Tensor {
    const sum = a.storage.refs === 1 && !a.kept ? a : cloneTensor(this.engine, a, 'grad-sum');
    this.accumulate(sum, b);
    if (sum !== a) a.dispose('gradient accumulated');
    b.dispose('gradient accumulated');
    return sum;
  }

  /** target += source, in place (shaders/accumulate.wgsl). */
  private accumulate(target: Tensor, source: Tensor): void {
    if (target.size === 0) return;
    this.engine.dispatch({ kernel: KERNELS.accumulate, params: { n: target.size, scale: 1 }, inputs: { x: source }, outputs: { y: target }, workgroups: Math.ceil(target.size / 256), label: 'accumulate' });
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

