// Shader modules and pipelines of the runner: each kernel is reflected once (wgsl_reflect) to learn its
// uniform block, storage bindings and override constants, so dispatches are checked against the shader by name
// and access mode; pipelines are cached per (kernel, override constants), the way kernels are specialised.
// WGSL errors are reported in lines of the kernel's own file (its prelude's lines are subtracted).
import { WgslReflect } from 'wgsl_reflect';
import { fullSource, type KernelSource } from '../kernels.js';
import { ShaderStage } from '../webgpu_constants.js';
import type { OverrideValue } from './types.js';


type ScalarKind = 'u32' | 'i32' | 'f32';
export interface UniformMember {
  name: string;
  offset: number;
  kind: ScalarKind;
  /** Number of scalar slots: 1 for scalars, 4 per vec4, 4*n for array<vec4<T>, n>. */
  count: number;
  /** Names starting with '_' are padding: never set by callers. */
  padding: boolean;
}
export interface UniformInfo {
  name: string;
  binding: number;
  size: number;
  members: UniformMember[];
}
export interface StorageInfo {
  name: string;
  binding: number;
  readOnly: boolean;
  /** Element type: 'f32' (f32 or vecN<f32>) binds float32 tensors only, 'i32' int32 only, 'raw' (u32, atomics, structs) any. */
  element: 'f32' | 'i32' | 'raw';
}
export interface ShaderInfo {
  module: GPUShaderModule;
  uniform: UniformInfo | null;
  storage: StorageInfo[];
  layout: GPUPipelineLayout;
  bindGroupLayout: GPUBindGroupLayout;
  overrides: Set<string>;
}
export interface PipelineEntry {
  id: number;
  pipeline: GPUComputePipeline;
  shader: ShaderInfo;
  label: string;
}

function scalarKind(name: string | undefined, where: string): ScalarKind {
  if (name === 'u32' || name === 'i32' || name === 'f32') return name;
  throw new Error(`${where}: unsupported uniform member type '${name}' (use u32/i32/f32, vec4 or array<vec4<T>, n>)`);
}

/** The element type of a storage array, from its reflected type (array<f32>, array<vec4f>, array<vec4<i32>>, ...). */
function elementKind(type: ReflectType): StorageInfo['element'] {
  const f = type.name === 'array' ? type.format : type;
  const name = f?.format?.name ?? f?.name ?? '';
  if (/^(f32|vec[234]f)$/.test(name)) return 'f32';
  if (/^(i32|vec[234]i)$/.test(name)) return 'i32';
  return 'raw';
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
    storage.push({ name: s.name, binding: s.binding, readOnly, element: elementKind(s.type as unknown as ReflectType) });
    layoutEntries.push({ binding: s.binding, visibility: ShaderStage.COMPUTE, buffer: { type: readOnly ? 'read-only-storage' : 'storage' } });
  }
  const module = device.createShaderModule({ code, label: kernel.name });
  const bindGroupLayout = device.createBindGroupLayout({ entries: layoutEntries, label: kernel.name });
  const layout = device.createPipelineLayout({ bindGroupLayouts: [bindGroupLayout], label: kernel.name });
  const overrides = new Set(reflect.overrides.map((o) => o.name));
  return { module, uniform, storage, layout, bindGroupLayout, overrides };
}

/** The canonical cache key of a kernel specialisation: its name and its override constants, sorted. */
export function pipelineKey(kernel: KernelSource, overrides: Record<string, OverrideValue> | undefined): string {
  const okeys = overrides ? Object.keys(overrides).sort() : [];
  return kernel.name + (okeys.length ? '|' + okeys.map((k) => `${k}=${Number(overrides![k])}`).join(',') : '');
}

/**
 * The shader modules and pipelines of one device. `report` receives asynchronous WGSL compilation errors;
 * `creating` names the specialisation being created while a create call runs (errors belong to it).
 */
export class PipelineCache {
  private shaders = new Map<string, ShaderInfo>();
  /** Lines of each kernel's prelude, to report WGSL errors in lines of the kernel's own file. */
  private preludeLines = new Map<string, number>();
  private pipelines = new Map<string, PipelineEntry>();
  private pipelinesFast = new Map<string, PipelineEntry>();
  private nextId = 1;
  /** The kernel specialisation whose shader module, layouts or pipeline are being created (for error messages). */
  creating: string | null = null;

  constructor(
    private readonly device: GPUDevice,
    private readonly report: (error: Error) => void,
  ) {}

  /** Whether `label` names a kernel or a specialisation of one (error messages name them by label). */
  knows(label: string): boolean {
    return this.pipelines.has(label) || this.shaders.has(label);
  }

  has(key: string): boolean {
    return this.pipelines.has(key);
  }

  /** Rewrite a WGSL parse error's ':line:col' (of prelude + file) as 'name.wgsl:line:col' of the kernel's file. */
  fileLines(message: string): string {
    const m = /ShaderModule(?:Descriptor)? "+([\w.-]+)"+/.exec(message);
    const prelude = m ? this.preludeLines.get(m[1]!) : undefined;
    if (!m || prelude === undefined) return message;
    return message.replace(/WGSL: :(\d+):(\d+)/, (_all, line: string, col: string) => {
      const l = Number(line) - prelude;
      return l > 0 ? `WGSL: ${m[1]}.wgsl:${l}:${col}` : `WGSL: ${m[1]} prelude:${line}:${col}`;
    });
  }

  private shaderInfo(kernel: KernelSource): ShaderInfo {
    let info = this.shaders.get(kernel.name);
    if (!info) {
      // Known before the module is created: Dawn may report a parse error during createShaderModule itself.
      const preludeLines = kernel.prelude ? kernel.prelude.split('\n').length : 0;
      this.preludeLines.set(kernel.name, preludeLines);
      info = reflectShader(this.device, kernel);
      this.shaders.set(kernel.name, info);
      void info.module.getCompilationInfo().then((ci) => {
        const errors = ci.messages.filter((m) => m.type === 'error');
        if (!errors.length) return;
        const where = (line: number): string => (line > preludeLines ? `${kernel.name}.wgsl:${line - preludeLines}` : `${kernel.name} prelude:${line}`);
        const text = errors.map((m) => `${where(m.lineNum)}:${m.linePos}: ${m.message}`).join('\n');
        this.report(new Error(`WGSL compilation failed for shader '${kernel.name}':\n${text}`));
      });
    }
    return info;
  }

  /** The shader of `kernel` and its override constants checked against it, in sorted order. */
  private specialise(kernel: KernelSource, overrides: Record<string, OverrideValue> | undefined): { shader: ShaderInfo; constants: Record<string, number> } {
    const shader = this.shaderInfo(kernel);
    const constants: Record<string, number> = {};
    for (const k of Object.keys(overrides ?? {}).sort()) {
      if (!shader.overrides.has(k)) throw new Error(`shader '${kernel.name}' has no override constant '${k}' (has: ${[...shader.overrides].join(', ') || 'none'})`);
      constants[k] = Number(overrides![k]);
    }
    return { shader, constants };
  }

  /** The pipeline of a specialisation, created on first use (synchronously). */
  pipelineFor(kernel: KernelSource, overrides: Record<string, OverrideValue> | undefined): PipelineEntry {
    // Hot path: a cheap key in the caller's key order; the canonical (sorted) key is built on a miss only.
    let fast = kernel.name;
    if (overrides) for (const k in overrides) fast += `|${k}=${+overrides[k]!}`;
    let entry = this.pipelinesFast.get(fast);
    if (entry) return entry;
    const key = pipelineKey(kernel, overrides);
    entry = this.pipelines.get(key);
    if (!entry) {
      this.creating = key;
      try {
        const { shader, constants } = this.specialise(kernel, overrides);
        const pipeline = this.device.createComputePipeline({ layout: shader.layout, compute: { module: shader.module, entryPoint: undefined, constants }, label: key });
        entry = { id: this.nextId++, pipeline, shader, label: key };
      } finally {
        this.creating = null;
      }
      this.pipelines.set(key, entry);
    }
    this.pipelinesFast.set(fast, entry);
    return entry;
  }

  /** Creates the pipelines of `wanted` (by canonical key) that are missing, all at once with createComputePipelineAsync. */
  async createAsync(wanted: Map<string, { kernel: KernelSource; overrides: Record<string, OverrideValue> | undefined }>): Promise<number> {
    const jobs: Promise<void>[] = [];
    for (const [key, { kernel, overrides }] of wanted) {
      if (this.pipelines.has(key)) continue;
      this.creating = key;
      let spec: ReturnType<PipelineCache['specialise']>;
      try {
        spec = this.specialise(kernel, overrides);
      } finally {
        this.creating = null;
      }
      const { shader, constants } = spec;
      jobs.push(
        this.device.createComputePipelineAsync({ layout: shader.layout, compute: { module: shader.module, entryPoint: undefined, constants }, label: key }).then(
          (pipeline) => {
            if (!this.pipelines.has(key)) this.pipelines.set(key, { id: this.nextId++, pipeline, shader, label: key });
          },
          (err: unknown) => {
            throw new Error(`WebGPU error (while creating kernel '${key}'): ${this.fileLines(err instanceof Error ? err.message : String(err))}`);
          },
        ),
      );
    }
    await Promise.all(jobs);
    return jobs.length;
  }
}
