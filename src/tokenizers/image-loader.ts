/**
 * Loads a saved image tokenizer from a directory, dispatching on the "type" field of its
 * image_tokenizer.json: "narrowgate-kmeans" (KMeansImageTokenizer) or "narrowgate-vqvae" (VqVae).
 */
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { readJson } from '../util/fs.js';
import { readSafetensors } from '../model/safetensors.js';
import { IMAGE_TOKENIZER_CONFIG, IMAGE_TOKENIZER_WEIGHTS, type ImageTokenizer } from './image.js';
import { KMeansImageTokenizer } from './kmeans.js';
import { VqVae, type VqVaeConfig } from './vqvae.js';

function positiveInt(cfg: Record<string, unknown>, key: string, path: string): number {
  const v = cfg[key];
  if (!Number.isInteger(v) || (v as number) <= 0) throw new UserError(`${path}: "${key}" is ${JSON.stringify(v)}; expected a positive integer.`);
  return v as number;
}

export async function loadImageTokenizer(dir: string): Promise<ImageTokenizer> {
  const cfgPath = join(dir, IMAGE_TOKENIZER_CONFIG);
  const cfg = await readJson<Record<string, unknown>>(cfgPath, 'image tokenizer config');
  if (typeof cfg !== 'object' || cfg === null) throw new UserError(`${cfgPath} is not a JSON object; expected an image tokenizer config.`);
  if (cfg.version !== 1) throw new UserError(`${cfgPath}: "version" is ${JSON.stringify(cfg.version)}; expected 1.`);
  const base = {
    imageSize: positiveInt(cfg, 'imageSize', cfgPath),
    channels: positiveInt(cfg, 'channels', cfgPath),
    patchSize: positiveInt(cfg, 'patchSize', cfgPath),
    numCodes: positiveInt(cfg, 'numCodes', cfgPath),
  };
  const { tensors } = await readSafetensors(join(dir, IMAGE_TOKENIZER_WEIGHTS));
  switch (cfg.type) {
    case 'narrowgate-kmeans': {
      const cb = tensors.get('codebook');
      const D = base.patchSize * base.patchSize * base.channels;
      if (!cb || !(cb.data instanceof Float32Array) || cb.shape.join() !== `${base.numCodes},${D}`) {
        throw new UserError(`${join(dir, IMAGE_TOKENIZER_WEIGHTS)} needs a float tensor "codebook" of shape [${base.numCodes}, ${D}].`);
      }
      return new KMeansImageTokenizer(base, cb.data);
    }
    case 'narrowgate-vqvae':
    {
      const num = (k: string): number | undefined => (typeof cfg[k] === 'number' ? (cfg[k] as number) : undefined);
      const config: VqVaeConfig = {
        ...base, hidden: positiveInt(cfg, 'hidden', cfgPath), latentDim: positiveInt(cfg, 'latentDim', cfgPath),
        ema: cfg.ema !== false, beta: num('beta'), emaDecay: num('emaDecay'), deadCodeThreshold: num('deadCodeThreshold'), lr: num('lr'), seed: num('seed'),
      };
      return VqVae.fromWeights(config, tensors, join(dir, IMAGE_TOKENIZER_WEIGHTS));
    }
    default:
      throw new UserError(`${cfgPath}: "type" is ${JSON.stringify(cfg.type)}; expected "narrowgate-kmeans" or "narrowgate-vqvae".`);
  }
}
