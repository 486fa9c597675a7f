// Where the Node examples find Fashion-MNIST: the folder given as the first argument, else
// $AGAVE_DATA_DIR/fashion-mnist. Returns null (and says why) when the files are not there, so an example can
// say so and exit 0 instead of failing on a machine without the data.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FILES, loadFashionMnist, type FashionMnist } from './fashion-mnist.js';

export function fashionMnistFolder(arg: string | undefined): { folder: string | null; why: string } {
  if (arg) return existsSync(join(arg, FILES.trainImages)) ? { folder: arg, why: '' } : { folder: null, why: `${join(arg, FILES.trainImages)} does not exist` };
  const env = process.env.AGAVE_DATA_DIR;
  if (!env) return { folder: null, why: 'no folder given and AGAVE_DATA_DIR is not set' };
  const folder = join(env, 'fashion-mnist');
  return existsSync(join(folder, FILES.trainImages)) ? { folder, why: '' } : { folder: null, why: `${join(folder, FILES.trainImages)} does not exist` };
}

export async function loadFromFolder(folder: string): Promise<FashionMnist> {
  return loadFashionMnist(async (file) => {
    const bytes = readFileSync(join(folder, file));
    return new Uint8Array(gunzipSync(bytes));
  });
}

/** The value of `--name value` in argv, or undefined. */
export function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** The first argument that is not a flag or a flag's value. */
export function positional(): string | undefined {
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    if (args[i]!.startsWith('--')) i++;
    else return args[i];
  }
  return undefined;
}
