/**
 * E7 bookkeeping for activation patching through [EOI], from next-token logits at the last prompt
 * position: similarity(p, q) = sum_v min(p_v, q_v) between softmax distributions (patched vs target;
 * the baseline is clean vs target), and flip accuracy = fraction of pairs where the patch flips which of
 * the two class tokens (base class a, target class b) has the higher logit.
 */
import { UserError } from '../util/errors.js';
import { probabilitySimilarity } from '../metrics/classification.js';

/** softmax in float64 with the max subtracted (exact for any finite logits; -Infinity gives 0). */
export function softmax(logits: ArrayLike<number>): Float64Array {
  if (logits.length === 0) throw new UserError('softmax: no logits.');
  let m = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i] as number;
    if (Number.isNaN(v) || v === Infinity) throw new UserError(`softmax: logit ${i} is ${v}; expected finite values or -Infinity.`);
    if (v > m) m = v;
  }
  if (m === -Infinity) throw new UserError('softmax: every logit is -Infinity.');
  const p = new Float64Array(logits.length);
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += p[i] = Math.exp((logits[i] as number) - m);
  for (let i = 0; i < p.length; i++) p[i] = (p[i] as number) / s;
  return p;
}

/** sum_v min(softmax(x)_v, softmax(y)_v). */
export function logitSimilarity(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw new UserError(`logit similarity: vocabularies differ (${x.length} vs ${y.length}).`);
  return probabilitySimilarity(softmax(x), softmax(y));
}

/** One base/target pair: next-token logits of the three passes and the two class tokens. */
export interface PatchPair {
  clean: ArrayLike<number>;
  patched: ArrayLike<number>;
  target: ArrayLike<number>;
  /** Token id of the base image's class (a) and of the target image's class (b). */
  tokenA: number;
  tokenB: number;
}

export interface PatchingSummary {
  pairs: number;
  /** Mean similarity of patched vs target, and of clean vs target (the baseline). */
  similarity: number;
  baseline: number;
  /** Fraction of pairs whose a-vs-b logit order differs between clean and patched. */
  flipAccuracy: number;
  /** Fraction of pairs where the patched run prefers b, and where the clean run prefers a. */
  patchedPrefersTarget: number;
  cleanPrefersBase: number;
}

export function patchingSummary(pairs: PatchPair[]): PatchingSummary {
  if (pairs.length === 0) throw new UserError('patching summary: no pairs.');
  let sim = 0, base = 0, flips = 0, toB = 0, cleanA = 0;
  for (const [i, p] of pairs.entries()) {
    const V = p.clean.length;
    if (p.patched.length !== V || p.target.length !== V) throw new UserError(`patching summary: pair ${i} has logits of different sizes.`);
    for (const t of [p.tokenA, p.tokenB]) if (!(Number.isInteger(t) && t >= 0 && t < V)) throw new UserError(`patching summary: pair ${i} class token ${t} is outside the vocabulary of ${V}.`);
    if (p.tokenA === p.tokenB) throw new UserError(`patching summary: pair ${i} has the same class token ${p.tokenA} for a and b.`);
    sim += logitSimilarity(p.patched, p.target);
    base += logitSimilarity(p.clean, p.target);
    const cleanPrefA = (p.clean[p.tokenA] as number) > (p.clean[p.tokenB] as number);
    const patchedPrefA = (p.patched[p.tokenA] as number) > (p.patched[p.tokenB] as number);
    if (cleanPrefA !== patchedPrefA) flips++;
    if ((p.patched[p.tokenB] as number) > (p.patched[p.tokenA] as number)) toB++;
    if (cleanPrefA) cleanA++;
  }
  const n = pairs.length;
  return { pairs: n, similarity: sim / n, baseline: base / n, flipAccuracy: flips / n, patchedPrefersTarget: toB / n, cleanPrefersBase: cleanA / n };
}
