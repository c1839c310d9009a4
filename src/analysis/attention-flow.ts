/**
 * E3, cross-modal attention per image position:
 *   f^l_j = (1/C) (1/|H|) sum_h sum_{i after [EOI]} A^{l,h}_{i,j},  j over the image positions and [EOI],
 * C normalising sum_j f^l_j = 1. Only image and [EOI] keys enter the denominator, so the BOS and BOI
 * sinks (and text keys) are left out. Over examples the attention is summed (averaged) first and the
 * ratio taken last: a ratio of means, not a mean of per-example ratios. Image positions are indexed by
 * their offset in the image span, so examples must share the number of image positions; query rows
 * are all rows after [EOI] (prompt text and generated tokens: strip padding rows before).
 */
import { UserError } from '../util/errors.js';
import type { Spans } from '../model/spans.js';

/** One attention pattern [L, H, T, T] (row-major; a mean over examples or one example) with its spans. */
export interface PatternInput {
  pattern: Float32Array;
  layers: number;
  heads: number;
  /** Sequence length T (queries = keys). */
  seq: number;
  spans: Spans;
}

export interface FlowResult {
  layers: number;
  /** Image positions (the span's length). */
  nImage: number;
  /** Per layer, f over [image offset 0 .. nImage-1, EOI] (length nImage + 1, sums to 1). */
  shares: Float64Array[];
  /** Per layer, the mean over heads of the total attention of one after-[EOI] query to image + [EOI]. */
  imageMass: number[];
  examples: number;
}

function check(p: PatternInput): { eoi: number; img0: number; nImage: number } {
  const { layers: L, heads: H, seq: T, spans } = p;
  if (![L, H, T].every((v) => Number.isInteger(v) && v > 0)) throw new UserError(`attention flow: layers, heads and seq must be positive integers, got ${L}, ${H}, ${T}.`);
  if (p.pattern.length !== L * H * T * T) throw new UserError(`attention flow: expected a [${L}, ${H}, ${T}, ${T}] pattern (${L * H * T * T} values), got ${p.pattern.length}.`);
  if (spans.image === null || spans.eoi === null) throw new UserError('attention flow: the spans need an image span and an [EOI] position.');
  const [a, b] = spans.image;
  if (!(a >= 0 && b > a && b <= T && spans.eoi >= 0 && spans.eoi < T)) throw new UserError(`attention flow: image span [${a}, ${b}) or [EOI] ${spans.eoi} lies outside the ${T} positions.`);
  if (spans.eoi >= a && spans.eoi < b) throw new UserError(`attention flow: [EOI] ${spans.eoi} lies inside the image span [${a}, ${b}).`);
  return { eoi: spans.eoi, img0: a, nImage: b - a };
}

/** Unnormalised sums: per layer, sum_h sum_{i > eoi} A[l,h,i,j] over image offsets then [EOI]; and the query count. */
export function flowSums(p: PatternInput): { sums: Float64Array[]; queries: number } {
  const { eoi, img0, nImage } = check(p);
  const { layers: L, heads: H, seq: T, pattern } = p;
  const sums: Float64Array[] = [];
  for (let l = 0; l < L; l++) {
    const s = new Float64Array(nImage + 1);
    for (let h = 0; h < H; h++) {
      for (let i = eoi + 1; i < T; i++) {
        const row = ((l * H + h) * T + i) * T;
        for (let j = 0; j < nImage; j++) s[j] = (s[j] as number) + (pattern[row + img0 + j] as number);
        s[nImage] = (s[nImage] as number) + (pattern[row + eoi] as number);
      }
    }
    sums.push(s);
  }
  return { sums, queries: Math.max(0, T - eoi - 1) };
}

/** f^l_j from one mean pattern or from several per-example patterns (ratio of means). */
export function attentionFlow(inputs: PatternInput | PatternInput[]): FlowResult {
  const list = Array.isArray(inputs) ? inputs : [inputs];
  if (list.length === 0) throw new UserError('attention flow: no patterns given.');
  const first = list[0] as PatternInput;
  const L = first.layers;
  const nImage = check(first).nImage;
  const total = Array.from({ length: L }, () => new Float64Array(nImage + 1));
  let queries = 0;
  for (const p of list) {
    if (p.layers !== L) throw new UserError(`attention flow: every pattern needs ${L} layers, got ${p.layers}.`);
    if (check(p).nImage !== nImage) throw new UserError(`attention flow: every example needs ${nImage} image positions, got ${check(p).nImage}.`);
    const { sums, queries: q } = flowSums(p);
    if (q === 0) throw new UserError('attention flow: an example has no query positions after [EOI].');
    queries += q * p.heads;
    for (let l = 0; l < L; l++) for (let j = 0; j <= nImage; j++) total[l]![j] = (total[l]![j] as number) + (sums[l]![j] as number);
  }
  const shares: Float64Array[] = [];
  const imageMass: number[] = [];
  for (let l = 0; l < L; l++) {
    const s = total[l] as Float64Array;
    let c = 0;
    for (const v of s) c += v;
    imageMass.push(c / queries);
    shares.push(s.map((v) => (c > 0 ? v / c : 0)));
  }
  return { layers: L, nImage, shares, imageMass, examples: list.length };
}

export interface StackedShares {
  threshold: number;
  /** Image offsets (last image position excluded) whose share exceeds the threshold in some layer. */
  outliers: number[];
  /** Per layer: [EOI], the last image token, each outlier, and the rest of the image ("internal"). */
  eoi: number[];
  lastImage: number[];
  outlierShares: number[][];
  internal: number[];
}

/** E3's stacked report: [EOI], last image token, single positions above `threshold` (1 %), the rest. */
export function stackedShares(flow: FlowResult, threshold = 0.01): StackedShares {
  const last = flow.nImage - 1;
  const outliers: number[] = [];
  for (let j = 0; j < last; j++) if (flow.shares.some((s) => (s[j] as number) > threshold)) outliers.push(j);
  const eoi: number[] = [], lastImage: number[] = [], outlierShares: number[][] = [], internal: number[] = [];
  for (const s of flow.shares) {
    eoi.push(s[flow.nImage] as number);
    lastImage.push(s[last] as number);
    const o = outliers.map((j) => s[j] as number);
    outlierShares.push(o);
    let rest = 0;
    for (let j = 0; j < last; j++) rest += s[j] as number;
    internal.push(rest - o.reduce((a, b) => a + b, 0));
  }
  return { threshold, outliers, eoi, lastImage, outlierShares, internal };
}
