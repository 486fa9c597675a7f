// Model configurations, one table: `tiny` for tests, `small` for a CPU/lavapipe run in minutes, `paper` for
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
}

export const CONFIGS = {
  tiny: {
    name: 'tiny',
    description: '8x8 images; PixelCNN++ F=16 R=1 M=2; IAF-VAE H=16 Z=4, 2 levels x 1 block (tests)',
    imageSize: 8,
    pixelcnn: { filters: 16, resnets: 1, mixtures: 2, dropout: 0 },
    vae: { hidden: 16, latent: 4, depth: 2, blocks: 1, klMin: 0.1 },
    batch: 8,
  },
  small: {
    name: 'small',
    description: '32x32 images; PixelCNN++ F=16 R=1 M=3; IAF-VAE H=16 Z=4, 1 level x 1 block (CPU minutes)',
    imageSize: 32,
    pixelcnn: { filters: 16, resnets: 1, mixtures: 3, dropout: 0.1 },
    vae: { hidden: 16, latent: 4, depth: 1, blocks: 1, klMin: 0.1 },
    batch: 8,
  },
  paper: {
    name: 'paper',
    description: '32x32 images; PixelCNN++ F=160 R=5 M=10 dropout 0.5; IAF-VAE H=160 Z=32, 1 level x 20 blocks, free bits 0.1',
    imageSize: 32,
    pixelcnn: { filters: 160, resnets: 5, mixtures: 10, dropout: 0.5 },
    vae: { hidden: 160, latent: 32, depth: 1, blocks: 20, klMin: 0.1 },
    batch: 16,
  },
} as const satisfies Record<string, ModelConfig>;

export type ConfigName = keyof typeof CONFIGS;

export function configTable(): string {
  return Object.values(CONFIGS)
    .map((c) => `  ${c.name.padEnd(6)} ${c.description}; default batch ${c.batch}`)
    .join('\n');
}
