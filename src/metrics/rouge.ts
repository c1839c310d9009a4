/**
 * ROUGE-L as pycocoevalcap's rouge/rouge.py: tokens = caption.split(" "), P and R are the maxima
 * over references of LCS/len(candidate) and LCS/len(reference), taken separately, and
 * F = (1 + beta^2) P R / (R + beta^2 P) with beta = 1.2 (0 when P or R is 0).
 */
import { UserError } from '../util/errors.js';
import { npMean } from './sums.js';
import type { CorpusScore } from './cider.js';

/** Length of the longest common subsequence of two token lists (O(len(a) * len(b)) time, O(len(b)) memory). */
export function lcsLength(a: string[], b: string[]): number {
  const [long, short] = a.length >= b.length ? [a, b] : [b, a];
  let prev = new Int32Array(short.length + 1);
  let cur = new Int32Array(short.length + 1);
  for (let i = 1; i <= long.length; i++) {
    const x = long[i - 1];
    for (let j = 1; j <= short.length; j++) {
      cur[j] = x === short[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[short.length]!;
}

/** ROUGE-L F-measure of one candidate against its references (rouge.py's calc_score). */
export function rougeLSentence(candidate: string, refs: string[], beta = 1.2): number {
  if (refs.length === 0) throw new UserError('ROUGE-L needs at least one reference caption per image.');
  const tc = candidate.split(' ');
  let precMax = -Infinity, recMax = -Infinity;
  for (const ref of refs) {
    const tr = ref.split(' ');
    const lcs = lcsLength(tr, tc);
    precMax = Math.max(precMax, lcs / tc.length);
    recMax = Math.max(recMax, lcs / tr.length);
  }
  if (precMax === 0 || recMax === 0) return 0;
  const b2 = Math.pow(beta, 2);
  return ((1 + b2) * precMax * recMax) / (recMax + b2 * precMax);
}

/** Corpus ROUGE-L (numpy mean of the per-image values) of tokenised captions. */
export function rougeL(candidates: string[], references: string[][]): CorpusScore {
  if (candidates.length !== references.length) {
    throw new UserError(`ROUGE-L got ${candidates.length} candidates but ${references.length} reference sets; expected one reference set per candidate.`);
  }
  const perImage = candidates.map((c, i) => rougeLSentence(c, references[i]!));
  return { score: npMean(perImage), perImage };
}
