/**
 * From a checkpoint directory to model inputs: the model, its text tokenizer, the processor and
 * the image path of its family (native: the checkpoint's image tokenizer turns pixels into codes;
 * adapter: pixels for its ViT, or frozen-backbone features). Used by `generate` and `extract`.
 */
import * as tf from '@tensorflow/tfjs';
import { resizeRaw } from '../data/images.js';
import { FrozenBackbone, BACKBONE_DIM } from '../model/backbone.js';
import { loadModel } from '../model/checkpoint.js';
import type { VLModel } from '../model/model.js';
import { loadImageTokenizer } from '../tokenizers/image-loader.js';
import type { ImageTokenizer } from '../tokenizers/image.js';
import { Processor } from '../tokenizers/processor.js';
import { VocabLayout } from '../tokenizers/vocab.js';
import type { WordTokenizer } from '../tokenizers/word.js';
import { UserError } from '../util/errors.js';
import type { ExtractExample } from './extract.js';
import { isHfModelDir } from '../hf/config.js';
import { loadHfPipeline } from '../hf/pipeline.js';

/** One image as raw interleaved pixels (0..255), any square size: it is resized to the model's. */
export interface RawPixels {
  width: number;
  height: number;
  channels: number;
  pixels: Uint8Array;
}

export interface PipelineItem {
  id: number;
  label?: number;
  image: RawPixels | null;
  prompt?: string;
  /** Text appended after the prompt (teacher-forced, e.g. a caption). */
  target?: string;
}

export interface Pipeline {
  model: VLModel;
  tokenizer: WordTokenizer;
  layout: VocabLayout;
  processor: Processor;
  /** sha256 of the checkpoint's weights. */
  sha256: string;
  recipe: string | null;
  imageSize: number;
  channels: number;
  /** Reads an image file at its own size when the model has its own preprocessing (Hugging Face folders); absent: resize to imageSize. */
  readImage?: (path: string) => Promise<RawPixels>;
  /** Prompts (no <eos>) with their image inputs, ready for extractActivations or generate. */
  prepare(items: readonly PipelineItem[]): Promise<ExtractExample[]>;
  dispose(): void;
}

export async function loadPipeline(dir: string): Promise<Pipeline> {
  if (isHfModelDir(dir)) return loadHfPipeline(dir); // a downloaded Hugging Face Chameleon / LLaVA-OneVision folder
  const loaded = await loadModel(dir);
  const { model, config } = loaded;
  let imageTokenizer: ImageTokenizer | null = null;
  let backbone: FrozenBackbone | null = null;
  try {
    if (!loaded.tokenizer) throw new UserError(`Checkpoint ${dir} has no tokenizer.json; expected the text tokenizer saved with the model.`);
    const tokenizer = loaded.tokenizer;
    let imageSize: number, channels: number, numImageTokens: number;
    if (config.family === 'native') {
      if (!loaded.imageTokenizerDir) throw new UserError(`Native checkpoint ${dir} has no image_tokenizer/; expected the image tokenizer saved with the model.`);
      imageTokenizer = await loadImageTokenizer(loaded.imageTokenizerDir);
      ({ imageSize, channels } = imageTokenizer);
      numImageTokens = imageTokenizer.gridSize ** 2;
    } else if (config.vision) {
      imageSize = config.vision.imageSize;
      channels = config.vision.channels;
      numImageTokens = (imageSize / config.vision.patchSize) ** 2;
    } else {
      if (config.projector.dIn !== BACKBONE_DIM) throw new UserError(`Checkpoint ${dir} takes ${config.projector.dIn}-d image features, but the frozen backbone gives ${BACKBONE_DIM}.`);
      backbone = await FrozenBackbone.load();
      imageSize = backbone.inputSize;
      channels = 3;
      numImageTokens = backbone.numTokens;
    }
    const layout = new VocabLayout(tokenizer.size, config.family === 'native' ? config.imageCodeCount : 0);
    if (layout.size !== config.decoder.vocabSize) {
      throw new UserError(`Checkpoint ${dir}: the tokenizer and image codes make ${layout.size} ids but the model has ${config.decoder.vocabSize}; the checkpoint is inconsistent.`);
    }
    const processor = new Processor({ family: config.family, tokenizer, layout, numImageTokens });
    const it = imageTokenizer;
    const bb = backbone;
    const toSize = async (img: RawPixels): Promise<Uint8Array> => {
      if (img.channels !== channels) throw new UserError(`An image has ${img.channels} channels but the model takes ${channels}; expected ${channels === 1 ? 'grey' : 'RGB'} images.`);
      return img.width === imageSize && img.height === imageSize ? img.pixels : resizeRaw(img, imageSize);
    };
    const prepare = async (items: readonly PipelineItem[]): Promise<ExtractExample[]> => {
      const withImage = items.filter((x) => x.image);
      const pix = await Promise.all(withImage.map((x) => toSize(x.image!)));
      const per = imageSize * imageSize * channels;
      const all = new Uint8Array(pix.length * per);
      pix.forEach((p, i) => all.set(p, i * per));
      const shape: [number, number, number, number] = [pix.length, imageSize, imageSize, channels];
      let codes: Int32Array | null = null;
      let features: Float32Array | null = null;
      if (it && pix.length) codes = await it.encode({ data: all, shape });
      if (bb && pix.length) {
        const f = bb.extractFeatures({ data: all, shape });
        features = (await f.data()) as Float32Array;
        f.dispose();
      }
      let k = 0;
      return items.map((x) => {
        const j = x.image ? k++ : -1;
        const ex = processor.understanding(
          config.family === 'native' ? { codes: j >= 0 ? codes!.subarray(j * numImageTokens, (j + 1) * numImageTokens) : null, prompt: x.prompt, target: x.target } : { image: j >= 0, prompt: x.prompt, target: x.target },
          { eos: false },
        );
        const out: ExtractExample = { id: x.id, label: x.label ?? -1, ids: ex.ids, spans: ex.spans };
        if (j >= 0 && config.family === 'adapter') {
          if (features) out.features = features.slice(j * numImageTokens * BACKBONE_DIM, (j + 1) * numImageTokens * BACKBONE_DIM);
          else out.pixels = Float32Array.from(all.subarray(j * per, (j + 1) * per), (v) => v / 255);
        }
        return out;
      });
    };
    return {
      model, tokenizer, layout, processor, sha256: loaded.sha256, recipe: loaded.recipe, imageSize, channels, prepare,
      dispose() {
        model.dispose();
        it?.dispose();
        bb?.dispose();
      },
    };
  } catch (e) {
    model.dispose();
    imageTokenizer?.dispose();
    backbone?.dispose();
    throw e;
  }
}

/** Stacks prepared examples' image inputs into the tensors generate() takes (caller disposes). */
export function imageTensors(p: Pipeline, examples: readonly ExtractExample[]): { pixels?: tf.Tensor; features?: tf.Tensor } {
  const cfg = p.model.config;
  if (cfg.family !== 'adapter' || examples.length === 0) return {};
  const stack = (arrs: Float32Array[], shape: number[]) => {
    const all = new Float32Array(arrs.reduce((s, a) => s + a.length, 0));
    let o = 0;
    for (const a of arrs) all.set(a, (o += a.length) - a.length);
    return tf.tensor(all, [arrs.length, ...shape]);
  };
  if (examples.every((e) => e.pixels)) return { pixels: stack(examples.map((e) => e.pixels!), [p.imageSize, p.imageSize, p.channels]) };
  if (examples.every((e) => e.features)) return { features: stack(examples.map((e) => e.features!), [examples[0]!.features!.length / cfg.projector.dIn, cfg.projector.dIn]) };
  return {};
}
