/**
 * Turns (image, text) into model input: token ids, Spans (src/model/spans.ts) and a loss mask.
 *
 * Image understanding (both families):   <bos> <boi> img_1 .. img_N <eoi> prompt.. target.. [<eos>]
 *   native:  img_i = ids of the image codes (VocabLayout.codeToId)
 *   adapter: img_i = <img> placeholders; the model splices the projected vision embeddings at
 *            spans.image (the pixels travel beside the ids, in the same batch order).
 * Text -> image (native only):            <bos> text.. <boi> code_1 .. code_N <eoi> <eos>
 *   with no codes given (an inference prompt) it ends at <boi> and the image is generated.
 * Text only:                              <bos> text.. [<eos>]
 *
 * lossMask[t] = 1 when token t is a prediction target: the loss compares the logits at t-1 with
 * ids[t]. Position 0 (<bos>) never carries loss. Which tokens carry it is set by a LossPolicy.
 */
import type { Spans } from '../model/spans.js';
import { UserError } from '../util/errors.js';
import { SPECIAL_IDS, type WordTokenizer } from './word.js';
import type { VocabLayout } from './vocab.js';
import type { ImageBatch, ImageTokenizer } from './image.js';

export type Family = 'native' | 'adapter';

export interface LossPolicy {
  /** Target text (caption/answer) and its <eos>. */
  text?: boolean;
  /** Prompt text (e.g. a question) and, in the text->image direction, the conditioning text. */
  prompt?: boolean;
  /** <boi>, the image codes and <eoi> (native only; adapter placeholders never carry loss). */
  image?: boolean;
}

export interface ProcessedExample {
  ids: Int32Array;
  spans: Spans;
  lossMask: Uint8Array;
}

export interface ProcessorOptions {
  family: Family;
  tokenizer: WordTokenizer;
  layout: VocabLayout;
  /** N, the number of image positions: the image tokenizer's grid (native) or the vision encoder's patches (adapter). */
  numImageTokens: number;
}

export interface UnderstandingInput {
  /** Native: the N image codes. Adapter: ignored (pass `image: true`). */
  codes?: ArrayLike<number> | null;
  /** Adapter: whether the example has an image (native: implied by codes). */
  image?: boolean;
  prompt?: string;
  target?: string;
}

export class Processor {
  readonly family: Family;
  readonly tokenizer: WordTokenizer;
  readonly layout: VocabLayout;
  readonly numImageTokens: number;

  constructor(opts: ProcessorOptions) {
    if (opts.layout.textSize !== opts.tokenizer.size) {
      throw new UserError(`The vocabulary layout has ${opts.layout.textSize} text ids but the tokenizer has ${opts.tokenizer.size}; they must match.`);
    }
    if (opts.family === 'adapter' && opts.layout.numImageCodes !== 0) {
      throw new UserError(`An adapter model has no image codes in its vocabulary, but the layout has ${opts.layout.numImageCodes}; expected 0.`);
    }
    if (!Number.isInteger(opts.numImageTokens) || opts.numImageTokens < 1) {
      throw new UserError(`numImageTokens ${opts.numImageTokens} is invalid; expected a positive integer.`);
    }
    this.family = opts.family;
    this.tokenizer = opts.tokenizer;
    this.layout = opts.layout;
    this.numImageTokens = opts.numImageTokens;
  }

  private imageIds(codes: ArrayLike<number> | null | undefined, image: boolean | undefined): Int32Array | null {
    if (this.family === 'adapter') {
      return image || codes ? new Int32Array(this.numImageTokens).fill(SPECIAL_IDS.img) : null;
    }
    if (!codes) {
      if (image) throw new UserError('A native-model example with an image needs its image codes; pass codes from the image tokenizer.');
      return null;
    }
    if (codes.length !== this.numImageTokens) {
      throw new UserError(`The image has ${codes.length} codes but this processor expects ${this.numImageTokens} (the image tokenizer's grid).`);
    }
    return this.layout.codesToIds(codes);
  }

  /**
   * <bos> [<boi> img.. <eoi>] prompt.. target.. [<eos>]. `eos` defaults to true when a target is
   * given (training) and false otherwise (an inference prompt). Default loss: target text only,
   * plus <boi>/codes/<eoi> when loss.image is set (native).
   */
  understanding(input: UnderstandingInput, opts: { eos?: boolean; loss?: LossPolicy } = {}): ProcessedExample {
    const loss = { text: true, prompt: false, image: false, ...opts.loss };
    const img = this.imageIds(input.codes, input.image);
    const prompt = input.prompt ? this.tokenizer.encode(input.prompt) : [];
    const target = input.target ? this.tokenizer.encode(input.target) : [];
    const eos = opts.eos ?? input.target !== undefined;
    const b = new Builder();
    b.push([SPECIAL_IDS.bos], false);
    let spans: Omit<Spans, 'length'> = { bos: 0, boi: null, image: null, eoi: null };
    if (img) {
      const imageLoss = loss.image && this.family === 'native';
      const boi = b.push([SPECIAL_IDS.boi], imageLoss);
      const start = b.push(img, imageLoss);
      const eoi = b.push([SPECIAL_IDS.eoi], imageLoss);
      spans = { bos: 0, boi, image: [start, eoi], eoi };
    }
    b.push(prompt, loss.prompt);
    b.push(target, loss.text);
    if (eos) b.push([SPECIAL_IDS.eos], loss.text);
    return b.done(spans);
  }

  /**
   * Native text -> image: <bos> text.. <boi> codes.. <eoi> <eos>; with no codes, the prompt
   * <bos> text.. <boi> for generating an image. Default loss: everything after <bos>.
   */
  generation(input: { text: string; codes?: ArrayLike<number> | null }, opts: { loss?: LossPolicy } = {}): ProcessedExample {
    if (this.family !== 'native') throw new UserError('Text-to-image sequences need a native model; this processor is for the adapter family.');
    const loss = { prompt: true, image: true, ...opts.loss };
    const text = this.tokenizer.encode(input.text);
    const b = new Builder();
    b.push([SPECIAL_IDS.bos], false);
    b.push(text, loss.prompt);
    const boi = b.push([SPECIAL_IDS.boi], loss.image);
    if (!input.codes) return b.done({ bos: 0, boi, image: null, eoi: null });
    const img = this.imageIds(input.codes, true) as Int32Array;
    const start = b.push(img, loss.image);
    const eoi = b.push([SPECIAL_IDS.eoi], loss.image);
    b.push([SPECIAL_IDS.eos], loss.image);
    return b.done({ bos: 0, boi, image: [start, eoi], eoi });
  }

  /** <bos> text.. [<eos>] (decoder pretraining on text alone); loss on every token after <bos>. */
  textOnly(text: string, opts: { eos?: boolean } = {}): ProcessedExample {
    const b = new Builder();
    b.push([SPECIAL_IDS.bos], false);
    b.push(this.tokenizer.encode(text), true);
    if (opts.eos ?? true) b.push([SPECIAL_IDS.eos], true);
    return b.done({ bos: 0, boi: null, image: null, eoi: null });
  }

  /** Native: runs the image tokenizer on a batch and returns each image's N codes. */
  async imageCodes(imageTokenizer: ImageTokenizer, images: ImageBatch): Promise<Int32Array[]> {
    const n = imageTokenizer.gridSize * imageTokenizer.gridSize;
    if (n !== this.numImageTokens) {
      throw new UserError(`The image tokenizer gives ${n} codes per image but this processor expects ${this.numImageTokens}.`);
    }
    return this.splitCodes(await imageTokenizer.encode(images), images.shape[0]);
  }

  /** Splits a [B*N] code array (ImageTokenizer.encode) into B per-image views. */
  splitCodes(codes: Int32Array, batch: number): Int32Array[] {
    const n = this.numImageTokens;
    if (codes.length !== batch * n) throw new UserError(`Expected ${batch} x ${n} image codes, got ${codes.length}.`);
    return Array.from({ length: batch }, (_, i) => codes.subarray(i * n, (i + 1) * n));
  }
}

/** Appends segments, remembering where each one starts. */
class Builder {
  private ids: number[] = [];
  private loss: number[] = [];

  /** Appends `ids`; returns the position of the first one. */
  push(ids: ArrayLike<number>, loss: boolean | undefined): number {
    const at = this.ids.length;
    for (let i = 0; i < ids.length; i++) {
      this.ids.push(ids[i] as number);
      this.loss.push(loss ? 1 : 0);
    }
    return at;
  }

  done(spans: Omit<Spans, 'length'>): ProcessedExample {
    this.loss[0] = 0;
    return { ids: Int32Array.from(this.ids), lossMask: Uint8Array.from(this.loss), spans: { length: this.ids.length, ...spans } };
  }
}
