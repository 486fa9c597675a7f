// Model configurations, one table: `tiny` for tests, `quick` for the default run (16x16, minutes on a CPU with
// lavapipe, where each autoregressive sample costs 256 network passes), `small` for 32x32 on a CPU, `paper` for
// the AGAVE paper's setting (PixelCNN++ with the openai defaults F=160, R=5, M=10, dropout 0.5; IAF-VAE as
// the IAF paper's best CIFAR model: H=160, Z=32, one level of 16x16 maps with 20 blocks, free bits 0.1).
import type { PixelCnnConfig } from './pixelcnn.js';
import type { IafVaeConfig } from './iafvae.js';

export interface ModelConfig {
  name: string;
  description: string;
  imageSize: number;
  pixelcnn: Omit<PixelCnnConfig, 'channels' | 'condChannels'>;
  vae: Omit<IafVaeConfig, 'channels' | 'outChannels'>;
  /** Default batch size for training. */
  batch: number;
  /** The training recipe that goes with the model (every entry can be overridden by a flag). */
  recipe: Recipe;
}

/**
 * AGAVE's recipe (docs/MODEL.md §1.5): Adamax without decay, lambda on the KL, Polyak averaging with the component
 * codes' decays (0.9995 for PixelCNN++, 0.999 for the IAF-VAE), and a pre-training phase in which the VAE and
 * the PixelCNN are trained at once but independently (the PixelCNN conditioned on the detached f(z)), then the
 * joint objective with full gradient flow.
 */
export interface Recipe {
  lambda: number;
  lr: number;
  ema: { vae: number; pixelcnn: number };
  /** Steps of the parallel, independent pre-training phase. */
  pretrain: number;
  /** Default number of training steps. */
  steps: number;
}

export const CONFIGS = {
  tiny: {
    name: 'tiny',
    description: '8x8 images; PixelCNN++ F=16 R=1 M=2; IAF-VAE H=16 Z=4, 2 levels x 1 block (tests)',
    imageSize: 8,
    pixelcnn: { filters: 16, resnets: 1, mixtures: 2, dropout: 0 },
    vae: { hidden: 16, latent: 4, depth: 2, blocks: 1, klMin: 0.1 },
    batch: 8,
    recipe: { lambda: 2, lr: 0.002, ema: { vae: 0.999, pixelcnn: 0.9995 }, pretrain: 0, steps: 120 },
  },
  quick: {
    name: 'quick',
    description: '16x16 images (CIFAR-10 pooled 2x2); PixelCNN++ F=16 R=1 M=3; IAF-VAE H=32 Z=8, 1 level x 1 block (the default run: minutes on a CPU)',
    imageSize: 16,
    pixelcnn: { filters: 16, resnets: 1, mixtures: 3, dropout: 0.1 },
    vae: { hidden: 32, latent: 8, depth: 1, blocks: 1, klMin: 0.1 },
    batch: 8,
    recipe: { lambda: 2, lr: 0.002, ema: { vae: 0.999, pixelcnn: 0.9995 }, pretrain: 0, steps: 400 },
  },
  small: {
    name: 'small',
    description: '32x32 images; PixelCNN++ F=16 R=1 M=3; IAF-VAE H=16 Z=4, 1 level x 1 block (CPU minutes)',
    imageSize: 32,
    pixelcnn: { filters: 16, resnets: 1, mixtures: 3, dropout: 0.1 },
    vae: { hidden: 16, latent: 4, depth: 1, blocks: 1, klMin: 0.1 },
    batch: 8,
    recipe: { lambda: 2, lr: 0.002, ema: { vae: 0.999, pixelcnn: 0.9995 }, pretrain: 0, steps: 120 },
  },
  paper: {
    name: 'paper',
    description: '32x32 images; PixelCNN++ F=160 R=5 M=10 dropout 0.5; IAF-VAE H=160 Z=32, 1 level x 20 blocks, free bits 0.1',
    imageSize: 32,
    pixelcnn: { filters: 160, resnets: 5, mixtures: 10, dropout: 0.5 },
    vae: { hidden: 160, latent: 32, depth: 1, blocks: 20, klMin: 0.1 },
    batch: 16,
    // lambda 12: the paper's best model (Table 1). The pre-training length is not stated in the paper.
    recipe: { lambda: 12, lr: 0.002, ema: { vae: 0.999, pixelcnn: 0.9995 }, pretrain: 20000, steps: 300000 },
  },
} as const satisfies Record<string, ModelConfig>;

export type ConfigName = keyof typeof CONFIGS;

export function configTable(): string {
  return Object.values(CONFIGS)
    .map((c) => `  ${c.name.padEnd(6)} ${c.description}\n         recipe: batch ${c.batch}, lambda ${c.recipe.lambda}, lr ${c.recipe.lr}, EMA ${c.recipe.ema.vae} (VAE) / ${c.recipe.ema.pixelcnn} (PixelCNN), ${c.recipe.pretrain} parallel pre-training steps, ${c.recipe.steps} steps`)
    .join('\n');
}
