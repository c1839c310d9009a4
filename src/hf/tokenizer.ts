/**
 * Text tokenizer of a Hugging Face folder, from tokenizer.json through @huggingface/tokenizers (a
 * maintained JS implementation of the tokenizers format: normalizer, pre-tokenizer, BPE, added and
 * special tokens, post-processor). tokenizer_config.json supplies the special-token names.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { UserError } from '../util/errors.js';

export interface HfTokenizer {
  /** Ids for `text`; `addSpecialTokens` (default true) runs the post-processor (e.g. Chameleon's <s>). */
  encode(text: string, addSpecialTokens?: boolean): number[];
  /** Text for `ids`; ids without a token string (padded embedding rows) are skipped. */
  decode(ids: number[], skipSpecialTokens?: boolean): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** The id of a token that must exist (throws a UserError naming the folder otherwise). */
  requireId(token: string): number;
  /** Number of token strings (may be smaller than the model's vocab_size). */
  size: number;
  /** tokenizer_config.json, for special-token names (bos_token, eos_token, sep_token, ...). */
  config: Record<string, unknown>;
}

function readJson(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    throw new UserError(`${path} is not valid JSON.`);
  }
}

/** Loads `dir/tokenizer.json` (+ tokenizer_config.json when present). */
export function loadHfTokenizer(dir: string): HfTokenizer {
  const tjPath = join(dir, 'tokenizer.json');
  if (!existsSync(tjPath)) throw new UserError(`${dir} has no tokenizer.json; expected a Hugging Face tokenizers file.`);
  const tj = readJson(tjPath);
  const tcPath = join(dir, 'tokenizer_config.json');
  const config = existsSync(tcPath) ? readJson(tcPath) : {};
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(tj, config);
  } catch (e) {
    throw new UserError(`${tjPath} could not be loaded as a tokenizer: ${(e as Error).message}.`);
  }
  const vocab = (tj.model as { vocab?: Record<string, number> } | undefined)?.vocab ?? {};
  const added = (tj.added_tokens as { id: number }[] | undefined) ?? [];
  let maxId = -1;
  for (const id of Object.values(vocab)) maxId = Math.max(maxId, id);
  for (const a of added) maxId = Math.max(maxId, a.id);
  const size = maxId + 1;
  return {
    encode: (text, addSpecialTokens = true) => tok.encode(text, { add_special_tokens: addSpecialTokens }).ids,
    decode: (ids, skipSpecialTokens = false) => {
      // ids without a token string (padded embedding rows) decode to nothing, as in transformers;
      // the library refuses an empty list, which an immediately stopped generation produces
      const known = ids.filter((i) => i >= 0 && i < size && tok.id_to_token(i) !== undefined);
      return known.length === 0 ? '' : tok.decode(known, { skip_special_tokens: skipSpecialTokens });
    },
    tokenToId: (t) => tok.token_to_id(t),
    idToToken: (i) => tok.id_to_token(i),
    requireId: (t) => {
      const id = tok.token_to_id(t);
      if (id === undefined) throw new UserError(`The tokenizer in ${dir} has no token "${t}".`);
      return id;
    },
    size,
    config,
  };
}
