/**
 * The id space of a model. Native family (one vocabulary for text and images):
 *
 *   [0, NUM_SPECIALS)                       specials (<pad> <bos> <eos> <boi> <eoi> <unk> <sep> <img>)
 *   [NUM_SPECIALS, textSize)                word tokens of the text tokenizer
 *   [textSize, textSize + numImageCodes)    image codes 0..K-1 of the image tokenizer
 *
 * textSize is the text tokenizer's size (specials + words). The adapter family uses the same text
 * vocabulary with numImageCodes = 0 (its image positions hold the <img> placeholder id).
 *
 * Generation restricts the next token with `allowedIds` / `logitBias`: 'text' allows the word tokens,
 * <unk> and <eos>; 'image' allows the image codes only (the caller appends <eoi> after N codes).
 */
import { UserError } from '../util/errors.js';
import { NUM_SPECIALS, SPECIAL_IDS } from './word.js';

export interface VocabLayoutJSON {
  textSize: number;
  numImageCodes: number;
}

export type TokenClass = 'text' | 'image';

export class VocabLayout {
  /** Total number of ids (the model's vocab size). */
  readonly size: number;
  /** Word-token ids [start, end). */
  readonly textRange: readonly [number, number];
  /** Image-code ids [start, end); empty (start == end) for the adapter family. */
  readonly imageRange: readonly [number, number];
  readonly specialsRange: readonly [number, number] = [0, NUM_SPECIALS];

  constructor(
    /** Specials + words: the text tokenizer's size. */
    readonly textSize: number,
    /** K, the image tokenizer's number of codes (0 for the adapter family). */
    readonly numImageCodes: number,
  ) {
    if (!Number.isInteger(textSize) || textSize < NUM_SPECIALS) {
      throw new UserError(`Text vocabulary size ${textSize} is invalid; expected an integer >= ${NUM_SPECIALS} (the specials).`);
    }
    if (!Number.isInteger(numImageCodes) || numImageCodes < 0) {
      throw new UserError(`Number of image codes ${numImageCodes} is invalid; expected an integer >= 0.`);
    }
    this.size = textSize + numImageCodes;
    this.textRange = [NUM_SPECIALS, textSize];
    this.imageRange = [textSize, textSize + numImageCodes];
  }

  static fromJSON(o: VocabLayoutJSON): VocabLayout {
    return new VocabLayout(o.textSize, o.numImageCodes);
  }

  toJSON(): VocabLayoutJSON {
    return { textSize: this.textSize, numImageCodes: this.numImageCodes };
  }

  /** Id of image code `code` in [0, K). */
  codeToId(code: number): number {
    if (!Number.isInteger(code) || code < 0 || code >= this.numImageCodes) {
      throw new UserError(`Image code ${code} is outside [0, ${this.numImageCodes}).`);
    }
    return this.textSize + code;
  }

  /** Image code of an id in the image range. */
  idToCode(id: number): number {
    if (!this.isImageId(id)) throw new UserError(`Token id ${id} is not an image code id (expected [${this.imageRange[0]}, ${this.imageRange[1]})).`);
    return id - this.textSize;
  }

  /** Maps a whole array of codes to ids (fresh Int32Array). */
  codesToIds(codes: ArrayLike<number>): Int32Array {
    const out = new Int32Array(codes.length);
    for (let i = 0; i < codes.length; i++) out[i] = this.codeToId(codes[i] as number);
    return out;
  }

  /** Maps image-code ids back to codes (fresh Int32Array); throws on any non-image id. */
  idsToCodes(ids: ArrayLike<number>): Int32Array {
    const out = new Int32Array(ids.length);
    for (let i = 0; i < ids.length; i++) out[i] = this.idToCode(ids[i] as number);
    return out;
  }

  isImageId(id: number): boolean {
    return id >= this.imageRange[0] && id < this.imageRange[1];
  }

  /** A word token (not a special, not an image code). */
  isTextId(id: number): boolean {
    return id >= this.textRange[0] && id < this.textRange[1];
  }

  isSpecialId(id: number): boolean {
    return id >= 0 && id < NUM_SPECIALS;
  }

  /** Ids that may be generated as text: word tokens, <unk> and <eos>, ascending (GenerateOptions.allowedIds). */
  textIds(): number[] {
    const n = this.textRange[1] - this.textRange[0];
    return [SPECIAL_IDS.eos, SPECIAL_IDS.unk, ...Array.from({ length: n }, (_, i) => this.textRange[0] + i)];
  }

  /** Ids of all image codes, ascending. */
  imageIds(): number[] {
    return Array.from({ length: this.numImageCodes }, (_, i) => this.imageRange[0] + i);
  }

  allowedIds(kind: TokenClass): number[] {
    return kind === 'text' ? this.textIds() : this.imageIds();
  }

  /**
   * The vocabulary fields of a model config: vocabSize for its decoder, the special ids
   * (NativeConfig/AdapterConfig.special) and, for the native family, the image-code range.
   */
  modelFields(): { vocabSize: number; special: { bos: number; eos: number; pad: number; boi: number; eoi: number }; imageCodeStart: number; imageCodeCount: number } {
    return {
      vocabSize: this.size,
      special: { bos: SPECIAL_IDS.bos, eos: SPECIAL_IDS.eos, pad: SPECIAL_IDS.pad, boi: SPECIAL_IDS.boi, eoi: SPECIAL_IDS.eoi },
      imageCodeStart: this.imageRange[0],
      imageCodeCount: this.numImageCodes,
    };
  }

  /**
   * Checks that a model config (NativeConfig / AdapterConfig shape) uses this vocabulary: decoder
   * vocabSize, special ids and the image-code range. Throws one UserError naming every mismatch.
   */
  checkModelConfig(cfg: { decoder: { vocabSize: number }; special: Record<string, number>; imageCodeStart?: number; imageCodeCount?: number }, what = 'the model config'): void {
    const want = this.modelFields();
    const bad: string[] = [];
    if (cfg.decoder.vocabSize !== want.vocabSize) bad.push(`decoder.vocabSize is ${cfg.decoder.vocabSize}, expected ${want.vocabSize}`);
    for (const [k, v] of Object.entries(want.special)) {
      if (cfg.special[k] !== v) bad.push(`special.${k} is ${cfg.special[k]}, expected ${v}`);
    }
    if (cfg.imageCodeStart !== undefined && cfg.imageCodeStart !== want.imageCodeStart) bad.push(`imageCodeStart is ${cfg.imageCodeStart}, expected ${want.imageCodeStart}`);
    if ((cfg.imageCodeCount ?? 0) !== want.imageCodeCount) bad.push(`imageCodeCount is ${cfg.imageCodeCount ?? 0}, expected ${want.imageCodeCount}`);
    if (bad.length) throw new UserError(`${what} does not fit the tokenizers' vocabulary: ${bad.join('; ')}.`);
  }

  /** A [size] additive bias: 0 for allowed ids, -1e9 elsewhere (add it to the logits before sampling). */
  logitBias(kind: TokenClass): Float32Array {
    const bias = new Float32Array(this.size).fill(-1e9);
    for (const id of this.allowedIds(kind)) bias[id] = 0;
    return bias;
  }
}
