// The page `npm run bench -- tune --browser` opens in headless Chromium (bench/browser.ts serves it): the same
// stepper as in Node (bench/stepper.ts: engine, model and the loop's step, bundled for the browser), tuned from
// scratch on the browser's adapter (SwiftShader here), then the tuned step and the static one (`tune: 'off'`)
// alternated; the raw numbers go back to the Node side, which prints the tables.
import { createStepper } from './stepper.js';

const post = (path: string, body: unknown): Promise<Response> => fetch(path, { method: 'POST', body: JSON.stringify(body) });

export async function main(): Promise<void> {
  const q = new URLSearchParams(location.search);
  const config = (q.get('config') ?? 'small') as 'tiny' | 'quick' | 'small' | 'paper';
  const batch = Number(q.get('batch') ?? 8);
  const steps = Number(q.get('steps') ?? 2);
  const rounds = Number(q.get('rounds') ?? 5);
  const bucketMs = q.get('bucketMs') ? Number(q.get('bucketMs')) : undefined;
  const log = (line: string): Promise<Response> => post('/log', { line });
  await log(`${config} batch ${batch}: init and tuning on ${navigator.userAgent}`);
  const tuned = await createStepper({ config, batch, tune: 'on', tuneCache: null, ...(bucketMs ? { tuneBucketMs: bucketMs } : {}) });
  await log(`tuned: ${tuned.info.tune?.tuned ?? 0} buckets in ${((tuned.info.tune?.ms ?? 0) / 1000).toFixed(1)} s; the static stepper`);
  const base = await createStepper({ config, batch, tune: 'off' });
  await base.run(1);
  await tuned.run(1);
  const ta: number[] = [];
  const tb: number[] = [];
  const dispatches = { off: 0, on: 0 };
  for (let r = 0; r < rounds; r++) {
    for (const s of r % 2 === 0 ? [base, tuned] : [tuned, base]) {
      const x = await s.run(steps);
      (s === base ? ta : tb).push(x.msPerStep);
      dispatches[s === base ? 'off' : 'on'] = x.dispatchesPerStep;
      await log(`round ${r + 1}/${rounds}: ${s === base ? 'tune off' : 'tune on'} ${x.msPerStep.toFixed(0)} ms/step`);
    }
  }
  await post('/report', { adapter: tuned.adapter(), userAgent: navigator.userAgent, info: { ...tuned.info }, params: tuned.info.params, off: ta, on: tb, dispatches });
  base.dispose();
  tuned.dispose();
}
