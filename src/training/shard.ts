/**
 * Cutting a micro-batch into row shards for data-parallel training (parallel.ts), and the weight of
 * each shard in the combined loss: its share of the batch's target tokens.
 */
import type { StepBatch } from './step.js';

/** Rows [start, end) of shard i when B rows are cut into n contiguous, nearly equal parts (larger first). */
export function shardRange(B: number, n: number, i: number): [number, number] {
  const base = Math.floor(B / n), extra = B % n;
  const start = i * base + Math.min(i, extra);
  return [start, start + base + (i < extra ? 1 : 0)];
}

/** Rows [lo, hi) of a batch as a batch of its own, with compact copies of the arrays (they are posted to workers). */
export function sliceBatch(sb: StepBatch, lo: number, hi: number): StepBatch {
  const T = sb.T;
  const out: StepBatch = {
    B: hi - lo,
    T,
    ids: sb.ids.slice(lo * T, hi * T),
    targets: sb.targets.slice(lo * T, hi * T),
    weights: sb.weights.slice(lo * T, hi * T),
    attentionMask: sb.attentionMask.slice(lo * T, hi * T),
    spans: sb.spans.slice(lo, hi),
    kinds: sb.kinds.slice(lo, hi),
  };
  for (const key of ['pixels', 'features'] as const) {
    const img = sb[key];
    if (!img) continue;
    const per = img.shape.slice(1).reduce((a, x) => a * x, 1);
    const shape = [hi - lo, ...img.shape.slice(1)];
    if (key === 'pixels') out.pixels = { data: img.data.slice(lo * per, hi * per), shape: shape as [number, number, number, number] };
    else out.features = { data: img.data.slice(lo * per, hi * per), shape: shape as [number, number, number] };
  }
  return out;
}

/** n shards of a batch (null where a shard would have no rows, i.e. B < n). */
export function shardBatch(sb: StepBatch, n: number): (StepBatch | null)[] {
  return Array.from({ length: n }, (_, i) => {
    const [lo, hi] = shardRange(sb.B, n, i);
    return hi > lo ? sliceBatch(sb, lo, hi) : null;
  });
}

/**
 * Weight of each shard's mean loss (and gradient) in the batch mean: c_i / C with c_i its target
 * tokens and C those of all shards (0 for every shard when the batch has no target).
 */
export function shardWeights(shards: readonly (StepBatch | null)[]): number[] {
  const counts = shards.map((s) => {
    if (!s) return 0;
    let c = 0;
    for (const w of s.weights) c += w;
    return c;
  });
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (total > 0 ? c / total : 0));
}
