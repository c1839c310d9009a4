/**
 * WordNet 3.0 glosses from Debian's wordnet-base (/usr/share/wordnet: index.noun, data.noun). A noun
 * synset's offset is its byte position in data.noun and, prefixed with "n", its ImageNet wnid.
 */
import { existsSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const WORDNET_DIR = '/usr/share/wordnet';

export interface WordNetSense {
  lemma: string;
  /** "n" + 8-digit synset offset (ImageNet's wnid scheme). */
  wnid: string;
  /** The definition part of the gloss (before the first ";"), in plain lower-case words. */
  gloss: string;
  /** The gloss as stored in data.noun. */
  rawGloss: string;
}

export function wordnetAvailable(dir = WORDNET_DIR): boolean {
  return existsSync(join(dir, 'index.noun')) && existsSync(join(dir, 'data.noun'));
}

/** The definition as plain words: no parenthesised remarks, no examples, no punctuation. */
export function cleanGloss(raw: string): string {
  return (raw.split(';')[0] ?? '')
    .replace(/\([^)]*\)/g, ' ')
    .toLowerCase()
    .replace(/[^a-z0-9\- ]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * The first (most frequent) noun sense of each lemma, or null for a lemma WordNet lacks. Lemmas use
 * WordNet spelling (lower case, underscores for spaces). Returns null for all when WordNet is absent.
 */
export async function nounSenses(lemmas: readonly string[], dir = WORDNET_DIR): Promise<(WordNetSense | null)[]> {
  if (!wordnetAvailable(dir)) return lemmas.map(() => null);
  const index = await readFile(join(dir, 'index.noun'), 'latin1');
  const fh = await open(join(dir, 'data.noun'), 'r');
  try {
    const out: (WordNetSense | null)[] = [];
    for (const lemma of lemmas) {
      const key = `\n${lemma.toLowerCase()} n `;
      const at = index.indexOf(key);
      if (at < 0) {
        out.push(null);
        continue;
      }
      const line = index.slice(at + 1, index.indexOf('\n', at + 1)).trim().split(/\s+/);
      // lemma pos synset_cnt p_cnt [ptr_symbol x p_cnt] sense_cnt tagsense_cnt synset_offset...
      const pCnt = Number(line[3]);
      const offset = line[4 + pCnt + 2];
      if (!offset || !/^\d{8}$/.test(offset)) {
        out.push(null);
        continue;
      }
      const buf = Buffer.alloc(4096);
      const { bytesRead } = await fh.read(buf, 0, buf.length, Number(offset));
      const rec = buf.subarray(0, bytesRead).toString('latin1').split('\n')[0] ?? '';
      if (!rec.startsWith(offset)) {
        out.push(null);
        continue;
      }
      const rawGloss = (rec.split(' | ')[1] ?? '').trim();
      out.push({ lemma, wnid: `n${offset}`, gloss: cleanGloss(rawGloss), rawGloss });
    }
    return out;
  } finally {
    await fh.close();
  }
}
