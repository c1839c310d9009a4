/**
 * Word-level text tokenizer: lower-cases, splits on white space, and gives every punctuation
 * character its own token. The vocabulary is built from a corpus (min count, max size); words
 * outside it become <unk>.
 *
 * Special tokens sit at fixed ids, the same in every tokenizer (SPECIAL_IDS):
 *   0 <pad>  1 <bos>  2 <eos>  3 <boi>  4 <eoi>  5 <unk>  6 <sep>  7 <img>
 * <img> is the placeholder id at image positions of adapter sequences (the model splices continuous
 * embeddings there). Word tokens follow from id 8 on, most frequent first (ties alphabetical).
 *
 * File format (tokenizer.json):
 *   { "type": "narrowgate-word", "version": 1, "lowercase": true,
 *     "specials": ["<pad>", "<bos>", ...],      // exactly SPECIAL_TOKENS, in id order
 *     "words": ["the", "a", ...] }              // word i has id specials.length + i
 */
import { promises as fsp } from 'node:fs';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';

export const SPECIAL_TOKENS = ['<pad>', '<bos>', '<eos>', '<boi>', '<eoi>', '<unk>', '<sep>', '<img>'] as const;
export type SpecialToken = (typeof SPECIAL_TOKENS)[number];

export const SPECIAL_IDS = {
  pad: 0, bos: 1, eos: 2, boi: 3, eoi: 4, unk: 5, sep: 6, img: 7,
} as const;

export const NUM_SPECIALS = SPECIAL_TOKENS.length;
export const WORD_TOKENIZER_TYPE = 'narrowgate-word';
export const WORD_TOKENIZER_VERSION = 1;

/** Splits text into word tokens: lower-case runs of letters/digits, and single punctuation characters. */
export function splitWords(text: string, lowercase = true): string[] {
  const t = lowercase ? text.toLowerCase() : text;
  return t.match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? [];
}

/** Punctuation that attaches to the word before it when decoding (no space in front). */
const NO_SPACE_BEFORE = new Set(['.', ',', '!', '?', ';', ':', ')', ']', '}', '%', "'"]);
/** Punctuation that attaches to the word after it when decoding (no space behind). */
const NO_SPACE_AFTER = new Set(['(', '[', '{', "'"]);

export interface BuildOptions {
  /** Words seen fewer times than this are left out (become <unk>). Default 1. */
  minCount?: number;
  /** At most this many word types (specials not counted); the most frequent are kept. Default unlimited. */
  maxSize?: number;
  lowercase?: boolean;
}

export interface WordTokenizerJSON {
  type: typeof WORD_TOKENIZER_TYPE;
  version: number;
  lowercase: boolean;
  specials: string[];
  words: string[];
}

export class WordTokenizer {
  private readonly index: Map<string, number>;

  private constructor(
    /** Word types in id order (id = NUM_SPECIALS + position). */
    readonly words: readonly string[],
    readonly lowercase: boolean,
  ) {
    this.index = new Map();
    SPECIAL_TOKENS.forEach((s, i) => this.index.set(s, i));
    words.forEach((w, i) => this.index.set(w, NUM_SPECIALS + i));
  }

  /** Builds the vocabulary from a corpus of texts. Deterministic: count descending, then alphabetical. */
  static build(corpus: Iterable<string>, opts: BuildOptions = {}): WordTokenizer {
    const minCount = opts.minCount ?? 1;
    const maxSize = opts.maxSize ?? Infinity;
    const lowercase = opts.lowercase ?? true;
    if (!(minCount >= 1)) throw new UserError(`minCount ${minCount} is invalid; expected an integer >= 1.`);
    if (!(maxSize >= 0)) throw new UserError(`maxSize ${maxSize} is invalid; expected an integer >= 0.`);
    const counts = new Map<string, number>();
    const specials = new Set<string>(SPECIAL_TOKENS);
    for (const text of corpus) {
      for (const w of splitWords(text, lowercase)) {
        if (!specials.has(w)) counts.set(w, (counts.get(w) ?? 0) + 1);
      }
    }
    const kept = [...counts.entries()]
      .filter(([, c]) => c >= minCount)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, Number.isFinite(maxSize) ? maxSize : undefined)
      .map(([w]) => w);
    return new WordTokenizer(kept, lowercase);
  }

  /** A tokenizer with exactly these word types (in this order), e.g. for tests or fixed vocabularies. */
  static fromWords(words: readonly string[], lowercase = true): WordTokenizer {
    return WordTokenizer.fromJSON({
      type: WORD_TOKENIZER_TYPE, version: WORD_TOKENIZER_VERSION, lowercase, specials: [...SPECIAL_TOKENS], words: [...words],
    });
  }

  /** Validates a parsed tokenizer.json; `source` names the file in error messages. */
  static fromJSON(obj: unknown, source = 'tokenizer.json'): WordTokenizer {
    const bad = (what: string): UserError => new UserError(`${source} is not a narrowgate word tokenizer: ${what}.`);
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw bad('expected a JSON object');
    const o = obj as Record<string, unknown>;
    if (o.type !== WORD_TOKENIZER_TYPE) throw bad(`"type" is ${JSON.stringify(o.type)}, expected "${WORD_TOKENIZER_TYPE}"`);
    if (o.version !== WORD_TOKENIZER_VERSION) throw bad(`"version" is ${JSON.stringify(o.version)}, expected ${WORD_TOKENIZER_VERSION}`);
    if (typeof o.lowercase !== 'boolean') throw bad('"lowercase" must be true or false');
    const specials = o.specials;
    if (!Array.isArray(specials) || specials.length !== NUM_SPECIALS || specials.some((s, i) => s !== SPECIAL_TOKENS[i])) {
      throw bad(`"specials" must be exactly ${JSON.stringify(SPECIAL_TOKENS)}`);
    }
    const words = o.words;
    if (!Array.isArray(words) || !words.every((w) => typeof w === 'string' && w.length > 0)) {
      throw bad('"words" must be an array of non-empty strings');
    }
    const seen = new Set<string>(SPECIAL_TOKENS);
    for (const w of words as string[]) {
      if (seen.has(w)) throw bad(`the word ${JSON.stringify(w)} appears twice (or clashes with a special token)`);
      seen.add(w);
    }
    return new WordTokenizer(words as string[], o.lowercase);
  }

  static async load(path: string): Promise<WordTokenizer> {
    let text: string;
    try {
      text = await fsp.readFile(path, 'utf8');
    } catch {
      throw new UserError(`Cannot read tokenizer ${path}: the file does not exist or is not readable.`);
    }
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch {
      throw new UserError(`${path} is not valid JSON; expected a narrowgate tokenizer.json.`);
    }
    return WordTokenizer.fromJSON(obj, path);
  }

  toJSON(): WordTokenizerJSON {
    return {
      type: WORD_TOKENIZER_TYPE, version: WORD_TOKENIZER_VERSION, lowercase: this.lowercase,
      specials: [...SPECIAL_TOKENS], words: [...this.words],
    };
  }

  async save(path: string): Promise<void> {
    await writeFileAtomic(path, JSON.stringify(this.toJSON(), null, 1) + '\n');
  }

  /** Number of ids: specials + words. */
  get size(): number {
    return NUM_SPECIALS + this.words.length;
  }

  /** The id of a token (a word or a special such as "<eos>"), or <unk>'s id when unknown. */
  tokenToId(token: string): number {
    return this.index.get(token) ?? SPECIAL_IDS.unk;
  }

  /** The token string of an id; throws for an id outside [0, size). */
  idToToken(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.size) {
      throw new UserError(`Token id ${id} is outside this tokenizer's range [0, ${this.size}).`);
    }
    return id < NUM_SPECIALS ? (SPECIAL_TOKENS[id] as string) : (this.words[id - NUM_SPECIALS] as string);
  }

  /** Word ids of a text (no specials added unless asked). */
  encode(text: string, opts: { bos?: boolean; eos?: boolean } = {}): number[] {
    // splitWords never yields "<eos>" and the like ("<" and ">" are tokens of their own), so a text
    // cannot smuggle special tokens in
    const ids = splitWords(text, this.lowercase).map((w) => this.tokenToId(w));
    if (opts.bos) ids.unshift(SPECIAL_IDS.bos);
    if (opts.eos) ids.push(SPECIAL_IDS.eos);
    return ids;
  }

  /**
   * Text of a list of ids. By default special tokens are dropped (<unk> is kept as "<unk>") and
   * decoding stops at the first <eos>; ids outside the text vocabulary (e.g. image codes) are skipped.
   */
  decode(ids: ArrayLike<number>, opts: { skipSpecials?: boolean; stopAtEos?: boolean } = {}): string {
    const skip = opts.skipSpecials ?? true;
    const stop = opts.stopAtEos ?? true;
    let out = '';
    let prev = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      if (stop && id === SPECIAL_IDS.eos) break;
      if (id < 0 || id >= this.size) continue;
      if (skip && id < NUM_SPECIALS && id !== SPECIAL_IDS.unk) continue;
      const tok = this.idToToken(id);
      const space = out.length > 0 && !NO_SPACE_BEFORE.has(tok) && !NO_SPACE_AFTER.has(prev);
      out += (space ? ' ' : '') + tok;
      prev = tok;
    }
    return out;
  }
}
