// The flags of `node train.js` and their help text (train/cli.ts runs them; tests parse them).
import { parseArgs } from 'node:util';
import { CONFIGS, configTable, type ConfigName } from '../model/config.js';
import type { AuxVariant } from '../engine/ops/aux_image.js';
import type { TrainOptions } from './trainer.js';

export const HELP = `usage: node train.js [options]
       node train.js experiment <name> [--preset quick|paper] [--out DIR]   (the paper's experiments; --help there)

Train and evaluate AGAVE (Lucas & Verbeek 2018): an IAF-VAE whose decoder reconstructs an auxiliary image,
and a PixelCNN++ conditioned on that decoder output, on WebGPU. With no options it trains the 'small' config
on the bundled CIFAR-10 sample (2,000 train / 500 test images) for 120 steps (about 8 minutes with lavapipe
on 2 cores; a 9-minute time limit guards the default run), printing the bits/dim as it goes, and writes
metrics, PNG grids and a checkpoint to runs/default.

data and model
  --data DIR            CIFAR-10 binary batches (data_batch_*.bin[.gz] + test_batch.bin[.gz]) or the four
                        Fashion-MNIST IDX files (.gz or raw). Default: the bundled sample. Images are fitted to the
                        config's size (average pooling by an integer factor, or zero padding: 28 -> 32).
  --config NAME         tiny | small | paper (default small):
${configTable()}
  --aux VARIANT         auxiliary image y: identity | levels | 16x16 | 8x8 | gray4 (4-bit grayscale) (default identity)
  --levels K            colour levels of the auxiliary likelihood (with --aux levels; 256 % K == 0)
  --lambda L            weight of the KL term (default: the config's recipe; 2 = the sum of two ELBOs; the
                        paper's best used 12, the 'paper' recipe)
  --dropout P           override the PixelCNN++ dropout of the config
  --image-size N        train at N x N (data pooled or padded to it; bits/dim count N*N*C dimensions)
  --aux-scale-init M    data (default): the aux decoder's per-channel log-scale starts at the logistic that
                        matches the residuals y - f(z) of the init batch (about -2 on CIFAR), so the VAE learns
                        from the first step; zero: the IAF code's log-scale 0 (scale 1 against data in
                        (-0.5, 0.5): the reconstruction term is nearly flat and the posterior collapses)

optimisation
  --steps N             training steps (default: the config's recipe)
  --batch N             batch size (default: the config's recipe)
  --lr LR               Adamax learning rate (default 0.002, no decay)
  --ema DECAY           one Polyak averaging decay for all evaluation weights (default: the recipe's 0.999 for
                        the VAE, 0.9995 for the PixelCNN; warmed up as min(DECAY, (1 + step) / (10 + step)))
  --pretrain N          first N steps (after any sequential phases) train the VAE and the PixelCNN at once but
                        independently: the PixelCNN conditioned on the detached f(z) (the paper's pre-training;
                        default: the config's recipe), then the joint objective
  --seed N              seed of the initialisation, data order, dropout and latent noise (default 1)
  --vae-pretrain N      sequential pre-training: first N steps train the VAE alone (aux recon + lambda * KL) (default 0)
  --pixelcnn-pretrain N next N steps train the PixelCNN alone, conditioned on the detached VAE output (default 0)
  --drop-aux-at N       control experiment: from step N on, the auxiliary loss is dropped from the objective
  --train-images N      use only the first N training images
  --agave-samples N     after training, draw N AGAVE samples: z from the prior, then H*W PixelCNN passes
                        conditioned on f(z) (agave-samples.png; slow on a CPU: 1,024 passes at 32x32). With
                        --resume and --steps equal to the checkpoint's step it only samples.

output and control
  --out DIR             output folder: metrics.jsonl, samples-step*.png, checkpoint.agave (default runs/default)
  --eval-every N        evaluate every N steps and at the end (default 40)
  --eval-images N       test images per evaluation (default 96)
  --pixelcnn-recon N    the final evaluation's grid adds PixelCNN reconstructions: N test images sampled
                        autoregressively given their f(z) (H*W passes) (default 8; 0: off)
  --iw-samples K        the final evaluation also reports the importance-weighted bound with K samples
                        (MODEL_SPEC §4; the paper used 150; costs K evaluations) (default 1: off)
  --checkpoint-every N  write a checkpoint every N steps and at the end (default 40)
  --resume              continue from OUT/checkpoint.agave (same settings required; --steps may grow)
  --time-limit MIN      stop after MIN minutes with a checkpoint (continue with --resume); default 9 when
                        no --steps is given (the quick default run), none otherwise; 0 disables
  --log-every N         progress line every N steps (default 10)
  --check-gpu           print the WebGPU adapter and exit
  -h, --help            this help

Evaluation reports the single-sample bound -log p(x|z) + KL (lambda = 1, true KL, PixelCNN NLL, EMA weights,
no dropout) in bits/dim over the test images, and writes a PNG grid of test images, VAE reconstructions and
VAE samples. Requires a WebGPU adapter: a GPU driver, or Mesa >= 24 lavapipe (see README).
`;

function int(name: string, v: string | undefined, def: number, min = 0): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}

function num(name: string, v: string | undefined, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got '${v}'`);
  return n;
}

const AUX = ['identity', 'levels', '16x16', '8x8', '4x4', 'gray4'];

export function parseOptions(argv: string[]): TrainOptions | 'help' | 'check-gpu' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      data: { type: 'string' },
      config: { type: 'string' },
      aux: { type: 'string' },
      levels: { type: 'string' },
      lambda: { type: 'string' },
      dropout: { type: 'string' },
      steps: { type: 'string' },
      batch: { type: 'string' },
      lr: { type: 'string' },
      ema: { type: 'string' },
      seed: { type: 'string' },
      'vae-pretrain': { type: 'string' },
      pretrain: { type: 'string' },
      'image-size': { type: 'string' },
      'aux-scale-init': { type: 'string' },
      'pixelcnn-recon': { type: 'string' },
      'pixelcnn-pretrain': { type: 'string' },
      'drop-aux-at': { type: 'string' },
      'train-images': { type: 'string' },
      'agave-samples': { type: 'string' },
      'iw-samples': { type: 'string' },
      out: { type: 'string' },
      'eval-every': { type: 'string' },
      'eval-images': { type: 'string' },
      'checkpoint-every': { type: 'string' },
      resume: { type: 'boolean' },
      'time-limit': { type: 'string' },
      'log-every': { type: 'string' },
      'check-gpu': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (values['check-gpu']) return 'check-gpu';
  if (positionals.length) throw new Error(`unexpected argument '${positionals[0]}' (see --help)`);
  const config = (values.config ?? 'small') as ConfigName;
  if (!(config in CONFIGS)) throw new Error(`--config must be one of ${Object.keys(CONFIGS).join(', ')}, got '${values.config}'`);
  const aux = (values.aux ?? 'identity') as AuxVariant;
  if (!AUX.includes(aux)) throw new Error(`--aux must be one of ${AUX.join(', ')}, got '${values.aux}'`);
  if (aux === 'levels' && values.levels === undefined) throw new Error('--aux levels needs --levels K');
  const o: TrainOptions = {
    config,
    aux,
    seed: int('seed', values.seed, 1),
    out: values.out ?? 'runs/default',
    evalEvery: int('eval-every', values['eval-every'], 40, 1),
    evalImages: int('eval-images', values['eval-images'], 96, 1),
    checkpointEvery: int('checkpoint-every', values['checkpoint-every'], 40, 1),
    resume: values.resume ?? false,
    vaePretrain: int('vae-pretrain', values['vae-pretrain'], 0),
    pixelcnnPretrain: int('pixelcnn-pretrain', values['pixelcnn-pretrain'], 0),
    logEvery: int('log-every', values['log-every'], 10, 1),
  };
  if (values.data !== undefined) o.data = values.data;
  if (values.steps !== undefined) o.steps = int('steps', values.steps, 1, 1);
  if (values.lambda !== undefined) o.lambda = num('lambda', values.lambda, 1);
  if (values.lr !== undefined) o.lr = num('lr', values.lr, 0.002);
  if (values.ema !== undefined) o.emaDecay = num('ema', values.ema, 0.999);
  if (values['image-size'] !== undefined) o.imageSize = int('image-size', values['image-size'], 32, 8);
  if (values.pretrain !== undefined) o.pretrain = int('pretrain', values.pretrain, 0);
  o.pixelcnnRecon = int('pixelcnn-recon', values['pixelcnn-recon'], 8);
  if (values['aux-scale-init'] !== undefined) {
    if (values['aux-scale-init'] !== 'data' && values['aux-scale-init'] !== 'zero') throw new Error(`--aux-scale-init must be data or zero, got '${values['aux-scale-init']}'`);
    o.auxScaleInit = values['aux-scale-init'];
  }
  if (values.levels !== undefined) o.levels = int('levels', values.levels, 256, 2);
  if (values.batch !== undefined) o.batch = int('batch', values.batch, 1, 1);
  if (values['drop-aux-at'] !== undefined) o.dropAuxAt = int('drop-aux-at', values['drop-aux-at'], 0);
  if (values.dropout !== undefined) o.dropout = num('dropout', values.dropout, 0);
  const limit = values['time-limit'] !== undefined ? num('time-limit', values['time-limit'], 0) : values.steps === undefined ? 9 : 0;
  if (limit > 0) o.timeLimitMinutes = limit;
  if (values['train-images'] !== undefined) o.trainImages = int('train-images', values['train-images'], 1, 1);
  if (values['iw-samples'] !== undefined) o.iwSamples = int('iw-samples', values['iw-samples'], 1, 1);
  if (values['agave-samples'] !== undefined) o.agaveSamples = int('agave-samples', values['agave-samples'], 0, 0);
  if (o.emaDecay !== undefined && !(o.emaDecay >= 0 && o.emaDecay < 1)) throw new Error(`--ema must be in [0, 1), got ${o.emaDecay}`);
  if (o.dropout !== undefined && !(o.dropout >= 0 && o.dropout < 1)) throw new Error(`--dropout must be in [0, 1), got ${o.dropout}`);
  return o;
}

