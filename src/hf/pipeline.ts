/**
 * A Hugging Face folder as the interventions Pipeline (what `extract` and `generate` load), so that
 * those commands take `--checkpoint DIR` of a downloaded Chameleon or LLaVA-OneVision model unchanged.
 *
 * Prompts: Chameleon gets `<image>` + prompt in chat mode (transformers 5's ChameleonProcessor: the
 * trailing <reserved08706>), LLaVA-OneVision a user turn [image, prompt] in its chat template with
 * the generation prompt. A target (caption) is appended as plain tokens after that.
 *
 * The Pipeline type was written for narrowgate's own checkpoints; its `tokenizer`, `layout` and
 * `processor` fields are given here as the small subsets the commands use (decode, textIds), cast to
 * the declared types. `processor` is not available for HF folders (prepare() does its work).
 */
import type { Pipeline, PipelineItem } from '../interventions/pipeline.js';
import type { ExtractExample } from '../interventions/extract.js';
import type { WordTokenizer } from '../tokenizers/word.js';
import type { VocabLayout } from '../tokenizers/vocab.js';
import type { Processor } from '../tokenizers/processor.js';
import { UserError } from '../util/errors.js';
import { decodeImage, type RawImage } from './image.js';
import { loadHfModel, type LoadHfOptions } from './load.js';
import type { HfModel } from './model.js';
import { sha256File } from '../model/checkpoint.js';

function toRawImage(img: { width: number; height: number; channels: number; pixels: Uint8Array }): RawImage {
  if (img.channels === 3 || img.channels === 4) return { width: img.width, height: img.height, channels: img.channels, data: img.pixels };
  if (img.channels !== 1) throw new UserError(`An image has ${img.channels} channels; expected 1 (grey), 3 (RGB) or 4 (RGBA).`);
  const data = new Uint8Array(img.width * img.height * 3);
  for (let i = 0; i < img.width * img.height; i++) data.fill(img.pixels[i] as number, i * 3, i * 3 + 3);
  return { width: img.width, height: img.height, channels: 3, data };
}

/** One pipeline item -> the encode request of the model's family. */
function request(model: HfModel, x: PipelineItem) {
  const rawImage = x.image ? toRawImage(x.image) : undefined;
  const text = x.prompt ?? '';
  if (model.kind === 'chameleon') return { prompt: (rawImage ? '<image>' : '') + text, rawImage, target: x.target, mode: 'chat' as const };
  const content = rawImage ? [{ type: 'image' as const }, { type: 'text' as const, text }] : [{ type: 'text' as const, text }];
  return { messages: [{ role: 'user', content }], rawImage, target: x.target };
}

export async function loadHfPipeline(dir: string, o: LoadHfOptions = {}): Promise<Pipeline> {
  const model = await loadHfModel(dir, o);
  try {
    let sha: string;
    try {
      sha = await sha256File(`${dir}/${o.weightsFile ?? 'model.safetensors'}`);
    } catch {
      sha = 'sharded'; // an index with shards: no single weights file to hash
    }
    const V = model.hf.decoder.vocabSize;
    const suppressed = new Set(model.suppressedIds);
    const textIds = Array.from({ length: V }, (_, i) => i).filter((i) => !suppressed.has(i));
    const eos = model.special.eos;
    const specials = new Set([model.special.bos, model.special.pad, model.special.eos, model.special.sep, model.special.boi, model.special.eoi].filter((x): x is number => x !== null));
    const tokenizer = {
      size: model.tokenizer.size,
      // a word as it follows a prompt (after a space), without special tokens: what class-token
      // lookups (next-token classification, patching readouts) ask for
      encode: (word: string) => model.tokenizer.encode(` ${word}`, false),
      decode: (ids: ArrayLike<number>, d: { skipSpecials?: boolean; stopAtEos?: boolean } = {}) => {
        let list = Array.from(ids);
        if (d.stopAtEos && eos !== null && list.includes(eos)) list = list.slice(0, list.indexOf(eos));
        if (d.skipSpecials) list = list.filter((i) => !specials.has(i));
        return model.tokenizer.decode(list);
      },
    } as unknown as WordTokenizer;
    const layout = { size: V, textSize: V, numImageCodes: suppressed.size, textIds: () => textIds } as unknown as VocabLayout;
    const size = model.hf.family === 'chameleon' ? model.hf.vq.resolution : model.hf.vision.imageSize;
    const prepare = async (items: readonly PipelineItem[]): Promise<ExtractExample[]> => {
      const out: ExtractExample[] = [];
      for (const x of items) {
        const ex = await model.encode(request(model, x));
        const e: ExtractExample = { id: x.id, label: x.label ?? -1, ids: ex.ids, spans: ex.spans };
        if (ex.features) e.features = ex.features;
        out.push(e);
      }
      return out;
    };
    return {
      model, tokenizer, layout, processor: null as unknown as Processor, sha256: sha, recipe: null,
      imageSize: size, channels: 3, prepare,
      readImage: async (path: string) => {
        const img = await decodeImage(path);
        return { width: img.width, height: img.height, channels: img.channels, pixels: img.data };
      },
      dispose: () => model.dispose(),
    };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
