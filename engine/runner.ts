// The kernel runner: every GPU dispatch of the engine goes through `dispatch()`.
// - Pipelines are cached by (shader, override constants); WGSL `override`s are how kernels are specialised.
// - Bindings are checked against the shader by reflection (wgsl_reflect): names, count and access mode.
// - Per-dispatch parameters are packed by member name into one uniform arena bound with a dynamic offset,
//   written once per submit (no buffer is created per dispatch).
// - All dispatches are recorded into one command encoder / compute pass and submitted at a readback or an
//   explicit flush (ENGINE_NOTES §2: ~5 us of CPU per dispatch instead of ~100).
// - Optional per-kernel GPU timing with timestamp queries (one pass per dispatch while timing is on).
import { WgslReflect } from 'wgsl_reflect';
import type { BufferPool, PooledBuffer } from './pool.js';
import { BufferUsage, MapMode, ShaderStage } from './webgpu_constants.js';

export interface KernelSource {
  /** File name without extension; names the kernel in errors and timings. */
  readonly name: string;
  readonly code: string;
  /** Shared WGSL functions prepended to `code` (e.g. shaders/philox_lib.wgsl): WGSL has no include. */
  readonly prelude?: string;
}

/** The WGSL compiled for a kernel: its prelude, then its own file. */
export function fullSource(kernel: KernelSource): string {
  return kernel.prelude ? `${kernel.prelude}\n${kernel.code}` : kernel.code;
}

/** Anything bindable as a storage buffer (a Tensor is one): the pooled buffer and the byte range used. */
export interface Binding {
  readonly gpuBuffer: PooledBuffer;
  /** Multiple of minStorageBufferOffsetAlignment (256). */
  readonly byteOffset: number;
  readonly byteLength: number;
  /** Throws if the data was freed; called with the kernel's name. */
  assertLive?(usedBy: string): void;
}

/**
 * The bytes a storage binding of `byteLength` bytes spans: whole 16-byte units (some kernels read array<vec4f>),
 * at least one. Pooled buffers always have them; Engine.fromGPUBuffer requires them of the application's buffer.
 */
export function bindingBytes(byteLength: number): number {
  return Math.max(16, Math.ceil(byteLength / 16) * 16);
}

export type ParamValue = number | ArrayLike<number>;
export type OverrideValue = number | boolean;

export interface DispatchArgs {
  kernel: KernelSource;
  overrides?: Record<string, OverrideValue>;
  params?: Record<string, ParamValue>;
  inputs?: Record<string, Binding>;
  outputs?: Record<string, Binding>;
  /** Workgroup counts, or a total count of workgroups that is folded into 2-D (65,535 per dimension). */
  workgroups: [number, number, number] | number;
  /** Extra label for errors and timings (e.g. the op name). */
  label?: string;
}

type ScalarKind = 'u32' | 'i32' | 'f32';
interface UniformMember {
  name: string;
  offset: number;
  kind: ScalarKind;
  /** Number of scalar slots: 1 for scalars, 4 per vec4, 4*n for array<vec4<T>, n>. */
  count: number;
  /** Names starting with '_' are padding: never set by callers. */
  padding: boolean;
}
interface UniformInfo {
  name: string;
  binding: number;
  size: number;
  members: UniformMember[];
}
interface StorageInfo {
  name: string;
  binding: number;
  readOnly: boolean;
}
interface ShaderInfo {
  module: GPUShaderModule;
  uniform: UniformInfo | null;
  storage: StorageInfo[];
  layout: GPUPipelineLayout;
  bindGroupLayout: GPUBindGroupLayout;
  overrides: Set<string>;
}
interface PipelineEntry {
  id: number;
  pipeline: GPUComputePipeline;
  shader: ShaderInfo;
  label: string;
}

export interface KernelTiming {
  kernel: string;
  calls: number;
  totalMs: number;
}

const MAX_WORKGROUPS_PER_DIM = 65535;
const NONE: Record<string, never> = Object.freeze({}) as Record<string, never>;
const ARENA_BYTES = 1 << 20;

function scalarKind(name: string | undefined, where: string): ScalarKind {
  if (name === 'u32' || name === 'i32' || name === 'f32') return name;
  throw new Error(`${where}: unsupported uniform member type '${name}' (use u32/i32/f32, vec4 or array<vec4<T>, n>)`);
}

interface ReflectType {
  name: string;
  size: number;
  format?: ReflectType | null;
  count?: number;
  members?: { name: string; offset: number; size: number; type: ReflectType }[] | null;
}

function reflectShader(device: GPUDevice, kernel: KernelSource): ShaderInfo {
  const code = fullSource(kernel);
  const reflect = new WgslReflect(code);
  const entries = reflect.entry.compute;
  if (entries.length !== 1) throw new Error(`shader '${kernel.name}': expected exactly one @compute entry point, found ${entries.length}`);
  let uniform: UniformInfo | null = null;
  const layoutEntries: GPUBindGroupLayoutEntry[] = [];
  for (const u of reflect.uniforms) {
    if (u.group !== 0) throw new Error(`shader '${kernel.name}': uniform '${u.name}' must be in @group(0)`);
    if (uniform) throw new Error(`shader '${kernel.name}': at most one uniform block is supported`);
    const type = u.type as unknown as ReflectType;
    const members: UniformMember[] = [];
    for (const m of type.members ?? []) {
      const where = `shader '${kernel.name}' uniform member '${m.name}'`;
      const t = m.type;
      if (t.name === 'array') {
        const f = t.format;
        if (!f || f.name !== 'vec4') throw new Error(`${where}: uniform arrays must be array<vec4<T>, n>`);
        members.push({ name: m.name, offset: m.offset, kind: scalarKind(f.format?.name, where), count: 4 * (t.count ?? 0), padding: m.name.startsWith('_') });
      } else if (t.name === 'vec4') {
        members.push({ name: m.name, offset: m.offset, kind: scalarKind(t.format?.name, where), count: 4, padding: m.name.startsWith('_') });
      } else {
        members.push({ name: m.name, offset: m.offset, kind: scalarKind(t.name, where), count: 1, padding: m.name.startsWith('_') });
      }
    }
    uniform = { name: u.name, binding: u.binding, size: Math.ceil(type.size / 16) * 16, members };
    layoutEntries.push({ binding: u.binding, visibility: ShaderStage.COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true } });
  }
  const maxStorage = device.limits.maxStorageBuffersPerShaderStage;
  if (reflect.storage.length > maxStorage) {
    throw new Error(`kernel '${kernel.name}' binds ${reflect.storage.length} storage buffers; this device allows ${maxStorage} per shader stage ` +
      `(maxStorageBuffersPerShaderStage; request more in requestDevice({ requiredLimits }))`);
  }
  const storage: StorageInfo[] = [];
  for (const s of reflect.storage) {
    if (s.group !== 0) throw new Error(`shader '${kernel.name}': storage '${s.name}' must be in @group(0)`);
    const readOnly = s.access !== 'read_write';
    storage.push({ name: s.name, binding: s.binding, readOnly });
    layoutEntries.push({ binding: s.binding, visibility: ShaderStage.COMPUTE, buffer: { type: readOnly ? 'read-only-storage' : 'storage' } });
  }
  const module = device.createShaderModule({ code, label: kernel.name });
  const bindGroupLayout = device.createBindGroupLayout({ entries: layoutEntries, label: kernel.name });
  const layout = device.createPipelineLayout({ bindGroupLayouts: [bindGroupLayout], label: kernel.name });
  const overrides = new Set(reflect.overrides.map((o) => o.name));
  return { module, uniform, storage, layout, bindGroupLayout, overrides };
}

/** The canonical cache key of a kernel specialisation: its name and its override constants, sorted. */
function pipelineKey(kernel: KernelSource, overrides: Record<string, OverrideValue> | undefined): string {
  const okeys = overrides ? Object.keys(overrides).sort() : [];
  return kernel.name + (okeys.length ? '|' + okeys.map((k) => `${k}=${Number(overrides![k])}`).join(',') : '');
}

export class Runner {
  private shaders = new Map<string, ShaderInfo>();
  /** Lines of each kernel's prelude, to report WGSL errors in lines of the kernel's own file. */
  private preludeLines = new Map<string, number>();
  private pipelines = new Map<string, PipelineEntry>();
  private pipelinesFast = new Map<string, PipelineEntry>();
  private currentPipeline: GPUComputePipeline | null = null;
  private readonly dynamicOffset = new Uint32Array(1);
  private bindGroups = new Map<string, GPUBindGroup>();
  private nextPipelineId = 1;

  private arena: GPUBuffer;
  private arenaData = new ArrayBuffer(ARENA_BYTES);
  private arenaView = new DataView(this.arenaData);
  private arenaUsed = 0;
  private readonly uniformAlign: number;

  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pendingError: Error | null = null;
  private lostError: Error | null = null;
  private lastEntry: PipelineEntry | null = null;
  private lastLabel: string | undefined = undefined;
  /** The kernel whose shader module, layouts or pipeline are being created (for error messages). */
  private creating: string | null = null;
  private readonly wg: [number, number, number] = [0, 0, 0];
  /** During preparePipelines' dry run: the specialisations dispatches asked for that are not compiled yet. */
  private collecting: Map<string, { kernel: KernelSource; overrides: Record<string, OverrideValue> | undefined }> | null = null;
  /** The dry run's copy commands go here and are never submitted. */
  private dryEncoder: GPUCommandEncoder | null = null;
  private dryRunError: Error | null = null;

  /** The last kernel recorded, for error messages. */
  private get lastKernel(): string {
    if (!this.lastEntry) return '(none)';
    return this.lastLabel ? `${this.lastEntry.label} (${this.lastLabel})` : this.lastEntry.label;
  }

  /** Dispatches recorded since the engine started (for benchmarks). */
  dispatchCount = 0;
  /**
   * Debug hook (tests): called for every dispatch recorded, with the kernel's name and the dispatch's label
   * (ops that choose among kernel variants name the variant there, e.g. `matmul:tiled`,
   * `conv2d.wgrad:direct64:split2`), so a test can see which variant and split the engine actually ran.
   */
  onDispatch: ((kernel: string, label: string | undefined) => void) | null = null;
  submitCount = 0;

  private timing: { querySet: GPUQuerySet; capacity: number; labels: string[]; resolve: GPUBuffer } | null = null;
  private timingReads: Promise<void>[] = [];
  private timingTotals = new Map<string, KernelTiming>();

  constructor(
    readonly device: GPUDevice,
    private readonly pool: BufferPool,
    timing: boolean,
  ) {
    this.uniformAlign = Math.max(256, device.limits.minUniformBufferOffsetAlignment);
    this.arena = device.createBuffer({ size: ARENA_BYTES, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST, label: 'uniform-arena' });
    device.addEventListener('uncapturederror', (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      this.pendingError ??= new Error(`WebGPU error (${this.errorContext(e.message)}): ${this.fileLines(e.message)}`);
    });
    void device.lost.then((info) => {
      if (info.reason === 'destroyed') {
        this.lostError = new Error('The GPU device was destroyed (engine disposed).');
      } else {
        this.lostError = new Error(`The GPU device was lost while running kernel '${this.lastKernel}': ${info.message}`);
      }
    });
    if (timing && device.features.has('timestamp-query')) {
      const capacity = 4096; // WebGPU maximum query count per set
      this.timing = {
        querySet: device.createQuerySet({ type: 'timestamp', count: capacity }),
        capacity,
        labels: [],
        resolve: device.createBuffer({ size: capacity * 8, usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC }),
      };
    }
  }

  get timingEnabled(): boolean {
    return this.timing !== null;
  }

  /**
   * Which kernel an uncaptured error belongs to. Errors while creating a kernel's shader, layouts or pipeline
   * belong to that kernel, not to the last one dispatched: Dawn reports them during the create call
   * (`creating`); browsers report them later, so the object labels in the message (our kernel names) are used too.
   */
  private errorContext(message: string): string {
    if (this.creating) return `while creating kernel '${this.creating}'`;
    for (const m of message.matchAll(/"+([\w|=,.-]+)"+/g)) {
      const label = m[1]!;
      if (this.pipelines.has(label) || this.shaders.has(label)) return `kernel '${label}'; last kernel dispatched: '${this.lastKernel}'`;
    }
    return `last kernel dispatched: '${this.lastKernel}'`;
  }

  /** Rewrite a WGSL parse error's ':line:col' (of prelude + file) as 'name.wgsl:line:col' of the kernel's file. */
  private fileLines(message: string): string {
    const m = /ShaderModule(?:Descriptor)? "+([\w.-]+)"+/.exec(message);
    const prelude = m ? this.preludeLines.get(m[1]!) : undefined;
    if (!m || prelude === undefined) return message;
    return message.replace(/WGSL: :(\d+):(\d+)/, (_all, line: string, col: string) => {
      const l = Number(line) - prelude;
      return l > 0 ? `WGSL: ${m[1]}.wgsl:${l}:${col}` : `WGSL: ${m[1]} prelude:${line}:${col}`;
    });
  }

  /** An error found asynchronously outside a dispatch (Engine.fromGPUBuffer's device check): thrown like a GPU error. */
  reportError(err: Error): void {
    this.pendingError ??= err;
  }

  /** Throw a stored asynchronous GPU error (validation, out-of-memory, device loss). */
  checkErrors(): void {
    if (this.lostError) throw this.lostError;
    if (this.pendingError) {
      const e = this.pendingError;
      this.pendingError = null;
      throw e;
    }
  }

  private shaderInfo(kernel: KernelSource): ShaderInfo {
    let info = this.shaders.get(kernel.name);
    if (!info) {
      // Known before the module is created: Dawn may report a parse error during createShaderModule itself.
      this.preludeLines.set(kernel.name, kernel.prelude ? kernel.prelude.split('\n').length : 0);
      info = reflectShader(this.device, kernel);
      this.shaders.set(kernel.name, info);
      void info.module.getCompilationInfo().then((ci) => {
        const errors = ci.messages.filter((m) => m.type === 'error');
        if (errors.length) {
          // Report lines of the kernel's own file (the prelude's lines come first).
          const preludeLines = this.preludeLines.get(kernel.name) ?? 0;
          const where = (line: number): string => (line > preludeLines ? `${kernel.name}.wgsl:${line - preludeLines}` : `${kernel.name} prelude:${line}`);
          const text = errors.map((m) => `${where(m.lineNum)}:${m.linePos}: ${m.message}`).join('\n');
          this.pendingError ??= new Error(`WGSL compilation failed for shader '${kernel.name}':\n${text}`);
        }
      });
    }
    return info;
  }

  private pipelineFor(kernel: KernelSource, overrides: Record<string, OverrideValue> | undefined): PipelineEntry {
    // Hot path: a cheap key in the caller's key order; the canonical (sorted) key is built on a miss only.
    let fast = kernel.name;
    if (overrides) for (const k in overrides) fast += `|${k}=${+overrides[k]!}`;
    let entry = this.pipelinesFast.get(fast);
    if (entry) return entry;
    const okeys = overrides ? Object.keys(overrides).sort() : [];
    const key = pipelineKey(kernel, overrides);
    entry = this.pipelines.get(key);
    if (entry) {
      this.pipelinesFast.set(fast, entry);
      return entry;
    }
    this.creating = key;
    let shader: ShaderInfo;
    let pipeline: GPUComputePipeline;
    try {
      shader = this.shaderInfo(kernel);
      const constants: Record<string, number> = {};
      for (const k of okeys) {
        if (!shader.overrides.has(k)) throw new Error(`shader '${kernel.name}' has no override constant '${k}' (has: ${[...shader.overrides].join(', ') || 'none'})`);
        constants[k] = Number(overrides![k]);
      }
      pipeline = this.device.createComputePipeline({
        layout: shader.layout,
        compute: { module: shader.module, entryPoint: undefined, constants },
        label: key,
      });
    } finally {
      this.creating = null;
    }
    entry = { id: this.nextPipelineId++, pipeline, shader, label: key };
    this.pipelines.set(key, entry);
    this.pipelinesFast.set(fast, entry);
    return entry;
  }

  /** Compile pipelines ahead of use (avoids first-step stalls). */
  async precompile(list: { kernel: KernelSource; overrides?: Record<string, OverrideValue> }[]): Promise<void> {
    for (const { kernel, overrides } of list) this.pipelineFor(kernel, overrides);
    await this.device.queue.onSubmittedWorkDone();
    this.checkErrors();
  }

  /**
   * Compile, with createComputePipelineAsync and all at once, the pipelines that `record` would create: it runs
   * as a dry run in which dispatches are only noted (nothing is recorded, bound or submitted; copy commands go
   * to an encoder that is dropped), then the missing pipelines are created asynchronously and cached. `record`
   * must not read back or flush (it throws if it does) and must not depend on GPU results; tensors it makes are
   * the caller's to free. Returns how many pipelines were created and the wall time of creating them.
   */
  async preparePipelines(record: () => void): Promise<{ created: number; ms: number }> {
    this.flush();
    const wanted = new Map<string, { kernel: KernelSource; overrides: Record<string, OverrideValue> | undefined }>();
    this.collecting = wanted;
    this.dryRunError = null;
    try {
      record();
    } finally {
      this.collecting = null;
      this.dryEncoder = null;
      // Buffers freed during the dry run were used by no submitted command: reusable at once.
      this.pool.onSubmitted();
    }
    if (this.dryRunError) {
      const err = this.dryRunError;
      this.dryRunError = null;
      throw err;
    }
    const t0 = performance.now();
    const jobs: Promise<void>[] = [];
    for (const [key, { kernel, overrides }] of wanted) {
      if (this.pipelines.has(key)) continue;
      this.creating = key;
      let shader: ShaderInfo;
      const constants: Record<string, number> = {};
      try {
        shader = this.shaderInfo(kernel);
        for (const k of Object.keys(overrides ?? {}).sort()) {
          if (!shader.overrides.has(k)) throw new Error(`shader '${kernel.name}' has no override constant '${k}' (has: ${[...shader.overrides].join(', ') || 'none'})`);
          constants[k] = Number(overrides![k]);
        }
      } finally {
        this.creating = null;
      }
      jobs.push(
        this.device.createComputePipelineAsync({ layout: shader.layout, compute: { module: shader.module, entryPoint: undefined, constants }, label: key }).then(
          (pipeline) => {
            if (!this.pipelines.has(key)) this.pipelines.set(key, { id: this.nextPipelineId++, pipeline, shader, label: key });
          },
          (err: unknown) => {
            throw new Error(`WebGPU error (while creating kernel '${key}'): ${this.fileLines(err instanceof Error ? err.message : String(err))}`);
          },
        ),
      );
    }
    await Promise.all(jobs);
    this.checkErrors();
    return { created: jobs.length, ms: performance.now() - t0 };
  }

  private packParams(kernel: KernelSource, info: UniformInfo, params: Record<string, ParamValue>): number {
    const slot = Math.ceil(info.size / this.uniformAlign) * this.uniformAlign;
    if (this.arenaUsed + slot > ARENA_BYTES) this.flush();
    const base = this.arenaUsed;
    const view = this.arenaView;
    for (let i = 0; i < info.size; i += 4) view.setUint32(base + i, 0, true);
    let used = 0;
    for (const m of info.members) {
      if (m.padding) continue;
      const v = params[m.name];
      if (v === undefined) throw new Error(`kernel '${kernel.name}': missing parameter '${m.name}'`);
      used++;
      const len = typeof v === 'number' ? 1 : v.length;
      if (len > m.count) throw new Error(`kernel '${kernel.name}': parameter '${m.name}' has ${len} values, room for ${m.count}`);
      for (let j = 0; j < len; j++) {
        const off = base + m.offset + 4 * j;
        const x = typeof v === 'number' ? v : v[j]!;
        if (m.kind === 'f32') view.setFloat32(off, x, true);
        else if (m.kind === 'u32') {
          if (!(x >= 0 && x <= 0xffffffff && Number.isInteger(x))) throw new Error(`kernel '${kernel.name}': parameter '${m.name}' = ${x} is not a u32`);
          view.setUint32(off, x, true);
        } else view.setInt32(off, x, true);
      }
    }
    let given = 0;
    for (const _ in params) given++;
    if (given !== used) {
      const known = new Set(info.members.map((m) => m.name));
      throw new Error(`kernel '${kernel.name}': unknown parameter(s) ${Object.keys(params).filter((k) => !known.has(k)).join(', ')}`);
    }
    this.arenaUsed += slot;
    return base;
  }

  private bindGroupFor(entry: PipelineEntry, kernel: KernelSource, label: string, inputs: Record<string, Binding>, outputs: Record<string, Binding>): GPUBindGroup {
    const { shader } = entry;
    const maxBinding = this.device.limits.maxStorageBufferBindingSize;
    let key = String(entry.id);
    let given = 0;
    for (const _ in inputs) given++;
    for (const _ in outputs) given++;
    for (const s of shader.storage) {
      const b = s.readOnly ? inputs[s.name] : outputs[s.name];
      if (!b) this.bindingError(kernel, shader, inputs, outputs);
      b.assertLive?.(label);
      const size = Math.min(b.gpuBuffer.size - b.byteOffset, bindingBytes(b.byteLength));
      if (size > maxBinding) throw new Error(`kernel '${kernel.name}': binding '${s.name}' is ${size} bytes, over maxStorageBufferBindingSize (${maxBinding})`);
      key += `|${b.gpuBuffer.id}:${b.byteOffset}:${size}`;
    }
    if (given !== shader.storage.length) this.bindingError(kernel, shader, inputs, outputs);
    let bg = this.bindGroups.get(key);
    if (!bg) {
      const entries: GPUBindGroupEntry[] = [];
      for (const s of shader.storage) {
        const b = (s.readOnly ? inputs[s.name] : outputs[s.name])!;
        const size = Math.min(b.gpuBuffer.size - b.byteOffset, bindingBytes(b.byteLength));
        entries.push({ binding: s.binding, resource: { buffer: b.gpuBuffer.buffer, offset: b.byteOffset, size } });
      }
      if (shader.uniform) entries.push({ binding: shader.uniform.binding, resource: { buffer: this.arena, offset: 0, size: shader.uniform.size } });
      if (this.bindGroups.size > 20000) this.bindGroups.clear();
      bg = this.device.createBindGroup({ layout: shader.bindGroupLayout, entries, label: kernel.name });
      this.bindGroups.set(key, bg);
    }
    return bg;
  }

  /** Explain exactly what is wrong with the bindings given for a kernel (cold path). */
  private bindingError(kernel: KernelSource, shader: ShaderInfo, inputs: Record<string, Binding>, outputs: Record<string, Binding>): never {
    for (const s of shader.storage) {
      const asInput = inputs[s.name];
      const asOutput = outputs[s.name];
      if (!asInput && !asOutput) throw new Error(`kernel '${kernel.name}': binding '${s.name}' was not given`);
      if (asInput && asOutput) throw new Error(`kernel '${kernel.name}': binding '${s.name}' given as both input and output`);
      if (asOutput && s.readOnly) throw new Error(`kernel '${kernel.name}': binding '${s.name}' is read-only in the shader but was given as an output`);
      if (asInput && !s.readOnly) throw new Error(`kernel '${kernel.name}': binding '${s.name}' is read_write in the shader but was given as an input`);
    }
    const names = new Set(shader.storage.map((s) => s.name));
    for (const name of [...Object.keys(inputs), ...Object.keys(outputs)]) {
      if (!names.has(name)) throw new Error(`kernel '${kernel.name}': shader has no storage binding '${name}' (has: ${[...names].join(', ')})`);
    }
    throw new Error(`kernel '${kernel.name}': bindings do not match the shader`);
  }

  /** Forget bind groups that reference a buffer about to be destroyed. */
  forgetBuffer(pb: PooledBuffer): void {
    const tag = `|${pb.id}:`;
    for (const k of this.bindGroups.keys()) if (k.includes(tag)) this.bindGroups.delete(k);
  }

  dispatch(args: DispatchArgs): void {
    this.checkErrors();
    const { kernel } = args;
    if (this.collecting) {
      const key = pipelineKey(kernel, args.overrides);
      if (!this.pipelines.has(key) && !this.collecting.has(key)) this.collecting.set(key, { kernel, overrides: args.overrides });
      this.pool.onSubmitted(); // nothing is recorded: buffers freed so far may serve the dry run's next tensors
      return;
    }
    const entry = this.pipelineFor(kernel, args.overrides);
    const info = entry.shader.uniform;
    if (!info && args.params && Object.keys(args.params).length) throw new Error(`kernel '${kernel.name}' has no uniform block but parameters were given`);
    // Labels are formatted only when needed (timing, errors): string building is a per-dispatch cost.
    const bindGroup = this.bindGroupFor(entry, kernel, args.label ?? kernel.name, args.inputs ?? NONE, args.outputs ?? NONE);
    const wg = this.foldWorkgroups(args.workgroups, kernel.name);
    if (wg[0] === 0 || wg[1] === 0 || wg[2] === 0) return;
    const offset = info ? this.packParams(kernel, info, args.params ?? NONE) : -1;
    this.lastEntry = entry;
    this.lastLabel = args.label;
    this.encoder ??= this.device.createCommandEncoder();
    let pass: GPUComputePassEncoder;
    if (this.timing) {
      this.endPass();
      let t = this.timing;
      if (2 * (t.labels.length + 1) > t.capacity) {
        this.flush();
        this.encoder = this.device.createCommandEncoder();
        t = this.timing;
      }
      const q = 2 * t.labels.length;
      t.labels.push(args.label ? `${kernel.name}:${args.label}` : entry.label);
      pass = this.encoder.beginComputePass({ timestampWrites: { querySet: t.querySet, beginningOfPassWriteIndex: q, endOfPassWriteIndex: q + 1 } });
    } else {
      if (!this.pass) {
        this.pass = this.encoder.beginComputePass();
        this.currentPipeline = null;
      }
      pass = this.pass;
    }
    if (this.currentPipeline !== entry.pipeline || this.timing) {
      pass.setPipeline(entry.pipeline);
      this.currentPipeline = entry.pipeline;
    }
    if (offset >= 0) {
      this.dynamicOffset[0] = offset;
      pass.setBindGroup(0, bindGroup, this.dynamicOffset, 0, 1);
    } else pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(wg[0], wg[1], wg[2]);
    if (this.timing) pass.end();
    this.dispatchCount++;
    this.onDispatch?.(kernel.name, args.label);
  }

  private foldWorkgroups(w: [number, number, number] | number, name: string): [number, number, number] {
    if (typeof w !== 'number') {
      if (w.some((x) => x > MAX_WORKGROUPS_PER_DIM)) throw new Error(`kernel '${name}': workgroup count ${w.join('x')} exceeds ${MAX_WORKGROUPS_PER_DIM} per dimension`);
      return w;
    }
    const out = this.wg;
    if (w <= MAX_WORKGROUPS_PER_DIM) {
      out[0] = w;
      out[1] = 1;
    } else {
      const y = Math.ceil(w / MAX_WORKGROUPS_PER_DIM);
      if (y > MAX_WORKGROUPS_PER_DIM) throw new Error(`kernel '${name}': ${w} workgroups is too many for one dispatch`);
      out[0] = Math.ceil(w / y);
      out[1] = y;
    }
    out[2] = 1;
    return out;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** An encoder with no open compute pass, for copies; recorded in order with the dispatches. */
  copyEncoder(): GPUCommandEncoder {
    this.checkErrors();
    if (this.collecting) return (this.dryEncoder ??= this.device.createCommandEncoder({ label: 'preparePipelines dry run (never submitted)' }));
    this.endPass();
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  /** Submit everything recorded so far. */
  flush(): void {
    this.checkErrors();
    if (this.collecting) {
      // Also kept for preparePipelines to throw: an async readback turns this throw into a rejection.
      this.dryRunError ??= new Error('Runner.preparePipelines: the dry run read back or flushed (it may only record work)');
      throw this.dryRunError;
    }
    this.endPass();
    if (!this.encoder && this.arenaUsed === 0) return;
    const encoder = this.encoder ?? this.device.createCommandEncoder();
    this.encoder = null;
    let timingCopy: { buffer: GPUBuffer; labels: string[] } | null = null;
    if (this.timing && this.timing.labels.length) {
      const t = this.timing;
      const n = t.labels.length * 2;
      encoder.resolveQuerySet(t.querySet, 0, n, t.resolve, 0);
      const buffer = this.device.createBuffer({ size: n * 8, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
      encoder.copyBufferToBuffer(t.resolve, 0, buffer, 0, n * 8);
      timingCopy = { buffer, labels: t.labels };
      t.labels = [];
    }
    if (this.arenaUsed > 0) {
      this.device.queue.writeBuffer(this.arena, 0, this.arenaData, 0, this.arenaUsed);
      this.arenaUsed = 0;
    }
    this.device.queue.submit([encoder.finish()]);
    this.submitCount++;
    this.pool.onSubmitted();
    if (timingCopy) {
      const { buffer, labels } = timingCopy;
      this.timingReads.push(
        buffer.mapAsync(MapMode.READ).then(() => {
          const ts = new BigUint64Array(buffer.getMappedRange());
          for (let i = 0; i < labels.length; i++) {
            const ms = Number(ts[2 * i + 1]! - ts[2 * i]!) / 1e6;
            const name = labels[i]!;
            const agg = this.timingTotals.get(name) ?? { kernel: name, calls: 0, totalMs: 0 };
            agg.calls++;
            agg.totalMs += ms;
            this.timingTotals.set(name, agg);
          }
          buffer.unmap();
          buffer.destroy();
        }),
      );
    }
  }

  /** Per-kernel GPU time since the last reset (timing must be enabled). */
  async timings(reset = true): Promise<KernelTiming[]> {
    this.flush();
    await Promise.all(this.timingReads);
    this.timingReads = [];
    const list = [...this.timingTotals.values()].sort((a, b) => b.totalMs - a.totalMs);
    if (reset) this.timingTotals.clear();
    return list;
  }

  /** Submit and wait until the GPU has finished all submitted work. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.checkErrors();
  }

  destroy(): void {
    this.arena.destroy();
    this.timing?.querySet.destroy();
    this.timing?.resolve.destroy();
  }
}
