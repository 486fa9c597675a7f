// Model configurations used only by tests. Why: every public config below 'paper' has one gated resnet per
// PixelCNN stage and one IAF block per level, so a bug that shows only with several (a skip connection or a
// weight taken from the wrong resnet, noise streams of the second block) passed every test while the paper's
// structure (5 resnets per stage, 20 IAF blocks) is too large to run on lavapipe. STRUCTURE is the 'tiny' config
// (8x8) with that structure at test size.
import { CONFIGS, type ModelConfig } from '../../model/config.js';

/** 'tiny' with 2 gated resnets per PixelCNN stage and 2 levels of 2 IAF blocks each. */
export const STRUCTURE: ModelConfig = {
  ...CONFIGS.tiny,
  name: 'tiny-r2-b2',
  description: '8x8 images; PixelCNN++ F=16 R=2 M=2; IAF-VAE H=16 Z=4, 2 levels x 2 blocks (tests of the paper\'s structure)',
  pixelcnn: { ...CONFIGS.tiny.pixelcnn, resnets: 2 },
  vae: { ...CONFIGS.tiny.vae, depth: 2, blocks: 2 },
};
