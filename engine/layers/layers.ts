// A small layer kit for applications (the AGAVE model keeps its own weight-normed layers): Linear, Conv2d and
// LayerNorm modules declared on a `Layers` collection, which then creates ONE ParameterSet for all of them (so
// an optimizer step stays one dispatch per arena chunk) and binds each module to it. A model is a few lines:
//   const nn = new Layers();
//   const fc1 = nn.linear('fc1', 784, 256, { init: 'heNormal' });
//   const fc2 = nn.linear('fc2', 256, 10);
//   const params = nn.create(engine, { seed: 1 });
//   const logits = fc2.forward(ops.relu(fc1.forward(x)));
import type { Engine } from '../engine.js';
import { conv2d, layerNorm, nin } from '../ops/index.js';
import { ParameterSet, type ParamInit, type ParamSpec, type ParameterSetOptions } from '../params/parameter_set.js';
import { type Tensor, fmtShape } from '../tensor.js';
import { initializer, type Initializer } from './init.js';

export interface LinearOptions {
  /** The weight's initialiser (default 'glorotUniform', Keras' default; 'heNormal' suits ReLU nets). */
  init?: Initializer;
  /** Default true. */
  bias?: boolean;
  /** Default 'zeros'. */
  biasInit?: ParamInit;
}

export interface Conv2dOptions extends LinearOptions {
  /** Kernel size k (k x k) or [kh, kw]. */
  kernel: number | readonly [number, number];
  /** Default 1. */
  stride?: number;
  /** Zero padding: p on every side, [top, bottom, left, right], or 'same' (output size = ceil(input / stride); extra on the bottom / right). Default 0. */
  pad?: number | 'same' | readonly [number, number, number, number];
}

export interface LayersCreateOptions extends ParameterSetOptions {
  /** Seed of the initial values (each parameter draws its own Philox stream). */
  seed: number;
}

/** A module's parameters, looked up in the set its Layers created. */
abstract class Module {
  constructor(
    protected readonly owner: Layers,
    /** The module's name: its parameters are '<name>.w', '<name>.b' (LayerNorm: '<name>.gamma', '<name>.beta'). */
    readonly name: string,
  ) {}

  protected param(suffix: string): Tensor {
    return this.owner.parameters(`${this.name}.forward`).get(`${this.name}.${suffix}`);
  }
}

/** y = x w + b over the last axis: x [..., in] -> [..., out]; w [in, out], b [out] (bias in the matmul's epilogue). */
export class Linear extends Module {
  constructor(owner: Layers, name: string, readonly inFeatures: number, readonly outFeatures: number, readonly hasBias: boolean) {
    super(owner, name);
  }

  get weight(): Tensor {
    return this.param('w');
  }

  get bias(): Tensor | null {
    return this.hasBias ? this.param('b') : null;
  }

  forward(x: Tensor): Tensor {
    if (x.shape[x.rank - 1] !== this.inFeatures) throw new Error(`${this.name}.forward: input ${fmtShape(x.shape)} must end in ${this.inFeatures} features`);
    return nin(x, this.weight, this.bias);
  }
}

/** 2-D convolution on NHWC images: x [B, H, W, in] -> [B, H', W', out]; w [kh, kw, in, out], b [out]. */
export class Conv2d extends Module {
  constructor(
    owner: Layers,
    name: string,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: readonly [number, number],
    readonly stride: number,
    private readonly padding: number | 'same' | readonly [number, number, number, number],
    readonly hasBias: boolean,
  ) {
    super(owner, name);
  }

  get weight(): Tensor {
    return this.param('w');
  }

  get bias(): Tensor | null {
    return this.hasBias ? this.param('b') : null;
  }

  /** [top, bottom, left, right] for an input of H x W. */
  padFor(H: number, W: number): [number, number, number, number] {
    const p = this.padding;
    if (typeof p === 'number') return [p, p, p, p];
    if (p !== 'same') return [...p] as [number, number, number, number];
    const total = (size: number, k: number): number => Math.max(0, (Math.ceil(size / this.stride) - 1) * this.stride + k - size);
    const th = total(H, this.kernel[0]);
    const tw = total(W, this.kernel[1]);
    return [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
  }

  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[3] !== this.inChannels) throw new Error(`${this.name}.forward: input ${fmtShape(x.shape)} must be NHWC with ${this.inChannels} channels`);
    return conv2d(x, this.weight, this.bias, { stride: this.stride, pad: this.padFor(x.shape[1]!, x.shape[2]!) });
  }
}

/** Layer normalisation over the last axis with a learned scale (ones) and shift (zeros). */
export class LayerNorm extends Module {
  constructor(owner: Layers, name: string, readonly features: number, readonly eps: number) {
    super(owner, name);
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.param('gamma'), this.param('beta'), this.eps);
  }
}

/** Declares modules, then creates one ParameterSet for all their parameters (see the top of this file). */
export class Layers {
  private readonly specs: ParamSpec[] = [];
  private set: ParameterSet | null = null;

  private add(spec: ParamSpec): void {
    if (this.set) throw new Error(`Layers: '${spec.name}' declared after create(); declare every module first`);
    if (this.specs.some((s) => s.name === spec.name)) throw new Error(`Layers: a parameter '${spec.name}' is already declared (module names must be unique)`);
    this.specs.push(spec);
  }

  /** A parameter of your own (a module you write yourself); get it with parameters().get(name) after create(). */
  param(name: string, shape: number[], init: ParamInit): void {
    this.add({ name, shape, init });
  }

  linear(name: string, inFeatures: number, outFeatures: number, options: LinearOptions = {}): Linear {
    for (const [what, v] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`Layers.linear '${name}': ${what} must be a positive integer, got ${v}`);
    }
    const bias = options.bias ?? true;
    this.add({ name: `${name}.w`, shape: [inFeatures, outFeatures], init: initializer(options.init ?? 'glorotUniform', inFeatures, outFeatures) });
    if (bias) this.add({ name: `${name}.b`, shape: [outFeatures], init: options.biasInit ?? 'zeros' });
    return new Linear(this, name, inFeatures, outFeatures, bias);
  }

  conv2d(name: string, inChannels: number, outChannels: number, options: Conv2dOptions): Conv2d {
    const k: [number, number] = typeof options.kernel === 'number' ? [options.kernel, options.kernel] : [options.kernel[0], options.kernel[1]];
    const stride = options.stride ?? 1;
    for (const [what, v] of [['inChannels', inChannels], ['outChannels', outChannels], ['kernel', k[0]], ['kernel', k[1]], ['stride', stride]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`Layers.conv2d '${name}': ${what} must be a positive integer, got ${v}`);
    }
    const pad = options.pad ?? 0;
    if (pad !== 'same' && !(typeof pad === 'number' ? [pad] : pad).every((p) => Number.isInteger(p) && p >= 0)) {
      throw new Error(`Layers.conv2d '${name}': pad must be a non-negative integer, [top, bottom, left, right] or 'same', got ${JSON.stringify(pad)}`);
    }
    const bias = options.bias ?? true;
    this.add({ name: `${name}.w`, shape: [k[0], k[1], inChannels, outChannels], init: initializer(options.init ?? 'glorotUniform', k[0] * k[1] * inChannels, k[0] * k[1] * outChannels) });
    if (bias) this.add({ name: `${name}.b`, shape: [outChannels], init: options.biasInit ?? 'zeros' });
    return new Conv2d(this, name, inChannels, outChannels, k, stride, pad, bias);
  }

  layerNorm(name: string, features: number, eps = 1e-5): LayerNorm {
    if (!Number.isInteger(features) || features < 1) throw new Error(`Layers.layerNorm '${name}': features must be a positive integer, got ${features}`);
    this.add({ name: `${name}.gamma`, shape: [features], init: 'ones' });
    this.add({ name: `${name}.beta`, shape: [features], init: 'zeros' });
    return new LayerNorm(this, name, features, eps);
  }

  /** The specs declared so far (what create() allocates). */
  get declared(): readonly ParamSpec[] {
    return this.specs;
  }

  /** Allocates and initialises one ParameterSet holding every declared parameter, and binds the modules to it. */
  create(engine: Engine, options: LayersCreateOptions): ParameterSet {
    if (this.set && !this.set.isDisposed) throw new Error('Layers.create: already created; dispose() that parameter set first');
    const { seed, ...setOptions } = options;
    this.set = ParameterSet.create(engine, this.specs, seed, setOptions);
    return this.set;
  }

  /** The ParameterSet create() made. */
  parameters(what = 'Layers.parameters'): ParameterSet {
    if (!this.set) throw new Error(`${what}: call create(engine, { seed }) on the Layers first`);
    return this.set;
  }
}
