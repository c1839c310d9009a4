/**
 * BLEU-1..n as pycocoevalcap's bleu_scorer.py computes it with option 'closest' (what Bleu.compute_score
 * uses): clipped counts against the maximum count in any one reference, guess = max(0, len - k + 1),
 * the closest reference length (the shorter on a tie), the 1e-15 / 1e-9 smoothing constants, and the
 * brevity penalty exp(1 - 1/ratio) when ratio < 1. The corpus value pools the counts and lengths
 * over all images and applies the corpus brevity penalty; per-image values use their own.
 */
import { UserError } from '../util/errors.js';
import { NgramIndex, pySplit, type CookedCaption } from './ngrams.js';

const TINY = 1e-15;
const SMALL = 1e-9;

export interface BleuResult {
  /** corpus BLEU-1..n */
  bleu: number[];
  /** perImage[i][k] = BLEU-(k+1) of image i, with its own brevity penalty */
  perImage: number[][];
  /** total candidate words */
  testlen: number;
  /** sum over images of the closest reference length */
  reflen: number;
  /** (testlen + 1e-15) / (reflen + 1e-9) */
  ratio: number;
}

interface Cooked {
  testlen: number;
  reflen: number;
  guess: number[];
  correct: number[];
}

/** cook_refs + cook_test for one image; `maxCount` is a zeroed scratch buffer indexed by n-gram id. */
function cook(cand: CookedCaption, refs: CookedCaption[], maxCount: Int32Array): Cooked {
  const n = cand.orders.length;
  for (const r of refs) for (const o of r.orders) o.ids.forEach((id, j) => { maxCount[id] = Math.max(maxCount[id]!, o.counts[j]!); });
  const testlen = cand.words;
  // min over (|l - testlen|, l): the closest reference length, the shorter one on a tie
  let reflen = refs[0]!.words;
  for (const r of refs) {
    const l = r.words, d = Math.abs(l - testlen), best = Math.abs(reflen - testlen);
    if (d < best || (d === best && l < reflen)) reflen = l;
  }
  const guess = Array.from({ length: n }, (_, k) => Math.max(0, testlen - k));
  const correct = cand.orders.map((o) => o.ids.reduce((s, id, j) => s + Math.min(maxCount[id]!, o.counts[j]!), 0));
  for (const r of refs) for (const o of r.orders) for (const id of o.ids) maxCount[id] = 0;
  return { testlen, reflen, guess, correct };
}

function scores(correct: number[], guess: number[], testlen: number, reflen: number): number[] {
  const out: number[] = [];
  let prod = 1;
  for (let k = 0; k < correct.length; k++) {
    prod *= (correct[k]! + TINY) / (guess[k]! + SMALL);
    out.push(Math.pow(prod, 1 / (k + 1)));
  }
  const ratio = (testlen + TINY) / (reflen + SMALL);
  if (ratio < 1) {
    const bp = Math.exp(1 - 1 / ratio);
    for (let k = 0; k < out.length; k++) out[k] = out[k]! * bp;
  }
  return out;
}

/**
 * Corpus and per-image BLEU-1..n of one tokenised candidate per image against its references.
 */
export function bleu(candidates: string[], references: string[][], n = 4): BleuResult {
  if (candidates.length !== references.length) {
    throw new UserError(`BLEU got ${candidates.length} candidates but ${references.length} reference sets; expected one reference set per candidate.`);
  }
  const index = new NgramIndex();
  const cands = candidates.map((c) => index.cook(pySplit(c), n));
  const refs = references.map((rs, i) => {
    if (rs.length === 0) throw new UserError(`BLEU: image ${i} has no reference captions; expected at least one.`);
    return rs.map((r) => index.cook(pySplit(r), n));
  });
  const maxCount = new Int32Array(index.size);
  let testlen = 0, reflen = 0;
  const guess = new Array<number>(n).fill(0);
  const correct = new Array<number>(n).fill(0);
  const perImage: number[][] = [];
  cands.forEach((cand, i) => {
    const c = cook(cand, refs[i]!, maxCount);
    testlen += c.testlen;
    reflen += c.reflen;
    for (let k = 0; k < n; k++) {
      guess[k] = guess[k]! + c.guess[k]!;
      correct[k] = correct[k]! + c.correct[k]!;
    }
    perImage.push(scores(c.correct, c.guess, c.testlen, c.reflen));
  });
  return {
    bleu: scores(correct, guess, testlen, reflen),
    perImage,
    testlen,
    reflen,
    ratio: (testlen + TINY) / (reflen + SMALL),
  };
}
