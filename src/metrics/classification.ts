/** Classification accuracy and the next-token probability similarity sum_i min(p_i, q_i). */
import { UserError } from '../util/errors.js';

/** Fraction of positions where `predictions[i] === labels[i]`; both non-empty and of equal length. */
export function classificationAccuracy<T extends string | number>(predictions: ArrayLike<T>, labels: ArrayLike<T>): number {
  if (predictions.length !== labels.length) {
    throw new UserError(`Classification accuracy got ${predictions.length} predictions but ${labels.length} labels; expected one prediction per label.`);
  }
  if (labels.length === 0) throw new UserError('Classification accuracy got an empty set; expected at least one prediction and label.');
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) correct++;
  return correct / labels.length;
}

/**
 * Probability similarity sum_i min(p_i, q_i) of two distributions over the same support: 1 for
 * identical distributions, 0 for disjoint ones (equal to 1 - total variation distance when both sum to 1).
 * Entries must be finite and non-negative; the distributions are not renormalised.
 */
export function probabilitySimilarity(p: ArrayLike<number>, q: ArrayLike<number>): number {
  if (p.length !== q.length) {
    throw new UserError(`Probability similarity got distributions of sizes ${p.length} and ${q.length}; expected the same support.`);
  }
  if (p.length === 0) throw new UserError('Probability similarity got empty distributions; expected at least one outcome.');
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i]!, b = q[i]!;
    if (!(Number.isFinite(a) && Number.isFinite(b) && a >= 0 && b >= 0)) {
      throw new UserError(`Probability similarity got a bad probability at index ${i} (${a}, ${b}); expected finite non-negative values.`);
    }
    s += Math.min(a, b);
  }
  return s;
}
