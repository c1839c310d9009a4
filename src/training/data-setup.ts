/**
 * Everything a vlm recipe needs from the data side: the dataset (generated when a shapes or
 * Fashion-MNIST directory is missing), the word tokenizer (built from the dataset's texts, or the
 * init checkpoint's), the vocabulary layout, the processor, per-image codes (native) or pixels
 * (adapter), and the train / val item pools.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import type { ProgressFactory } from '../util/progress.js';
import { openDataset, type Dataset } from '../data/open.js';
import { buildShapesDataset } from '../data/shapes.js';
import { buildFashionMnistDataset } from '../data/fashion-mnist.js';
import { WordTokenizer } from '../tokenizers/word.js';
import { VocabLayout } from '../tokenizers/vocab.js';
import { Processor } from '../tokenizers/processor.js';
import { IMAGE_TOKENIZER_CONFIG, type ImageTokenizer } from '../tokenizers/image.js';
import { loadImageTokenizer } from '../tokenizers/image-loader.js';
import { CHECKPOINT_FILES } from '../model/checkpoint.js';
import { BACKBONE_DIM, BACKBONE_STRIDE, FrozenBackbone } from '../model/backbone.js';
import { buildPools, corpusOf, type Pools } from './batches.js';
import type { ImageInputs } from './step.js';
import type { Recipe } from './recipe.js';
import { imageTokens } from './recipe.js';

export interface TrainData {
  dataset: Dataset;
  tokenizer: WordTokenizer;
  layout: VocabLayout;
  processor: Processor;
  /** Native: the image tokenizer and the directory it came from. */
  imageTokenizer: ImageTokenizer | null;
  imageTokenizerDir: string | null;
  /** Native: codes of every dataset row, [rows * N]. */
  codes: Int32Array | null;
  /** Adapter: pixels (or backbone features) per dataset row. */
  images: ImageInputs | null;
  train: Pools;
  val: Pools;
  channels: number;
  /** Width of the frozen backbone's features (adapter with vision.encoder mobilenetv3), else null. */
  featureDim: number | null;
}

/**
 * Frozen MobileNetV3 features ([grid^2, 480] per image, grid = image.size / image.patch, the backbone
 * run at grid * 32 px), computed the first time an image is batched and kept in memory (about 120 KB
 * per image at grid 8: 2.4 GB for 20,000 images).
 */
async function backboneFeatures(r: Recipe, dataset: Dataset): Promise<ImageInputs> {
  const grid = r.image.size / r.image.patch;
  const backbone = await FrozenBackbone.load({ inputSize: grid * BACKBONE_STRIDE });
  const per = backbone.numTokens * BACKBONE_DIM;
  const cache = new Map<number, Float32Array>();
  return {
    kind: 'features',
    shape: [backbone.numTokens, BACKBONE_DIM],
    async prepare(rows) {
      const need = [...new Set(rows)].filter((i) => i >= 0 && !cache.has(i));
      if (need.length === 0) return;
      const f = backbone.extractFeatures(pixelBatch(dataset, need));
      const data = (await f.data()) as Float32Array;
      f.dispose();
      need.forEach((row, j) => cache.set(row, data.slice(j * per, (j + 1) * per)));
    },
    get(i) {
      const v = cache.get(i);
      if (!v) throw new Error(`backbone features of image ${i} were not prepared`);
      return v;
    },
    dispose: () => backbone.dispose(),
  };
}

/** Opens the recipe's dataset directory, generating it first when it is missing. */
export async function ensureDataset(r: Recipe, progress: ProgressFactory): Promise<Dataset> {
  const dir = r.data.dir;
  if (!existsSync(join(dir, 'dataset.json'))) {
    // generating replaces the directory: never do that to something the user already has there
    if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0)) {
      throw new UserError(`data.dir ${dir} exists but holds no dataset (no dataset.json); expected a dataset directory, or a path that does not exist yet for the ${r.data.source} data to be generated there.`);
    }
    if (r.data.source === 'shapes') await buildShapesDataset(dir, { n: r.data.n, seed: r.data.seed, size: r.image.size }, progress);
    else await buildFashionMnistDataset(dir, { split: 'train', n: r.data.n, seed: r.data.seed, size: r.image.size, valFraction: 0.1 }, progress);
  }
  const ds = await openDataset(dir);
  if (ds.meta.size.width !== r.image.size || ds.meta.size.height !== r.image.size) {
    throw new UserError(`Dataset ${dir} has ${ds.meta.size.width}x${ds.meta.size.height} images but image.size is ${r.image.size}; regenerate the dataset or change image.size.`);
  }
  return ds;
}

/** Pixels of dataset rows as a [B, H, W, C] uint8 batch. */
export function pixelBatch(ds: Dataset, rows: readonly number[]): { data: Uint8Array; shape: [number, number, number, number] } {
  const { width: W, height: H, channels: C } = ds.meta.size;
  const per = W * H * C;
  const data = new Uint8Array(rows.length * per);
  rows.forEach((r, i) => data.set(ds.get(r).pixels, i * per));
  return { data, shape: [rows.length, H, W, C] };
}

async function encodeAll(tok: ImageTokenizer, ds: Dataset, progress: ProgressFactory): Promise<Int32Array> {
  const N = tok.gridSize * tok.gridSize;
  const out = new Int32Array(ds.length * N);
  const chunk = 512;
  const bar = progress('encoding images', ds.length, 'img');
  for (let s = 0; s < ds.length; s += chunk) {
    const rows = Array.from({ length: Math.min(chunk, ds.length - s) }, (_, i) => s + i);
    out.set(await tok.encode(pixelBatch(ds, rows)), s * N);
    bar.tick(rows.length);
  }
  bar.done();
  return out;
}

/** The image tokenizer of a native recipe: the init checkpoint's copy (image_tokenizer/) when it has one, else image.tokenizer. */
export function imageTokenizerDir(r: Recipe): string {
  const inInit = r.init.from ? join(r.init.from, CHECKPOINT_FILES.imageTokenizer) : null;
  if (inInit && existsSync(join(inInit, IMAGE_TOKENIZER_CONFIG))) return inInit;
  const dir = r.image.tokenizer;
  if (!dir || !existsSync(join(dir, IMAGE_TOKENIZER_CONFIG))) {
    throw new UserError(
      `image.tokenizer ${dir ?? '(null)'} holds no trained image tokenizer; train one with "narrowgate train recipes/vq-shapes.yaml" and point image.tokenizer at its final/ directory.`,
    );
  }
  return dir;
}

export async function prepareData(r: Recipe, progress: ProgressFactory): Promise<TrainData> {
  const dataset = await ensureDataset(r, progress);
  const channels = dataset.meta.size.channels;
  const tokenizer = r.init.from && existsSync(join(r.init.from, 'tokenizer.json'))
    ? await WordTokenizer.load(join(r.init.from, 'tokenizer.json'))
    : WordTokenizer.build(corpusOf(dataset));
  const N = imageTokens(r);
  let imageTokenizer: ImageTokenizer | null = null;
  let itDir: string | null = null;
  let codes: Int32Array | null = null;
  let images: ImageInputs | null = null;
  let featureDim: number | null = null;
  if (r.model.family === 'native') {
    itDir = imageTokenizerDir(r);
    imageTokenizer = await loadImageTokenizer(itDir);
    const t = imageTokenizer;
    if (t.imageSize !== r.image.size || t.patchSize !== r.image.patch || t.channels !== channels) {
      throw new UserError(
        `The image tokenizer in ${itDir} takes ${t.imageSize}px images with ${t.channels} channels in ${t.patchSize}px patches, but the recipe has image.size ${r.image.size}, image.patch ${r.image.patch} and ${channels}-channel data.`,
      );
    }
    codes = await encodeAll(t, dataset, progress);
  } else if (r.vision.encoder === 'vit') {
    const per = r.image.size * r.image.size * channels;
    images = {
      kind: 'pixels',
      shape: [r.image.size, r.image.size, channels],
      get(i) {
        const px = dataset.get(i).pixels;
        const out = new Float32Array(per);
        for (let j = 0; j < per; j++) out[j] = (px[j] as number) / 255;
        return out;
      },
    };
  } else {
    images = await backboneFeatures(r, dataset);
    featureDim = BACKBONE_DIM;
  }
  const layout = new VocabLayout(tokenizer.size, imageTokenizer?.numCodes ?? 0);
  const processor = new Processor({ family: r.model.family, tokenizer, layout, numImageTokens: N });
  return {
    dataset, tokenizer, layout, processor, imageTokenizer, imageTokenizerDir: itDir, codes, images,
    train: buildPools(dataset, 'train'), val: buildPools(dataset, 'val'), channels, featureDim,
  };
}
