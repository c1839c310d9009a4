/**
 * CIDEr-D (pycocoevalcap's "CIDEr") and plain CIDEr (vrama91/cider, df = "corpus").
 *
 * Follows cider_scorer.py step by step: n-grams of orders 1..n from caption.split(); document
 * frequency = number of images whose reference set holds the n-gram; weight tf * (log N - log(max(1, df)));
 * per reference and order the (clipped, for CIDEr-D) cosine, divided only when both norms are
 * non-zero; CIDEr-D multiplies by exp(-delta^2 / (2 sigma^2)) with lengths counted as bigram counts;
 * image score = mean over orders / number of references * 10; corpus score = numpy mean over images.
 *
 * N-grams are interned to integer ids (ngrams.ts); each reference vector is built once and looked up
 * through a dense scratch buffer, so the cost is linear in the number of n-grams.
 */
import { UserError } from '../util/errors.js';
import { npMean } from './sums.js';
import { NgramIndex, pySplit, type CookedCaption } from './ngrams.js';

export interface CiderOptions {
  /** highest n-gram order (default 4) */
  n?: number;
  /** Gaussian length-penalty width for CIDEr-D (default 6) */
  sigma?: number;
  /** 'D' (clipping + length penalty, pycocoevalcap) or 'plain' (vrama91's CIDEr); default 'D' */
  variant?: 'D' | 'plain';
}

export interface CorpusScore {
  /** corpus value: numpy mean of the per-image values */
  score: number;
  /** one value per image, in input order */
  perImage: number[];
}

interface TfIdfVector {
  /** per order: n-gram ids and tf-idf weights, in the reference code's insertion order */
  ids: number[][];
  weights: number[][];
  norm: number[];
  /** number of bigrams (the reference code's "length") */
  length: number;
}

/** counts2vec: weights tf * (log N - log(max(1, df))), per-order norms, and the bigram count. */
function toVector(c: CookedCaption, idf: Float64Array): TfIdfVector {
  const ids: number[][] = [], weights: number[][] = [], norm: number[] = [];
  let length = 0;
  c.orders.forEach((o, k) => {
    const w = new Array<number>(o.ids.length);
    let sq = 0;
    for (let j = 0; j < o.ids.length; j++) {
      const v = o.counts[j]! * idf[o.ids[j]!]!;
      w[j] = v;
      sq += v * v;
      if (k === 1) length += o.counts[j]!;
    }
    ids.push(o.ids);
    weights.push(w);
    norm.push(Math.sqrt(sq));
  });
  return { ids, weights, norm, length };
}

/**
 * CIDEr-D or plain CIDEr of one candidate per image against that image's references.
 * `candidates[i]` and `references[i]` belong to image i; captions are already tokenised
 * (tokens separated by whitespace). Every image needs at least one reference.
 */
export function cider(candidates: string[], references: string[][], opts: CiderOptions = {}): CorpusScore {
  const n = opts.n ?? 4;
  const sigma = opts.sigma ?? 6;
  const clipped = (opts.variant ?? 'D') === 'D';
  if (candidates.length !== references.length) {
    throw new UserError(`CIDEr got ${candidates.length} candidates but ${references.length} reference sets; expected one reference set per candidate.`);
  }
  const index = new NgramIndex();
  const candCooked = candidates.map((c) => index.cook(pySplit(c), n));
  const refCooked = references.map((refs, i) => {
    if (refs.length === 0) throw new UserError(`CIDEr: image ${i} has no reference captions; expected at least one.`);
    return refs.map((r) => index.cook(pySplit(r), n));
  });
  // document frequency: number of images whose reference set holds the n-gram
  const df = new Float64Array(index.size);
  const seenIn = new Int32Array(index.size).fill(-1);
  refCooked.forEach((refs, img) => {
    for (const r of refs) for (const o of r.orders) for (const id of o.ids) {
      if (seenIn[id] !== img) { seenIn[id] = img; df[id] = df[id]! + 1; }
    }
  });
  const refLen = Math.log(references.length);
  const idf = new Float64Array(index.size);
  for (let id = 0; id < idf.length; id++) idf[id] = refLen - Math.log(Math.max(1, df[id]!));
  const twoSigmaSq = 2 * sigma ** 2;
  const perImage = new Array<number>(candidates.length);
  const score = new Float64Array(n);
  const refWeight = new Float64Array(index.size); // scratch: the current reference's weights by id
  for (let img = 0; img < candidates.length; img++) {
    const hyp = toVector(candCooked[img]!, idf);
    score.fill(0);
    for (const cooked of refCooked[img]!) {
      const ref = toVector(cooked, idf);
      for (let k = 0; k < n; k++) ref.ids[k]!.forEach((id, j) => { refWeight[id] = ref.weights[k]![j]!; });
      const delta = hyp.length - ref.length;
      const penalty = clipped ? Math.pow(Math.E, -(delta ** 2) / twoSigmaSq) : 1;
      for (let k = 0; k < n; k++) {
        const hIds = hyp.ids[k]!, hW = hyp.weights[k]!;
        let val = 0;
        for (let j = 0; j < hIds.length; j++) {
          const h = hW[j]!, r = refWeight[hIds[j]!]!;
          val += (clipped ? Math.min(h, r) : h) * r;
        }
        const nh = hyp.norm[k]!, nr = ref.norm[k]!;
        if (nh !== 0 && nr !== 0) val /= nh * nr;
        if (clipped) val *= penalty;
        score[k] = score[k]! + val;
      }
      for (let k = 0; k < n; k++) for (const id of ref.ids[k]!) refWeight[id] = 0;
    }
    perImage[img] = (npMean(score) / refCooked[img]!.length) * 10;
  }
  return { score: npMean(perImage), perImage };
}

/** CIDEr-D (pycocoevalcap's "CIDEr": clipping and the Gaussian length penalty, sigma 6). */
export function ciderD(candidates: string[], references: string[][]): CorpusScore {
  return cider(candidates, references, { variant: 'D' });
}

/** Plain CIDEr (no clipping, no length penalty), as vrama91/cider with df = "corpus". */
export function ciderPlain(candidates: string[], references: string[][]): CorpusScore {
  return cider(candidates, references, { variant: 'plain' });
}
