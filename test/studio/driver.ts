// The in-page side of the studio test (test/studio/run.mjs injects it into AGAVE Studio's index.html): it uses
// the page as a person does, through its form, buttons and file inputs, reads what the page shows
// (window.agaveStudio, the 'agave-studio' events, the canvases and the curves' SVG) and reports each check to
// the test server. Its progress survives the page's reload in sessionStorage (the reload is one of the checks).
import type { StudioStatus } from '../../studio/app/main.js';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const params = new URLSearchParams(location.search);
const STEPS = Number(params.get('steps') ?? 40);
const RELOAD_AT = Number(params.get('reloadAt') ?? 20);
const MODE = params.get('mode') ?? 'full';
const EVAL_EVERY = Number(params.get('evalEvery') ?? STEPS);
/** After this step of the resumed run the test destroys the page's GPU device (0: never). */
const LOSE_AT = Number(params.get('loseAt') ?? 0);

// Every device the page requests, so that the test can take one away as a crashed driver would (device.destroy():
// the page sees its device lost). Installed before the page creates any (it does on Start or Open).
const devices: GPUDevice[] = [];
const requestDevice = GPUAdapter.prototype.requestDevice;
GPUAdapter.prototype.requestDevice = async function (this: GPUAdapter, ...args: Parameters<GPUAdapter['requestDevice']>): Promise<GPUDevice> {
  const d = await requestDevice.apply(this, args);
  devices.push(d);
  return d;
};
const stage = (): string => sessionStorage.getItem('studio-test-stage') ?? 'start';
const setStage = (s: string): void => sessionStorage.setItem('studio-test-stage', s);
const status = (): StudioStatus => window.agaveStudio;

async function post(path: string, body: unknown): Promise<void> {
  const data = body instanceof Uint8Array ? (body as Uint8Array<ArrayBuffer>) : JSON.stringify(body);
  await fetch(path, { method: 'POST', body: data });
}
const log = (line: string): Promise<void> => post('/log', { line: `${new Date().toISOString().slice(11, 19)} ${line}` });
const report = (c: Check): Promise<void> => post('/check', c);
const check = (name: string, ok: boolean, detail = ''): Promise<void> => report({ name, ok, detail });

/** Resolves when `test()` holds, re-checked at each page event (and every second); rejects after `ms`. */
function until(what: string, test: () => boolean, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const poll = (): void => {
      let ok = false;
      try {
        ok = test();
      } catch {
        ok = false;
      }
      if (ok) {
        cleanup();
        resolve();
      } else if (performance.now() - t0 > ms) {
        cleanup();
        const s = window.agaveStudio;
        reject(new Error(`timed out after ${(ms / 1000).toFixed(0)} s waiting for ${what} (phase ${s?.phase}: ${s?.phaseDetail}; step ${s?.step}; notices: ${s?.notices.join(' | ')}; log: ${s?.log.slice(-4).join(' | ')})`));
      }
    };
    const timer = setInterval(poll, 1000);
    const cleanup = (): void => {
      clearInterval(timer);
      window.removeEventListener('agave-studio', poll);
    };
    window.addEventListener('agave-studio', poll);
    poll();
  });
}

const el = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const click = (id: string): void => el<HTMLButtonElement>(id).click();
function setInput(id: string, value: string): void {
  const e = el<HTMLInputElement | HTMLSelectElement>(id);
  e.value = value;
  e.dispatchEvent(new Event('change', { bubbles: true }));
}

/** Gives a file input files, as a person choosing them does (the input's change event). */
async function chooseFiles(inputId: string, files: { url: string; name: string }[]): Promise<void> {
  const dt = new DataTransfer();
  for (const f of files) dt.items.add(new File([await (await fetch(f.url)).arrayBuffer()], f.name));
  const input = el<HTMLInputElement>(inputId);
  input.files = dt.files;
  input.dispatchEvent(new Event('change', { bubbles: true }));
}
const chooseFile = (inputId: string, url: string, name: string): Promise<void> => chooseFiles(inputId, [{ url, name }]);

/** A button of the page's messages (notices), by its text. */
const noticeButton = (text: string): HTMLButtonElement | undefined =>
  Array.from(document.querySelectorAll<HTMLButtonElement>('#notices button')).find((b) => b.textContent === text);

/** How many pixels of a canvas are not one flat colour (a drawn grid has many). */
function canvasDetail(id: string): { width: number; height: number; distinct: number } {
  const c = el<HTMLCanvasElement>(id);
  const ctx = c.getContext('2d')!;
  const data = ctx.getImageData(0, 0, c.width, c.height).data;
  const seen = new Set<number>();
  for (let i = 0; i < data.length && seen.size < 5000; i += 4) seen.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
  return { width: c.width, height: c.height, distinct: seen.size };
}

async function noWebGpu(): Promise<void> {
  await until('the page to find no WebGPU', () => status().gpu !== 'checking', 60_000);
  const box = el<HTMLElement>('no-webgpu');
  const text = box.textContent ?? '';
  await check('without WebGPU: the page shows the no-WebGPU message (and no studio)',
    status().gpu === 'missing' && !box.hidden && el<HTMLElement>('studio').hidden && /enable-unsafe-webgpu/.test(text),
    text.replace(/\s+/g, ' ').slice(0, 300));
}

async function chooseDataFiles(): Promise<void> {
  // A truncated CIFAR-10 batch: the CLI's message, the bundled sample stays in use.
  let before = status().notices.length;
  await chooseFiles('data-files', [{ url: '/fixtures/truncated.bin', name: 'data_batch_1.bin' }, { url: 'data/cifar10-sample-test.bin.gz', name: 'test_batch.bin.gz' }]);
  await until('the message about the truncated batch', () => status().notices.length > before, 60_000);
  const msg = status().notices.at(-1) ?? '';
  await check("data files chosen in the page: a truncated CIFAR-10 batch gets the CLI's message", /^data_batch_1\.bin: size 10000 bytes is not a multiple of the CIFAR-10 record size 3073/.test(msg), msg);
  // The sample's two files under CIFAR-10's names: found, validated and fingerprinted as the CLI does.
  before = status().notices.length;
  await chooseFiles('data-files', [{ url: 'data/cifar10-sample-train.bin.gz', name: 'data_batch_1.bin.gz' }, { url: 'data/cifar10-sample-test.bin.gz', name: 'test_batch.bin.gz' }]);
  await until('the chosen files to load', () => /^your files: /.test(el('data-status').textContent ?? '') || status().notices.length > before, 60_000);
  const text = el('data-status').textContent ?? '';
  await check('...and CIFAR-10 batches (data_batch_1.bin.gz, test_batch.bin.gz) load: 2,000 train / 500 test, the sample\'s fingerprint',
    /^your files: cifar10: 2,000 train \/ 500 test images 32x32x3 \(sha256 29eb93f91bd1\)$/.test(text), text);
  const sample = document.querySelector<HTMLInputElement>('input[name=data][value=sample]')!;
  sample.checked = true;
  sample.dispatchEvent(new Event('change', { bubbles: true }));
}

async function openAndSampleCliCheckpoint(): Promise<void> {
  // A corrupt file: the CLI's message, nothing else changes.
  const before = status().notices.length;
  await chooseFile('open', '/fixtures/corrupt.agave', 'corrupt.agave');
  await until('the message about the corrupt file', () => status().notices.length > before, 30_000);
  const msg = status().notices.at(-1) ?? '';
  await check('a corrupt checkpoint file: the CLI\'s message (CheckpointError), no run opened', /corrupt\.agave: truncated/.test(msg) && status().phase === 'idle', msg);

  // The checkpoint of `node train.js --config tiny`, opened and sampled.
  await chooseFile('open', '/fixtures/tiny.agave', 'tiny.agave');
  await until('the tiny checkpoint to open', () => status().phase === 'paused' || status().phase === 'failed', 300_000);
  const opened = status();
  await check('a checkpoint made by `node train.js --config tiny` opens in the page (on its own data: trainable, not sample-only)',
    opened.phase === 'paused' && /tiny\.agave at step \d+$/.test(opened.phaseDetail),
    `${opened.phase}: ${opened.phaseDetail}`);
  click('agave-samples');
  await until('AGAVE samples of the tiny checkpoint', () => status().samples === 'VAE f(z), AGAVE x' || status().notices.length > before + 1, 300_000);
  const pixels = canvasDetail('samples');
  await check('...and sampled: AGAVE samples (f(z) and x, the cached sampler, 8 rows of 8x8) drawn on the canvas',
    status().samples === 'VAE f(z), AGAVE x' && status().sampleRowsDone === 8 && pixels.distinct > 20, `${status().samples}; rows ${status().sampleRowsDone}; canvas ${JSON.stringify(pixels)}`);
  click('vae-samples');
  await until('VAE samples of the tiny checkpoint', () => status().samples === 'VAE f(z)', 120_000);
  await check('...VAE samples drawn', canvasDetail('samples').distinct > 20, JSON.stringify(canvasDetail('samples')));
  setInput('interp-steps', '5');
  click('interpolate');
  await until('the interpolation', () => status().interpolation !== null, 120_000);
  const slider = el<HTMLInputElement>('interp-t');
  slider.value = '2';
  slider.dispatchEvent(new Event('input'));
  const view = canvasDetail('interp-view');
  await check('...and interpolated between two test images (slider at t = 2 of 4)', status().interpolation === 'test 0, 1, f(z_t)' && view.distinct > 5 && /t = 2 of 4/.test(el('interp-t-label').textContent ?? ''),
    `${status().interpolation}; view ${JSON.stringify(view)}; ${el('interp-t-label').textContent}`);
  // ...and trained further: 2 more steps, its final evaluation and auto-save.
  const evals = status().evals.length;
  setInput('steps', '12');
  click('resume');
  await until('2 more steps of the tiny checkpoint', () => status().phase === 'done' || status().phase === 'failed', 600_000);
  const last = status().evals.at(-1);
  await check('...and trained further in the page: steps 11-12, evaluated at step 12, auto-saved', status().phase === 'done' && status().step === 12 && status().evals.length === evals + 1 && last?.step === 12 && status().autosavedStep === 12,
    `${status().phase}: ${status().phaseDetail}; ${status().evalLine}; auto-saved ${status().autosavedStep}`);
}

async function startQuick(): Promise<void> {
  setInput('config', 'quick');
  setInput('steps', String(STEPS));
  setInput('eval-every', String(EVAL_EVERY));
  setInput('autosave-every', String(RELOAD_AT));
  const hadRun = status().phase === 'done' || status().phase === 'paused';
  click('start');
  if (hadRun) {
    // A run is open (the tiny checkpoint): the page asks before closing it.
    await until('the question before replacing the open run', () => noticeButton('Start the new run') !== undefined, 30_000);
    await check('Start with a run open asks first (and offers to save it)', noticeButton('Save the current one first') !== undefined, status().notices.at(-1) ?? '');
    noticeButton('Start the new run')!.click();
  }
  await until(`the auto-save at step ${RELOAD_AT}`, () => status().autosavedStep === RELOAD_AT, 1_800_000);
  await check(`quick: trains in the page and auto-saves at step ${RELOAD_AT}`, true, `step ${status().step}; log: ${status().log.filter((l) => l.startsWith('step ')).slice(-2).join(' | ')}`);
  setStage('reloaded');
  await log(`reloading at step ${status().step}`);
  location.reload();
}

async function afterReload(): Promise<void> {
  await until('the question whether to resume', () => status().resumePrompt !== null, 120_000);
  const prompt = status().resumePrompt ?? '';
  await check(`after a reload mid-run the page asks before resuming (auto-save at step ${RELOAD_AT})`, new RegExp(`step ${RELOAD_AT} of ${STEPS}`).test(prompt) && /while training/.test(prompt), prompt);
  click('resume-yes');
  await until('the run to resume', () => status().phase === 'training' || status().phase === 'failed', 600_000);
  const resumedRecords = status().trainRecords;
  const resumedAt = status().step;
  await until('the next step after the resume', () => status().step > RELOAD_AT || status().phase === 'failed', 600_000);
  const firstStep = status().log.find((l) => /resumed from .* at step/.test(l)) ?? '';
  await check(`...and resumes from IndexedDB at the saved step ${RELOAD_AT} (its ${RELOAD_AT} records kept, training goes on from step ${RELOAD_AT + 1})`,
    resumedAt === RELOAD_AT && resumedRecords === RELOAD_AT && new RegExp(`at step ${RELOAD_AT}$`).test(firstStep) && status().phase === 'training',
    `phase ${status().phase}; step at resume ${resumedAt}, records ${resumedRecords}; "${firstStep}"`);
  if (LOSE_AT > 0) await loseDevice();
  await until(`step ${STEPS} and its evaluation`, () => status().phase === 'done' || status().phase === 'failed', 3_600_000);
  const s = status();
  const last = s.evals.at(-1);
  const grid = canvasDetail('grid');
  await check(`quick trains to step ${STEPS}: the curves hold ${STEPS} points`, s.phase === 'done' && s.trainRecords === STEPS && s.curvePoints === STEPS,
    `${s.phase}: ${s.phaseDetail}; records ${s.trainRecords}, curve points ${s.curvePoints}`);
  await check(`the grid of the evaluation at step ${STEPS} is drawn (test x, VAE f(z), PixelCNN on f(z), VAE samples)`,
    s.grid === `samples-step${String(STEPS).padStart(6, '0')}` && grid.distinct > 100 && grid.height > 4 * 64, `${s.grid}; canvas ${JSON.stringify(grid)}; ${s.evalLine}`);
  await check('the evaluation line is shown', last?.step === STEPS && /test \d+\.\d{3} bits\/dim \(pixelcnn .* \+ kl .*\) \| VAE: aux .* recon PSNR .* latent channels active/.test(el('eval-line').textContent ?? ''),
    el('eval-line').textContent ?? '');
  const speed = s.log.filter((l) => /^step +\d+\/\d+ .* img\/s/.test(l));
  await log(`page steps: ${speed.join(' | ')}`);
  click('agave-samples');
  await until('AGAVE samples of the trained model', () => (status().samples === 'VAE f(z), AGAVE x' && status().sampleRowsDone === 16) || status().phase === 'failed', 1_200_000);
  const samples = canvasDetail('samples');
  await check('AGAVE samples of the trained quick model are drawn (16 rows, progress per row)', status().samples === 'VAE f(z), AGAVE x' && samples.distinct > 100, `${status().samples}; rows ${status().sampleRowsDone}; ${JSON.stringify(samples)}`);
  setInput('interp-steps', '9');
  click('interpolate');
  await until('the interpolation of the trained model', () => status().interpolation === 'test 0, 1, f(z_t)' || status().phase === 'failed', 300_000);
  click('interp-samples');
  await until('PixelCNN samples along the path', () => status().interpolation === 'test 0, 1, f(z_t), x | f(z_t)' || status().phase === 'failed', 600_000);
  const slider = el<HTMLInputElement>('interp-t');
  slider.value = '4';
  slider.dispatchEvent(new Event('input'));
  const path = canvasDetail('interp');
  await check('a latent interpolation of the trained model, with the PixelCNN along it (slider at t = 4 of 8)',
    status().interpolation === 'test 0, 1, f(z_t), x | f(z_t)' && path.distinct > 100 && /t = 4 of 8/.test(el('interp-t-label').textContent ?? ''),
    `${status().interpolation}; ${JSON.stringify(path)}; ${el('interp-t-label').textContent}`);
  click('save');
  await until('Save', () => status().lastDownload !== null, 300_000);
  const saved = status().lastDownload!;
  await post('/upload', saved.bytes);
  await check(`Save downloads a checkpoint (${saved.name})`, saved.name === `agave-quick-step${STEPS}.agave` && saved.bytes.length > 1000, `${saved.name}, ${saved.bytes.length} bytes`);
  const train = status().records().filter((r) => r.type === 'train');
  await post('/result', { lastEval: last, train, log: s.log.filter((l) => /^step |^eval |^resumed|lost/.test(l)) });
}

/** The device goes away mid-run (as when a GPU driver crashes): the page says so and resumes from its last checkpoint. */
async function loseDevice(): Promise<void> {
  await until(`step ${LOSE_AT}`, () => status().step >= LOSE_AT || status().phase !== 'training', 1_800_000);
  const at = status().step;
  const before = status().notices.length;
  devices.at(-1)?.destroy();
  await log(`destroyed the page's GPU device at step ${at}`);
  await until('the page to see its device lost', () => status().phase === 'lost' || status().phase === 'failed', 300_000);
  const said = status().notices.slice(before).join(' | ');
  const resume = noticeButton('Resume from the last checkpoint');
  await check(`the device lost mid-run (at step ${at}): the page says so and offers to resume from the last checkpoint (step ${RELOAD_AT})`,
    status().phase === 'lost' && /GPU device was lost/.test(said) && new RegExp(`step ${RELOAD_AT}\\b`).test(said) && resume !== undefined, `${status().phase}: ${said}`);
  resume?.click();
  await until('training again after the device loss', () => (status().phase === 'training' && status().step >= RELOAD_AT) || status().phase === 'failed', 600_000);
  await check(`...and resumes from it: training again from step ${RELOAD_AT}`, status().phase === 'training' && status().trainRecords === RELOAD_AT,
    `${status().phase}; records ${status().trainRecords}; ${status().log.filter((l) => /resumed from/.test(l)).at(-1)}`);
}

async function main(): Promise<void> {
  try {
    if (MODE === 'no-webgpu') {
      await noWebGpu();
    } else if (stage() === 'start') {
      await until('the page to start', () => status().gpu === 'missing' || (status().gpu === 'ok' && status().dataReady && status().phase === 'idle' && el<HTMLButtonElement>('start').disabled === false), 120_000);
      await check('the page finds WebGPU and loads the bundled sample', status().gpu === 'ok' && status().dataReady, status().gpuMessage);
      if (status().gpu !== 'ok') throw new Error('no WebGPU');
      if (MODE === 'full') {
        await chooseDataFiles();
        await openAndSampleCliCheckpoint();
      }
      await startQuick();
      return; // the page reloads; this script runs again in the new page
    } else if (stage() === 'reloaded') {
      await afterReload();
    }
    await post('/done', {});
  } catch (e) {
    await post('/done', { fatal: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e) });
  }
}

void main();
