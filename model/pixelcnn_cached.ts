// Cached autoregressive sampling of the (conditional) PixelCNN++ (the idea of Ramachandran et al. 2017,
// "Fast Generation for Convolutional Autoregressive Models", and Paine et al. 2016): every layer's activations
// are kept for the whole image, and after pixel p is drawn each layer recomputes only a window of positions that
// p changes and a later pixel needs, reading cached activations for everything else.
//
// Why it is exact. Each activation position has a *frontier*: the last pixel (raster order) it depends on,
// computed here on integer maps by running the layers' geometry (taps, strides, paddings, shifts, transposed
// convs, skip connections) over the pixel indices; -1 for positions that see no pixel (only the ones channel,
// the padding and the conditioning stream). Running the geometry backwards from the output gives its *need*:
// the first pixel whose DMOL parameters depend on it. A position is computed at a step t with
// frontier <= t < need: then everything it reads is final, and it is final before anything reads it. A full
// pass on the blank canvas makes every frontier -1 position final. After pixel t is drawn, each node, in the
// forward's order, recomputes the bounding window of its positions scheduled at t from its inputs' caches
// (other positions in the window are either already final, recomputed to the same value from final inputs, or
// not final yet, given a provisional value their own step overwrites) and writes it back into its cache
// (ops.writeWindow). So the next pixel's DMOL parameters equal the naive full pass's, computed by the same
// kernels on the same values. The conditioning stream and its injections depend on f(z) only and are computed
// once (the frozen Ctx's memo).
//
// Granularity, chosen by dispatch counts (on lavapipe a dispatch costs ~0.1-0.5 ms, more than the arithmetic
// of a window): each position is scheduled as late as the end of its frontier's image row allows. The ul stream
// at full resolution is needed by the very next pixel, so it is updated pixel by pixel (windows of one or a few
// positions); the u stream, which only later rows read, and most coarse positions are updated once per row, in
// one window per layer. Small config at 8x12: 86 dispatches per pixel (a naive pass: 187); at 32x32 see
// `npm run bench -- sample`.
import { ops, type Tensor } from '../engine/index.js';
import * as gen from '../engine/generative/index.js';
import type { Ctx, WnConv, WnDeconv, WnNin } from './layers.js';
import type { GatedResnet, PixelCnn } from './pixelcnn.js';

/** Half-open window [r0, r1) x [c0, c1) of a node's positions. */
export interface Rect {
  r0: number;
  r1: number;
  c0: number;
  c1: number;
}

type Pad4 = [number, number, number, number];

/** The input window a stride-s conv with top/left padding reads for output window r, clipped to the input, and the zero padding that replaces the clipped part. */
function footprint(r: Rect, kh: number, kw: number, s: number, pt: number, pl: number, H: number, W: number): { in: Rect; pad: Pad4 } {
  const lr = r.r0 * s - pt;
  const hr = (r.r1 - 1) * s - pt + kh;
  const lc = r.c0 * s - pl;
  const hc = (r.c1 - 1) * s - pl + kw;
  const inR: Rect = { r0: Math.max(0, lr), r1: Math.min(H, hr), c0: Math.max(0, lc), c1: Math.min(W, hc) };
  if (inR.r1 <= inR.r0 || inR.c1 <= inR.c0) throw new Error(`cached PixelCNN: window ${JSON.stringify(r)} reads no input position`);
  return { in: inR, pad: [inR.r0 - lr, hr - inR.r1, inR.c0 - lc, hc - inR.c1] };
}

function crop(t: Tensor, r: Rect): Tensor {
  const s = t.shape;
  return ops.slice(t, [0, r.r0, r.c0, 0], [s[0]!, r.r1, r.c1, s[3]!]);
}

/**
 * Every (input position, output position) pair a conv (taps kh x kw, stride s, top/left padding) connects,
 * as flat indices of its H x W input and Ho x Wo output.
 */
function convEdges(H: number, W: number, Ho: number, Wo: number, kh: number, kw: number, s: number, pt: number, pl: number, visit: (input: number, output: number) => void): void {
  for (let o = 0; o < Ho; o++)
    for (let q = 0; q < Wo; q++)
      for (let a = 0; a < kh; a++) {
        const i = o * s - pt + a;
        if (i < 0 || i >= H) continue;
        for (let b = 0; b < kw; b++) {
          const j = q * s - pl + b;
          if (j >= 0 && j < W) visit(i * W + j, o * Wo + q);
        }
      }
}

/** Frontier map of a conv from its input's map: the latest frontier among the inputs each output reads. */
function convFrontier(f: Int32Array, H: number, W: number, Ho: number, Wo: number, kh: number, kw: number, s: number, pt: number, pl: number): Int32Array {
  const out = new Int32Array(Ho * Wo).fill(-1);
  convEdges(H, W, Ho, Wo, kh, kw, s, pt, pl, (i, o) => (out[o] = Math.max(out[o]!, f[i]!)));
  return out;
}

const NEVER = 0x7fffffff;

/** Need map of a conv's input from its output's (the reverse of convFrontier): the earliest need of the outputs reading each input position. */
function convNeed(need: Int32Array, into: Int32Array, H: number, W: number, Ho: number, Wo: number, kh: number, kw: number, s: number, pt: number, pl: number): void {
  convEdges(H, W, Ho, Wo, kh, kw, s, pt, pl, (i, o) => (into[i] = Math.min(into[i]!, need[o]!)));
}

/** One cached activation tensor [B, H, W, C] of the network, with the way to recompute a window of it. */
abstract class Node {
  cache: Tensor | null = null;
  frontier: Int32Array = new Int32Array(0);
  /** Step p -> the window of positions whose frontier is p. */
  readonly steps = new Map<number, Rect>();
  constructor(
    readonly name: string,
    readonly H: number,
    readonly W: number,
  ) {}

  abstract computeFrontier(): Int32Array;
  /** The node's values on window r, [B, rows, cols, C], from its inputs' caches. */
  abstract compute(ctx: Ctx, r: Rect): Tensor;

  /** Recomputes window r into the cache. */
  update(ctx: Ctx, r: Rect): void {
    ops.writeWindow(this.value, this.compute(ctx, r), [0, r.r0, r.c0, 0]);
  }

  get full(): Rect {
    return { r0: 0, r1: this.H, c0: 0, c1: this.W };
  }

  /**
   * need[pos]: the first pixel whose DMOL parameters depend on this position (NEVER if none); filled by the
   * consumers' propagateNeed (reverse order of the forward).
   */
  need: Int32Array = new Int32Array(0);

  /** Adds this node's needs to its inputs' need maps. */
  abstract propagateNeed(): void;

  /**
   * The step at which each position is computed: after its frontier pixel (its inputs are final then) and before
   * the first pixel that needs it; as late as the end of the frontier's image row allows, so that positions that
   * only later rows need (the u stream, coarse rows) are computed once per row in one window, not pixel by pixel.
   * `imageW`: the image width (raster index = row * imageW + col).
   */
  plan(imageW: number): void {
    for (let i = 0; i < this.H; i++)
      for (let j = 0; j < this.W; j++) {
        const f = this.frontier[i * this.W + j]!;
        if (f < 0) continue;
        const n = this.need[i * this.W + j]!;
        const rowEnd = (Math.floor(f / imageW) + 1) * imageW - 1;
        const t = Math.min(rowEnd, n === NEVER ? NEVER : n - 1);
        if (t < f) throw new Error(`cached PixelCNN: node ${this.name} at (${i}, ${j}) is needed by pixel ${n} but depends on pixel ${f} (not causal)`);
        const r = this.steps.get(t);
        if (!r) this.steps.set(t, { r0: i, r1: i + 1, c0: j, c1: j + 1 });
        else {
          r.r0 = Math.min(r.r0, i);
          r.r1 = Math.max(r.r1, i + 1);
          r.c0 = Math.min(r.c0, j);
          r.c1 = Math.max(r.c1, j + 1);
        }
      }
  }

  get value(): Tensor {
    if (!this.cache) throw new Error(`cached PixelCNN: node ${this.name} has no cache yet (call init())`);
    return this.cache;
  }
}

/** The canvas x [B, H, W, C]: written by the DMOL sampler, never computed. */
class CanvasNode extends Node {
  constructor(readonly canvas: Tensor) {
    super('canvas', canvas.shape[1]!, canvas.shape[2]!);
    this.cache = canvas;
  }
  computeFrontier(): Int32Array {
    return Int32Array.from({ length: this.H * this.W }, (_, i) => i);
  }
  compute(): Tensor {
    throw new Error('cached PixelCNN: the canvas is not computed');
  }
  propagateNeed(): void {}
}

/** concat(x, ones) of the PixelCNN++'s input. */
class XPadNode extends Node {
  constructor(readonly x: CanvasNode) {
    super('xpad', x.H, x.W);
  }
  computeFrontier(): Int32Array {
    return this.x.frontier;
  }
  propagateNeed(): void {}
  compute(ctx: Ctx, r: Rect): Tensor {
    const B = this.x.canvas.shape[0]!;
    return ops.concat([crop(this.x.value, r), ctx.engine.ones([B, r.r1 - r.r0, r.c1 - r.c0, 1])], 3);
  }
  // The ones channel never changes: copy the new pixels only.
  override update(_ctx: Ctx, r: Rect): void {
    ops.writeWindow(this.value, crop(this.x.value, r), [0, r.r0, r.c0, 0]);
  }
}

function convWindow(ctx: Ctx, conv: WnConv, src: Node, r: Rect, pre: 'none' | 'concatElu'): Tensor {
  const s = conv.spec;
  const [pt, , pl] = s.pad ?? [0, 0, 0, 0];
  const fp = footprint(r, s.kh, s.kw, s.stride ?? 1, pt, pl, src.H, src.W);
  let x = crop(src.value, fp.in);
  if (pre === 'concatElu') x = gen.concatElu(x);
  return ops.conv2d(x, conv.weight(ctx), ctx.p(`${conv.name}.b`), { stride: s.stride ?? 1, pad: fp.pad });
}

function convOutSize(conv: WnConv, H: number, W: number): [number, number] {
  const s = conv.spec;
  const [pt, pb, pl, pr] = s.pad ?? [0, 0, 0, 0];
  const st = s.stride ?? 1;
  return [Math.floor((H + pt + pb - s.kh) / st) + 1, Math.floor((W + pl + pr - s.kw) / st) + 1];
}

function convFrontierOf(conv: WnConv, src: Node, Ho: number, Wo: number): Int32Array {
  const s = conv.spec;
  const [pt, , pl] = s.pad ?? [0, 0, 0, 0];
  return convFrontier(src.frontier, src.H, src.W, Ho, Wo, s.kh, s.kw, s.stride ?? 1, pt, pl);
}

function convNeedOf(conv: WnConv, need: Int32Array, src: Node, Ho: number, Wo: number): void {
  const s = conv.spec;
  const [pt, , pl] = s.pad ?? [0, 0, 0, 0];
  convNeed(need, src.need, src.H, src.W, Ho, Wo, s.kh, s.kw, s.stride ?? 1, pt, pl);
}

/** A weight-normed conv of a node (the stems, the strided down-samplers). */
class ConvNode extends Node {
  constructor(
    readonly src: Node,
    readonly conv: WnConv,
  ) {
    super(conv.name, ...convOutSize(conv, src.H, src.W));
  }
  computeFrontier(): Int32Array {
    return convFrontierOf(this.conv, this.src, this.H, this.W);
  }
  propagateNeed(): void {
    convNeedOf(this.conv, this.need, this.src, this.H, this.W);
  }
  compute(ctx: Ctx, r: Rect): Tensor {
    return convWindow(ctx, this.conv, this.src, r, 'none');
  }
}

/** Sum of shifted nodes: out(i, j) = sum_k src_k(i - dr_k, j - dc_k), zero outside (down_shift, right_shift). */
class ShiftSumNode extends Node {
  constructor(
    name: string,
    readonly sources: { node: Node; dr: number; dc: number }[],
  ) {
    super(name, sources[0]!.node.H, sources[0]!.node.W);
  }
  computeFrontier(): Int32Array {
    const out = new Int32Array(this.H * this.W).fill(-1);
    for (const { node, dr, dc } of this.sources)
      for (let i = 0; i < this.H; i++)
        for (let j = 0; j < this.W; j++) {
          const a = i - dr;
          const b = j - dc;
          if (a >= 0 && a < this.H && b >= 0 && b < this.W) out[i * this.W + j] = Math.max(out[i * this.W + j]!, node.frontier[a * this.W + b]!);
        }
    return out;
  }
  propagateNeed(): void {
    for (const { node, dr, dc } of this.sources)
      for (let i = 0; i < this.H; i++)
        for (let j = 0; j < this.W; j++) {
          const a = i - dr;
          const b = j - dc;
          if (a >= 0 && a < this.H && b >= 0 && b < this.W) node.need[a * this.W + b] = Math.min(node.need[a * this.W + b]!, this.need[i * this.W + j]!);
        }
  }
  private shifted(node: Node, dr: number, dc: number, r: Rect): Tensor {
    const src: Rect = { r0: Math.max(0, r.r0 - dr), r1: Math.min(this.H, r.r1 - dr), c0: Math.max(0, r.c0 - dc), c1: Math.min(this.W, r.c1 - dc) };
    const before = [0, src.r0 - (r.r0 - dr), src.c0 - (r.c0 - dc), 0];
    const after = [0, r.r1 - dr - src.r1, r.c1 - dc - src.c1, 0];
    if (src.r1 <= src.r0 || src.c1 <= src.c0) return ctxZeros(node, r);
    const t = crop(node.value, src);
    return before.some((v) => v > 0) || after.some((v) => v > 0) ? ops.pad(t, before, after) : t;
  }
  compute(_ctx: Ctx, r: Rect): Tensor {
    let y: Tensor | null = null;
    for (const { node, dr, dc } of this.sources) {
      const t = this.shifted(node, dr, dc, r);
      y = y ? ops.add(y, t) : t;
    }
    return y!;
  }
}

function ctxZeros(node: Node, r: Rect): Tensor {
  const s = node.value.shape;
  return node.value.engine.zeros([s[0]!, r.r1 - r.r0, r.c1 - r.c0, s[3]!]);
}

/** gated_resnet(x, a, c) of model/pixelcnn.ts on a window: conv1 over the window conv2 reads, then conv2. */
class GatedNode extends Node {
  constructor(
    name: string,
    readonly x: Node,
    readonly a: Node[],
    readonly block: GatedResnet,
    readonly injection: Tensor | null,
  ) {
    super(name, x.H, x.W);
  }
  computeFrontier(): Int32Array {
    const h = convFrontierOf(this.block.conv1, this.x, this.H, this.W);
    for (const a of this.a) for (let i = 0; i < h.length; i++) h[i] = Math.max(h[i]!, a.frontier[i]!);
    const s = this.block.conv2.spec;
    const [pt, , pl] = s.pad ?? [0, 0, 0, 0];
    const out = convFrontier(h, this.H, this.W, this.H, this.W, s.kh, s.kw, 1, pt, pl);
    for (let i = 0; i < out.length; i++) out[i] = Math.max(out[i]!, this.x.frontier[i]!);
    return out;
  }
  propagateNeed(): void {
    const s = this.block.conv2.spec;
    const [pt, , pl] = s.pad ?? [0, 0, 0, 0];
    const h = new Int32Array(this.H * this.W).fill(NEVER);
    convNeed(this.need, h, this.H, this.W, this.H, this.W, s.kh, s.kw, 1, pt, pl);
    for (const a of this.a) for (let i = 0; i < h.length; i++) a.need[i] = Math.min(a.need[i]!, h[i]!);
    for (let i = 0; i < h.length; i++) this.x.need[i] = Math.min(this.x.need[i]!, this.need[i]!);
    convNeedOf(this.block.conv1, h, this.x, this.H, this.W);
  }
  compute(ctx: Ctx, r: Rect): Tensor {
    const b = this.block;
    const s2 = b.conv2.spec;
    const [pt, , pl] = s2.pad ?? [0, 0, 0, 0];
    const fp = footprint(r, s2.kh, s2.kw, 1, pt, pl, this.H, this.W);
    // The same ops in the same order as GatedResnet.forward (dropout is off when sampling).
    let h = convWindow(ctx, b.conv1, this.x, fp.in, 'concatElu');
    if (b.ninA && this.a.length > 0) {
      const parts = this.a.map((n) => crop(n.value, fp.in));
      h = ops.add(h, b.ninA.forward(ctx, gen.concatElu(parts.length === 1 ? parts[0]! : ops.concat(parts, 3))));
    }
    if (b.ninC && this.injection) h = ops.add(h, crop(this.injection, fp.in));
    h = gen.concatElu(h);
    const y = ops.conv2d(h, b.conv2.weight(ctx), ctx.p(`${b.conv2.name}.b`), { stride: 1, pad: fp.pad });
    return gen.gate(y, crop(this.x.value, r));
  }
}

/** A weight-normed stride-s transposed conv (the up-samplers). */
class DeconvNode extends Node {
  constructor(
    readonly src: Node,
    readonly deconv: WnDeconv,
  ) {
    super(deconv.name, ...deconv.spec.outSize(src.H, src.W));
  }
  /** Every (input, output) pair the transposed conv connects: input (i, j) feeds (i s + a - crop, j s + b - crop). */
  private edges(visit: (input: number, output: number) => void): void {
    const { kh, kw, stride: s, crop: [ct, cl] } = this.deconv.spec;
    for (let i = 0; i < this.src.H; i++)
      for (let j = 0; j < this.src.W; j++)
        for (let a = 0; a < kh; a++)
          for (let b = 0; b < kw; b++) {
            const o = i * s + a - ct;
            const q = j * s + b - cl;
            if (o >= 0 && o < this.H && q >= 0 && q < this.W) visit(i * this.src.W + j, o * this.W + q);
          }
  }
  computeFrontier(): Int32Array {
    const out = new Int32Array(this.H * this.W).fill(-1);
    const f = this.src.frontier;
    this.edges((i, o) => (out[o] = Math.max(out[o]!, f[i]!)));
    return out;
  }
  propagateNeed(): void {
    const n = this.src.need;
    this.edges((i, o) => (n[i] = Math.min(n[i]!, this.need[o]!)));
  }
  compute(ctx: Ctx, r: Rect): Tensor {
    const { kh, kw, stride: s, crop: [ct, cl] } = this.deconv.spec;
    // Input rows i with i*s + a - ct in [r0, r1) for a tap a < kh.
    const i0 = Math.max(0, Math.ceil((r.r0 + ct - kh + 1) / s));
    const i1 = Math.min(this.src.H, Math.floor((r.r1 - 1 + ct) / s) + 1);
    const j0 = Math.max(0, Math.ceil((r.c0 + cl - kw + 1) / s));
    const j1 = Math.min(this.src.W, Math.floor((r.c1 - 1 + cl) / s) + 1);
    const x = crop(this.src.value, { r0: i0, r1: i1, c0: j0, c1: j1 });
    return ops.convTranspose2d(x, this.deconv.weight(ctx), ctx.p(`${this.deconv.name}.b`), {
      stride: s,
      outSize: [r.r1 - r.r0, r.c1 - r.c0],
      crop: [ct + r.r0 - i0 * s, cl + r.c0 - j0 * s],
    });
  }
}

/** The DMOL parameters nin(elu(ul)). */
class HeadNode extends Node {
  constructor(
    readonly ul: Node,
    readonly head: WnNin,
  ) {
    super('head', ul.H, ul.W);
  }
  computeFrontier(): Int32Array {
    return this.ul.frontier;
  }
  propagateNeed(): void {
    for (let i = 0; i < this.need.length; i++) this.ul.need[i] = Math.min(this.ul.need[i]!, this.need[i]!);
  }
  compute(ctx: Ctx, r: Rect): Tensor {
    return this.head.forward(ctx, ops.elu(crop(this.ul.value, r)));
  }
}

/**
 * The cached sampler's state for one batch: the canvas (written by gen.dmolSample), the conditioning image (or
 * null), a frozen Ctx. init() runs the full pass on the canvas as it is (blank); after pixel p of every image is
 * written, update(p) makes the DMOL parameters of pixel p + 1 (params) final.
 */
export class CachedPixelCnn {
  private readonly nodes: Node[] = [];
  private readonly headNode: HeadNode;
  private readonly canvasNode: CanvasNode;

  constructor(
    private readonly ctx: Ctx,
    pixelcnn: PixelCnn,
    canvas: Tensor,
    cond: Tensor | null,
  ) {
    const pc = pixelcnn;
    const R = pc.cfg.resnets;
    if (pc.cond && !cond) throw new Error('cached PixelCNN: this model is conditional; pass the conditioning image');
    const [, H, W] = canvas.shape as [number, number, number, number];
    if (H % 4 !== 0 || W % 4 !== 0) throw new Error(`cached PixelCNN: image size ${H}x${W} must be divisible by 4 (three stages)`);
    const add = <T extends Node>(n: T): T => {
      this.nodes.push(n);
      return n;
    };
    this.canvasNode = new CanvasNode(canvas);
    const xpad = add(new XPadNode(this.canvasNode));
    const stemU = add(new ConvNode(xpad, pc.stemU));
    const stemUlDown = add(new ConvNode(xpad, pc.stemUlDown));
    const stemUlRight = add(new ConvNode(xpad, pc.stemUlRight));
    const U: Node[] = [add(new ShiftSumNode('u0', [{ node: stemU, dr: 1, dc: 0 }]))];
    const UL: Node[] = [add(new ShiftSumNode('ul0', [{ node: stemUlDown, dr: 1, dc: 0 }, { node: stemUlRight, dr: 0, dc: 1 }]))];
    // The conditioning stream exactly as PixelCnn.forward walks it (memoised in the frozen ctx).
    const cs = pc.cond;
    let c = cs && cond ? cs.start(ctx, cond) : null;
    const step = (): void => {
      if (c && cs) c = cs.next(ctx, c);
    };
    const inj = (b: GatedResnet): Tensor | null => (b.ninC && c ? b.injection(ctx, c) : null);
    for (let s = 0; s < 3; s++) {
      for (let r = 0; r < R; r++) {
        step();
        const bu = pc.upU[s]![r]!;
        const u = add(new GatedNode(`up${s}.${r}.u`, U[U.length - 1]!, [], bu, inj(bu)));
        U.push(u);
        const bul = pc.upUl[s]![r]!;
        UL.push(add(new GatedNode(`up${s}.${r}.ul`, UL[UL.length - 1]!, [u], bul, inj(bul))));
      }
      if (s < 2) {
        U.push(add(new ConvNode(U[U.length - 1]!, pc.downsampleU[s]!)));
        UL.push(add(new ConvNode(UL[UL.length - 1]!, pc.downsampleUl[s]!)));
        if (c && cs) c = cs.down(ctx, c, s);
      }
    }
    let u = U.pop()!;
    let ul = UL.pop()!;
    for (let s = 0; s < 3; s++) {
      for (const [i, bu] of pc.downU[s]!.entries()) {
        step();
        u = add(new GatedNode(`down${s}.${i}.u`, u, [U.pop()!], bu, inj(bu)));
        const bul = pc.downUl[s]![i]!;
        ul = add(new GatedNode(`down${s}.${i}.ul`, ul, [u, UL.pop()!], bul, inj(bul)));
      }
      if (s < 2) {
        u = add(new DeconvNode(u, pc.upsampleU[s]!));
        ul = add(new DeconvNode(ul, pc.upsampleUl[s]!));
        if (c && cs) c = cs.up(ctx, c, s);
      }
    }
    if (U.length !== 0 || UL.length !== 0) throw new Error(`cached PixelCNN: skip lists not consumed (${U.length}, ${UL.length} left)`);
    this.headNode = add(new HeadNode(ul, pc.head));
    this.canvasNode.frontier = this.canvasNode.computeFrontier();
    for (const n of this.nodes) {
      n.frontier = n.computeFrontier();
      n.need = new Int32Array(n.H * n.W).fill(NEVER);
    }
    // Causality: pixel q's parameters must not depend on pixel q or later.
    const f = this.headNode.frontier;
    for (let q = 0; q < f.length; q++) if (f[q]! >= q) throw new Error(`cached PixelCNN: the parameters of pixel ${q} depend on pixel ${f[q]} (not causal)`);
    this.headNode.need = Int32Array.from({ length: H * W }, (_, q) => q);
    for (let k = this.nodes.length - 1; k >= 0; k--) this.nodes[k]!.propagateNeed();
    for (const n of this.nodes) n.plan(W);
  }

  /** The DMOL parameters [B, H, W, K] (pixels whose frontier has been updated are final). */
  get params(): Tensor {
    return this.headNode.value;
  }

  /** Full pass on the current canvas: fills every node's cache. */
  init(): void {
    const e = this.ctx.engine;
    e.noGrad(() => {
      for (const n of this.nodes) {
        n.cache?.dispose();
        n.cache = null;
        n.cache = e.scope(() => n.compute(this.ctx, n.full)).keep();
      }
    });
  }

  /** After pixel p (raster index) is written into the canvas: recompute what becomes final. */
  update(p: number): void {
    const e = this.ctx.engine;
    e.noGrad(() =>
      e.scope(() => {
        for (const n of this.nodes) {
          const r = n.steps.get(p);
          if (r) n.update(this.ctx, r);
        }
        return undefined;
      }),
    );
  }

  dispose(): void {
    for (const n of this.nodes) {
      n.cache?.dispose();
      n.cache = null;
    }
  }
}
