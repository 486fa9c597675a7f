// AGAVE Studio's page: finds WebGPU (or says how to get it), loads the data, and wires the form, the buttons
// and the panels to a Session (session.ts), which trains and samples with the code of `node train.js`.
// window.agaveStudio is the page's status (phase, step, records, evaluations, what is drawn, messages) and an
// 'agave-studio' event on window marks each change: for automation (the CI test reads them, test/studio/).
import { CONFIGS, type ConfigName } from '../../model/config.js';
import { formatDuration } from '../../train/common/units.js';
import { dataFingerprint, describeData } from '../../train/data/fingerprint.js';
import type { Dataset } from '../../train/data/image-sets.js';
import { evalSummary } from '../../train/evaluate/evaluate.js';
import type { ImageRows } from '../../train/evaluate/rows.js';
import type { MetricsRecord } from '../../train/figures/curve-panels.js';
import { decodeCheckpoint } from '../../train/run/checkpoint-format.js';
import type { EvalRecord, StepRecord } from '../../train/types.js';
import { openAutoSaveDb, type AutoSave, type AutoSaveDb } from './autosave.js';
import { loadChosenFiles, loadSample } from './data.js';
import { configTooLarge, findGpu } from './gpu.js';
import { drawOne, drawRows, firstSeriesPoints } from './render.js';
import { readCheckpointFile, Session, type Phase } from './session.js';
import { STUDIO_CONFIGS, checkSetting, defaultSettings, type DataChoice, type StudioSettings } from './settings.js';

/** The page's status for automation: window.agaveStudio. */
export interface StudioStatus {
  gpu: 'checking' | 'ok' | 'missing';
  gpuMessage: string;
  dataReady: boolean;
  phase: Phase;
  phaseDetail: string;
  step: number;
  steps: number;
  /** Training records the curves are drawn from. */
  trainRecords: number;
  /** Points of the curves' first series (PixelCNN NLL per step), as drawn. */
  curvePoints: number;
  evals: EvalRecord[];
  evalLine: string;
  autosavedStep: number | null;
  /** The grid drawn last (samples-step000040), and the samples and interpolation shown. */
  grid: string | null;
  samples: string | null;
  sampleRowsDone: number;
  interpolation: string | null;
  resumePrompt: string | null;
  notices: string[];
  lastDownload: { name: string; bytes: Uint8Array } | null;
  log: string[];
  /** The run's records (metrics.jsonl's content), as the curves are drawn from them. */
  records(): MetricsRecord[];
}

declare global {
  interface Window {
    agaveStudio: StudioStatus;
  }
}

const status: StudioStatus = {
  gpu: 'checking', gpuMessage: '', dataReady: false, phase: 'idle', phaseDetail: '', step: 0, steps: 0, trainRecords: 0, curvePoints: 0, evals: [], evalLine: '',
  autosavedStep: null, grid: null, samples: null, sampleRowsDone: 0, interpolation: null, resumePrompt: null, notices: [], lastDownload: null, log: [],
  // (Before main() has made the session: no records.)
  records: () => (session as Session | undefined)?.store?.records ?? [],
};
window.agaveStudio = status;

function emit(type: string): void {
  window.dispatchEvent(new CustomEvent('agave-studio', { detail: { type } }));
}

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};
const input = (id: string): HTMLInputElement => $<HTMLInputElement>(id);
const button = (id: string): HTMLButtonElement => $<HTMLButtonElement>(id);
const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

interface NoticeAction {
  label: string;
  run: () => void;
}

function notice(text: string, kind: 'warning' | 'error' = 'warning', ...actions: NoticeAction[]): void {
  const div = document.createElement('div');
  div.className = `notice ${kind}`;
  div.textContent = text;
  for (const action of actions) {
    const b = document.createElement('button');
    b.textContent = action.label;
    b.onclick = () => {
      div.remove();
      action.run();
    };
    div.append(b);
  }
  const close = document.createElement('button');
  close.className = 'quiet';
  close.textContent = 'dismiss';
  close.onclick = () => div.remove();
  div.append(close);
  $('notices').prepend(div);
  status.notices.push(text);
  emit('notice');
}

/** Runs a button's action, showing its error (the CLI's message) instead of losing it. */
function guarded(action: () => Promise<void> | void): () => void {
  return () => {
    Promise.resolve()
      .then(action)
      .catch((e: unknown) => notice(errorText(e), 'error'));
  };
}

// ---- the form -------------------------------------------------------------------------------------------------

let software = false;

function fillConfigs(): void {
  const select = $<HTMLSelectElement>('config');
  for (const name of STUDIO_CONFIGS) {
    const c = CONFIGS[name];
    const o = document.createElement('option');
    o.value = name;
    o.textContent = `${name}: ${c.description.split(';')[0]}`;
    // 32x32 where the device allows: not on a software adapter, where a step takes seconds.
    if (name === 'small' && software) o.disabled = true;
    select.append(o);
  }
  select.value = 'quick';
  select.onchange = () => fillRecipe(select.value as ConfigName);
  fillRecipe('quick');
}

function fillRecipe(config: ConfigName): void {
  const s = defaultSettings(config);
  showSettings(s);
  $('config-note').textContent = `${CONFIGS[config].description}. Recipe: Adamax lr ${s.lr}, lambda ${s.lambda}, EMA ${CONFIGS[config].recipe.ema.vae} (VAE) / ${CONFIGS[config].recipe.ema.pixelcnn} (PixelCNN).` +
    (software ? ' This is a software adapter (no GPU): expect seconds per step; 32x32 (small) is not offered.' : '');
}

function readSettings(): StudioSettings {
  const config = $<HTMLSelectElement>('config').value as ConfigName;
  return {
    config,
    lambda: checkSetting('lambda', input('lambda').value, { integer: false, min: 0 }),
    batch: checkSetting('batch', input('batch').value, { integer: true, min: 1, max: 512 }),
    lr: checkSetting('learning rate', input('lr').value, { integer: false, min: 0, above: true }),
    steps: checkSetting('steps', input('steps').value, { integer: true, min: 1 }),
    evalEvery: checkSetting('evaluate every', input('eval-every').value, { integer: true, min: 1 }),
    autosaveEvery: checkSetting('auto-save every', input('autosave-every').value, { integer: true, min: 1 }),
    seed: 1,
    data: dataChoice(),
  };
}

function showSettings(s: StudioSettings): void {
  $<HTMLSelectElement>('config').value = s.config;
  input('lambda').value = String(s.lambda);
  input('batch').value = String(s.batch);
  input('lr').value = String(s.lr);
  input('steps').value = String(s.steps);
  input('eval-every').value = String(s.evalEvery);
  input('autosave-every').value = String(s.autosaveEvery);
}

// ---- data -----------------------------------------------------------------------------------------------------

let sample: Dataset | null = null;
let chosen: { data: Dataset; choice: DataChoice } | null = null;

function useFiles(): boolean {
  return document.querySelector<HTMLInputElement>('input[name=data]:checked')?.value === 'files';
}

function dataChoice(): DataChoice {
  return useFiles() && chosen ? chosen.choice : { kind: 'sample' };
}

function currentData(): Dataset {
  if (useFiles()) {
    if (!chosen) throw new Error('choose your data files first (CIFAR-10 batches or the four Fashion-MNIST files), or use the bundled sample');
    return chosen.data;
  }
  if (!sample) throw new Error('the bundled sample is still loading');
  return sample;
}

function describeSet(d: Dataset): string {
  return `${d.format}: ${d.train.count.toLocaleString('en-US')} train / ${d.test.count.toLocaleString('en-US')} test images ${d.train.height}x${d.train.width}x${d.train.channels}`;
}

async function chooseFiles(files: File[]): Promise<void> {
  $('data-status').textContent = `reading ${files.length} files…`;
  try {
    const data = await loadChosenFiles(files);
    const fingerprint = await dataFingerprint(data);
    chosen = { data, choice: { kind: 'files', names: files.map((f) => f.name), fingerprint } };
    document.querySelector<HTMLInputElement>('input[name=data][value=files]')!.checked = true;
    $('data-status').textContent = `your files: ${describeSet(data)} (sha256 ${fingerprint.sha256.slice(0, 12)})`;
    emit('data');
  } catch (e) {
    $('data-status').textContent = 'your files could not be used (see the message above)';
    notice(errorText(e), 'error');
  }
}

// ---- the run --------------------------------------------------------------------------------------------------

let session: Session;
let trainStart: { time: number; step: number } | null = null;

function setPhase(phase: Phase, detail: string): void {
  status.phase = phase;
  status.phaseDetail = detail;
  const run = session.run;
  const training = phase === 'training' || phase === 'pausing';
  const hasModel = run !== null && (phase === 'paused' || phase === 'done' || phase === 'training');
  button('start').disabled = !status.dataReady || phase === 'opening' || training;
  button('pause').disabled = phase !== 'training';
  button('resume').disabled = !((phase === 'paused' && !session.sampleOnly) || phase === 'done' || (phase === 'lost' && session.lastPoint() !== null) || (phase === 'failed' && session.lastPoint() !== null));
  button('save').disabled = !hasModel;
  button('vae-samples').disabled = !hasModel || !run.model.hasVae;
  button('agave-samples').disabled = !hasModel;
  button('interpolate').disabled = !hasModel || !run.model.hasVae;
  button('interp-samples').disabled = !hasModel || session.path === null || run.model.kind !== 'agave';
  if (phase === 'training') trainStart = { time: performance.now(), step: run?.startStep ?? 0 };
  const words: Record<Phase, string> = {
    idle: 'No run', opening: 'Opening', training: 'Training', pausing: 'Pausing', paused: 'Paused', done: 'Done', lost: 'GPU device lost', failed: 'Stopped',
  };
  $('status').textContent = `${words[phase]}${detail ? `: ${detail}` : ''}`;
  if (run) {
    status.steps = run.recipe.steps;
    status.step = phase === 'training' ? status.step : run.startStep;
  }
  if (phase === 'lost') notice(detail, 'error', ...(session.lastPoint() ? [{ label: 'Resume from the last checkpoint', run: guarded(resumeLost) }] : []));
  if (phase === 'failed') {
    const big = configTooLarge(detail, session.settings?.config ?? ($<HTMLSelectElement>('config').value as ConfigName));
    if (big) notice(big.message, 'error', ...big.smaller.map((c) => ({ label: `Use ${c}`, run: () => fillRecipe(c) })));
  }
  emit('phase');
}

function onRecord(r: MetricsRecord): void {
  if (r.type === 'train') {
    const rec = r as unknown as StepRecord & { type: 'train' };
    status.step = rec.step;
    status.trainRecords = session.store?.records.filter((x) => x.type === 'train').length ?? 0;
    const total = session.run?.recipe.steps ?? status.steps;
    const eta = trainStart && rec.step > trainStart.step ? ((performance.now() - trainStart.time) / 1000 / (rec.step - trainStart.step)) * (total - rec.step) : NaN;
    $('progress-bar').style.width = `${Math.min(100, (100 * rec.step) / total).toFixed(1)}%`;
    $('status').textContent = `Training: step ${rec.step} / ${total} [${rec.phase}] · loss ${rec.loss.toFixed(3)} bits/dim · ${rec.imagesPerSecond.toFixed(1)} images/s · ETA ${formatDuration(eta)}`;
    scheduleCurves();
    emit('step');
  } else if (r.type === 'eval') {
    const rec = r as unknown as EvalRecord;
    status.evals.push(rec);
    status.evalLine = `step ${rec.step}: ${evalSummary(rec, session.run?.model.kind ?? 'agave')}`;
    $('eval-line').textContent = status.evalLine;
    emit('eval');
  }
}

let curvesPending = false;
function scheduleCurves(): void {
  if (curvesPending) return;
  curvesPending = true;
  setTimeout(() => {
    curvesPending = false;
    if (session.store) showCurves(session.store.curves());
  }, 50);
}

function showCurves(svg: string): void {
  const box = $('curves');
  box.innerHTML = svg;
  status.curvePoints = box.firstElementChild ? firstSeriesPoints(box.firstElementChild) : 0;
  emit('curves');
}

function onRows(name: string, rows: ImageRows): void {
  if (name.startsWith('samples-step')) {
    drawRows($<HTMLCanvasElement>('grid'), rows);
    status.grid = name;
    emit('grid');
  } else {
    drawRows($<HTMLCanvasElement>('samples'), rows);
    status.samples = rows.rows.map((r) => r.label).join(', ');
    emit('samples');
  }
}

function onProgress(what: string, done: number, total: number): void {
  $('sample-bar').style.width = `${((100 * done) / total).toFixed(1)}%`;
  $('sample-status').textContent = `${what}: row ${done} of ${total}`;
  status.sampleRowsDone = done;
  emit('sample-row');
}

function log(line: string): void {
  const pre = $('log');
  status.log.push(line);
  if (status.log.length > 2000) status.log.splice(0, status.log.length - 2000);
  pre.textContent = status.log.slice(-400).join('\n');
  pre.scrollTop = pre.scrollHeight;
}

async function start(): Promise<void> {
  const settings = readSettings();
  const data = currentData();
  const run = session.run;
  if (run && (session.phase === 'paused' || session.phase === 'done')) {
    // Nothing of the user's is lost without asking: the current run stays until they say so.
    notice(`Start a new run? The current one (config ${run.options.config}, step ${run.startStep}) is closed; its last checkpoint stays in the auto-save ` +
      "until the new run's first one. Save keeps a copy.", 'warning',
    { label: 'Start the new run', run: guarded(() => startNow(settings, data)) }, { label: 'Save the current one first', run: guarded(save) });
    return;
  }
  await startNow(settings, data);
}

async function startNow(settings: StudioSettings, data: Dataset): Promise<void> {
  resetPanels();
  await session.start(settings, data);
}

function resetPanels(): void {
  status.evals = [];
  status.grid = null;
  status.samples = null;
  status.interpolation = null;
  status.trainRecords = 0;
  $('eval-line').textContent = 'No evaluation yet.';
  for (const id of ['grid', 'samples', 'interp', 'interp-view']) {
    const c = $<HTMLCanvasElement>(id);
    c.width = 1;
    c.height = 1;
  }
}

async function resumeButton(): Promise<void> {
  if (session.phase === 'lost' || session.phase === 'failed') return resumeLost();
  const steps = checkSetting('steps', input('steps').value, { integer: true, min: 1 });
  const run = session.settings;
  const form = $<HTMLSelectElement>('config').value;
  const changed = run && (form !== run.config || ['lambda', 'batch', 'lr'].some((k) => Number(input(k).value) !== run[k as 'lambda' | 'batch' | 'lr']));
  if (changed) notice(`Resume continues this run with its own recipe (config ${run.config}, lambda ${run.lambda}, batch ${run.batch}, learning rate ${run.lr}); only the steps are taken from the form. Start begins a new run with the form's.`);
  session.continueTraining(steps);
}

async function resumeLost(): Promise<void> {
  const point = session.lastPoint();
  if (!point || !session.settings || !session.data) throw new Error('there is no checkpoint to resume from: start a new run');
  await session.resume(point, session.settings, session.data, true);
}

function download(name: string, bytes: Uint8Array): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  status.lastDownload = { name, bytes };
  emit('download');
}

async function save(): Promise<void> {
  const { name, bytes, step } = await session.checkpointBytes();
  download(name, bytes);
  log(`saved ${name}: step ${step}, ${bytes.length.toLocaleString('en-US')} bytes (the checkpoint format of node train.js: --resume --out DIR with it as DIR/checkpoint.agave)`);
}

async function openFile(file: File): Promise<void> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const opened = readCheckpointFile(file.name, bytes);
  const data = currentData();
  resetPanels();
  const cadence = readSettingsCadence();
  await session.openCheckpoint(opened, cadence, data, dataChoice());
  showSettings(session.settings!);
  if (session.sampleOnly) notice(session.sampleOnly);
  log(`opened ${file.name}: ${opened.options.config} config, ${session.run!.params.count.toLocaleString('en-US')} parameters, step ${opened.checkpoint.meta.step}`);
}

function readSettingsCadence(): Pick<StudioSettings, 'evalEvery' | 'autosaveEvery' | 'steps'> {
  return {
    evalEvery: checkSetting('evaluate every', input('eval-every').value, { integer: true, min: 1 }),
    autosaveEvery: checkSetting('auto-save every', input('autosave-every').value, { integer: true, min: 1 }),
    steps: 0,
  };
}

function sampleCount(): number {
  return checkSetting('how many', input('sample-count').value, { integer: true, min: 1, max: 64 });
}

async function vaeSamples(): Promise<void> {
  onRows('vae-samples', await session.vaeSamples(sampleCount()));
}

async function agaveSamples(): Promise<void> {
  status.sampleRowsDone = 0;
  onRows('model-samples', await session.modelSamples(sampleCount()));
  $('sample-status').textContent += ' (done)';
}

let interpRows: ImageRows | null = null;

async function interpolate(): Promise<void> {
  const a = checkSetting('test image', input('interp-a').value, { integer: true, min: 0 });
  const b = checkSetting('to test image', input('interp-b').value, { integer: true, min: 0 });
  const steps = checkSetting('steps', input('interp-steps').value, { integer: true, min: 2, max: 33 });
  showInterpolation(await session.interpolate(a, b, steps));
  button('interp-samples').disabled = session.run?.model.kind !== 'agave';
}

async function interpolationSamples(): Promise<void> {
  showInterpolation(await session.interpolationSamples());
}

function showInterpolation(rows: ImageRows): void {
  interpRows = rows;
  drawRows($<HTMLCanvasElement>('interp'), rows);
  const slider = input('interp-t');
  slider.max = String(rows.cols - 1);
  slider.disabled = false;
  if (Number(slider.value) > rows.cols - 1) slider.value = '0';
  showInterpolationStep();
  status.interpolation = rows.rows.map((r) => r.label).join(', ');
  emit('interpolation');
}

function showInterpolationStep(): void {
  if (!interpRows) return;
  const t = Number(input('interp-t').value);
  const T = interpRows.cols;
  // The ends row holds the test images at t = 0 and t = T - 1 only; the view shows the model's rows.
  const view = { ...interpRows, rows: interpRows.rows.slice(1) };
  drawOne($<HTMLCanvasElement>('interp-view'), view, t, 12);
  $('interp-t-label').textContent = `t = ${t} of ${T - 1} (z = ${(1 - t / (T - 1)).toFixed(2)} z_a + ${(t / (T - 1)).toFixed(2)} z_b)`;
}

// ---- the auto-save prompt -------------------------------------------------------------------------------------

function askAboutAutoSave(db: AutoSaveDb, saved: AutoSave): void {
  const s = saved.settings;
  const data = s.data.kind === 'sample' ? 'the bundled sample' : `your files ${s.data.names.join(', ')}`;
  const text = `A run was auto-saved ${new Date(saved.savedAt).toLocaleString()}: config ${s.config}, step ${saved.step} of ${s.steps}, on ${data}` +
    `${saved.running ? ', while training' : ''}. Resume it, download its checkpoint, or discard it (a new run overwrites it).`;
  $('resume-text').textContent = text;
  $('resume-prompt').hidden = false;
  status.resumePrompt = text;
  emit('resume-prompt');
  const closePrompt = (): void => {
    $('resume-prompt').hidden = true;
    status.resumePrompt = null;
  };
  button('resume-yes').onclick = guarded(async () => {
    const data = await dataOfAutoSave(saved);
    closePrompt();
    showSettings(s);
    resetPanels();
    const checkpoint = decodeCheckpoint(saved.checkpoint, 'the auto-save');
    await session.resume({ checkpoint, bytes: saved.checkpoint, step: saved.step, records: saved.records }, s, data, saved.running);
    log(`resumed the auto-saved run at step ${saved.step}`);
    emit('resumed');
  });
  button('resume-download').onclick = () => download(`agave-${s.config}-step${saved.step}.agave`, saved.checkpoint);
  button('resume-discard').onclick = guarded(async () => {
    await db.clear();
    closePrompt();
    log('discarded the auto-saved run');
    emit('discarded');
  });
}

/** The data an auto-saved run trained on: the sample, or the user's files chosen again (checked by fingerprint on resume). */
async function dataOfAutoSave(saved: AutoSave): Promise<Dataset> {
  const want = saved.settings.data;
  if (want.kind === 'sample') {
    document.querySelector<HTMLInputElement>('input[name=data][value=sample]')!.checked = true;
    if (!sample) throw new Error('the bundled sample is still loading: try again in a moment');
    return sample;
  }
  if (chosen && chosen.choice.kind === 'files' && chosen.choice.fingerprint.sha256 === want.fingerprint.sha256) return chosen.data;
  throw new Error(`this run trained on your files (${want.names.join(', ')}; ${describeData(want.fingerprint)}): choose them under Data > my files, then press "Resume it" again`);
}

// ---- start-up -------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const gpu = await findGpu();
  if (!gpu.ok) {
    $('adapter').textContent = 'No WebGPU: the page cannot train here.';
    $('no-webgpu-title').textContent = gpu.title;
    const help = $('no-webgpu-help');
    for (const p of gpu.help) {
      const el = document.createElement('p');
      el.textContent = p;
      help.append(el);
    }
    $('no-webgpu').hidden = false;
    status.gpu = 'missing';
    status.gpuMessage = `${gpu.title}. ${gpu.help.join(' ')}`;
    emit('no-webgpu');
    return;
  }
  software = gpu.software;
  status.gpu = 'ok';
  status.gpuMessage = gpu.description;
  $('adapter').textContent = `WebGPU adapter: ${gpu.description}${gpu.software ? ' (software: no GPU, slow)' : ''}.`;
  $('studio').hidden = false;
  fillConfigs();
  const opened = await openAutoSaveDb();
  if (!opened.db) notice(`Auto-save is off: ${opened.reason}. Save downloads checkpoints.`);
  session = new Session(opened.db, opened.db ? '' : opened.reason, {
    log,
    phase: setPhase,
    record: onRecord,
    curves: showCurves,
    rows: onRows,
    progress: onProgress,
    autosaved: (step) => {
      status.autosavedStep = step;
      $('autosave-status').textContent = `auto-saved at step ${step} (${new Date().toLocaleTimeString()}): a reload or a crash resumes from here`;
      emit('autosave');
    },
    notice: (text) => notice(text),
  });
  button('start').onclick = guarded(start);
  button('pause').onclick = guarded(() => session.pause());
  button('resume').onclick = guarded(resumeButton);
  button('save').onclick = guarded(save);
  button('vae-samples').onclick = guarded(vaeSamples);
  button('agave-samples').onclick = guarded(agaveSamples);
  button('interpolate').onclick = guarded(interpolate);
  button('interp-samples').onclick = guarded(interpolationSamples);
  input('interp-t').oninput = showInterpolationStep;
  input('open').onchange = guarded(async () => {
    const f = input('open').files?.[0];
    input('open').value = '';
    if (f) await openFile(f);
  });
  for (const id of ['data-files', 'data-folder']) {
    input(id).onchange = guarded(async () => {
      const files = Array.from(input(id).files ?? []);
      input(id).value = '';
      if (files.length) await chooseFiles(files);
    });
  }
  setPhase('idle', '');
  $('data-status').textContent = 'loading the bundled sample…';
  try {
    sample = await loadSample(new URL('./', location.href));
    $('data-status').textContent = `the bundled sample: ${describeSet(sample)}`;
    status.dataReady = true;
    setPhase('idle', '');
    emit('data');
  } catch (e) {
    $('data-status').textContent = 'the bundled sample could not be loaded (see the message above); your own files still work';
    notice(errorText(e), 'error');
    status.dataReady = true;
  }
  const saved = opened.db ? await opened.db.get().catch(() => null) : null;
  if (opened.db && saved) askAboutAutoSave(opened.db, saved);
  emit('ready');
}

main().catch((e: unknown) => {
  notice(`The page failed to start: ${errorText(e)}`, 'error');
  emit('failed');
});
