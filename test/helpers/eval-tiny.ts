/**
 * Tiny randomly initialised checkpoints of both families (d_model 16) and a tiny shapes dataset
 * (16x16 scenes with 1-3 objects) for the evaluation-suite and knockout tests.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildShapesDataset } from '../../src/data/shapes.js';
import { openDataset, type Dataset } from '../../src/data/open.js';
import { AdapterModel } from '../../src/model/adapter.js';
import { saveModel } from '../../src/model/checkpoint.js';
import { decoderConfig } from '../../src/model/config.js';
import { NativeModel } from '../../src/model/native.js';
import { KMeansImageTokenizer } from '../../src/tokenizers/kmeans.js';
import { VocabLayout } from '../../src/tokenizers/vocab.js';
import { WordTokenizer } from '../../src/tokenizers/word.js';
import { SHAPES_VOCAB } from '../../src/data/shapes-text.js';
import { randomizeParams } from './tiny.js';

export interface EvalFixture {
  root: string;
  data: string;
  ds: Dataset;
  native: string;
  adapter: string;
}

/** Builds the dataset (n images) and both checkpoints under a fresh temporary directory. */
export async function evalFixture(n = 6): Promise<EvalFixture> {
  const root = mkdtempSync(join(tmpdir(), 'ng-eval-'));
  const data = join(root, 'data');
  await buildShapesDataset(data, { n, seed: 3, size: 16, supersample: 1, maxObjects: 3 });
  const ds = await openDataset(data);
  // every shapes word, so class names ("circle", "red") are single known tokens
  const tok = WordTokenizer.fromWords(SHAPES_VOCAB);
  const native = join(root, 'native');
  const imgs = { data: new Uint8Array(ds.pixels), shape: [ds.length, 16, 16, 3] as [number, number, number, number] };
  const { tokenizer: it } = await KMeansImageTokenizer.fit(imgs, 4, { numCodes: 8, iters: 3, seed: 1 });
  const fn = new VocabLayout(tok.size, 8).modelFields();
  const nm = new NativeModel(
    { family: 'native', decoder: decoderConfig({ vocabSize: fn.vocabSize, dModel: 16, nLayers: 2, nHeads: 2, dMlp: 24 }), special: fn.special, imageCodeStart: fn.imageCodeStart, imageCodeCount: fn.imageCodeCount },
    { seed: 1 },
  );
  randomizeParams(nm.namedParameters(), 7);
  await saveModel(native, nm, { tokenizer: tok, imageTokenizer: it, recipe: 'name: tiny-native\n' });
  nm.dispose();
  it.dispose();
  const adapter = join(root, 'adapter');
  const fa = new VocabLayout(tok.size, 0).modelFields();
  const am = new AdapterModel(
    {
      family: 'adapter',
      decoder: decoderConfig({ vocabSize: fa.vocabSize, dModel: 16, nLayers: 1, nHeads: 2, dMlp: 24 }),
      special: fa.special,
      vision: { imageSize: 16, patchSize: 4, channels: 3, dModel: 16, nLayers: 1, nHeads: 2, dMlp: 24, rmsNormEps: 1e-6 },
      projector: { dIn: 16, dHidden: 20, activation: 'gelu_tanh' },
    },
    { seed: 2 },
  );
  randomizeParams(am.namedParameters(), 8);
  await saveModel(adapter, am, { tokenizer: tok });
  am.dispose();
  return { root, data, ds, native, adapter };
}

/** A small suite over the fixture's dataset: every task type, short generations. */
export function tinySuiteYaml(data: string, extra = ''): string {
  return [
    'name: tiny',
    `dataset: ${JSON.stringify(data)}`,
    'seed: 5',
    'decoding: {max_new_tokens: 6, batch_size: 4}',
    'tasks:',
    '  - {type: captioning, prompt: "", max_new_tokens: 8, tokenize: whitespace}',
    '  - {type: vqa, prompt: "{question}", max_new_tokens: 3, attributes: [color, count, exists]}',
    '  - {type: classification, name: shape, field: shape, prompt: "a picture of a {color}"}',
    '  - {type: classification, name: colour-gen, field: color, prompt: "what color is the {shape}?", method: generate, max_new_tokens: 2}',
    extra,
  ].join('\n');
}

export function writeText(path: string, text: string): string {
  writeFileSync(path, text);
  return path;
}
