// `node train.js`: the command-line entry. Training and evaluation of AGAVE arrive with the model issue; until
// then this prints the help text and checks that a WebGPU adapter is available.
import { parseArgs } from 'node:util';
import { Engine } from '../engine/index.js';

const HELP = `usage: node train.js [options]

Train and evaluate the AGAVE model (IAF-VAE + conditional PixelCNN++) on WebGPU.

Status: the engine core is in place; the model and training loop are not built yet.

options:
  -h, --help       show this help
  --check-gpu      create a WebGPU device, print the adapter and exit
`;

const { values } = parseArgs({ options: { help: { type: 'boolean', short: 'h' }, 'check-gpu': { type: 'boolean' } } });
if (values['check-gpu']) {
  const engine = await Engine.create();
  console.log(`WebGPU adapter: ${engine.description}; features: ${JSON.stringify(engine.features)}`);
  engine.dispose();
} else {
  console.log(HELP);
  if (!values.help) {
    console.error('train.js: training is not implemented yet (see the open model/training issue).');
    process.exitCode = 2;
  }
}
