/**
 * Neighbourhood overlap with ground-truth labels (E4):
 *   chi^{l,gt} = (1/n) sum_i (1/k) sum_{j in N_k(i)} [label_i == label_j],
 * N_k(i) the k nearest neighbours of i without i itself (Euclidean on raw vectors, k = 30). Classes
 * are weighted equally: the per-point values are averaged within each class and the class means are
 * averaged (the same number as the plain mean when the classes are balanced). Chance = 1/#classes.
 * With HNSW neighbours the recall@k against exact kNN on a sample is returned beside the value.
 */
import { UserError } from '../util/errors.js';
import { buildHnsw, hnswKnn, sampledRecall, type HnswBuildOptions, type HnswIndex } from './hnsw.js';
import { knnExact } from './knn.js';
import { classIds, queryRow, type Matrix, type Metric, type Neighbours } from './matrix.js';

export interface OverlapResult {
  /** Class-balanced overlap (E4's chi). */
  value: number;
  /** Plain mean over the query points. */
  unweighted: number;
  /** 1 / number of classes. */
  chance: number;
  perClass: { label: number | string; count: number; value: number }[];
  k: number;
  /** True when every class has the same number of query points. */
  balanced: boolean;
}

/** Overlap from neighbour lists (first k columns); labels are indexed by data row. */
export function overlapFromNeighbours(nb: Neighbours, labels: ArrayLike<number | string>, k = nb.k): OverlapResult {
  if (!Number.isInteger(k) || k < 1 || k > nb.k) throw new UserError(`overlap: k must be an integer in 1..${nb.k} (the lists' length), got ${k}.`);
  const { ids, classes } = classIds(labels);
  const C = classes.length;
  const sum = new Float64Array(C);
  const count = new Int32Array(C);
  let total = 0;
  for (let r = 0; r < nb.n; r++) {
    const i = queryRow(nb, r);
    if (i >= ids.length) throw new UserError(`overlap: neighbour lists refer to row ${i}, but there are only ${ids.length} labels.`);
    const li = ids[i] as number;
    let same = 0;
    for (let t = 0; t < k; t++) {
      const j = nb.indices[r * nb.k + t] as number;
      if (j >= ids.length) throw new UserError(`overlap: neighbour lists refer to row ${j}, but there are only ${ids.length} labels.`);
      if (ids[j] === li) same++;
    }
    sum[li] = (sum[li] as number) + same / k;
    count[li] = (count[li] as number) + 1;
    total += same / k;
  }
  const present = classes.map((_, c) => c).filter((c) => (count[c] as number) > 0);
  if (present.length === 0) throw new UserError('overlap: no query points.');
  const perClass = present.map((c) => ({ label: classes[c] as number | string, count: count[c] as number, value: (sum[c] as number) / (count[c] as number) }));
  const value = perClass.reduce((s, p) => s + p.value, 0) / perClass.length;
  return {
    value,
    unweighted: total / nb.n,
    chance: 1 / C,
    perClass,
    k,
    balanced: perClass.every((p) => p.count === (perClass[0] as { count: number }).count),
  };
}

export interface OverlapOptions {
  k?: number;
  metric?: Metric;
  /** 'exact' (tfjs matmul + topk) or 'hnsw'. Default 'exact'. */
  method?: 'exact' | 'hnsw';
  /** HNSW build parameters and search ef (used when no index is given). */
  hnsw?: HnswBuildOptions & { ef?: number };
  /** A prebuilt or loaded index for these vectors. */
  index?: HnswIndex;
  /** Rows sampled for the recall (default 500) and their seed. */
  recallSample?: number;
  seed?: number;
}

export interface OverlapReport extends OverlapResult {
  method: 'exact' | 'hnsw';
  /** recall@k of the HNSW lists against exact kNN on a sample; null for exact neighbours. */
  recall: number | null;
  recallSample: number | null;
}

export async function neighbourhoodOverlap(x: Matrix, labels: ArrayLike<number | string>, opts: OverlapOptions = {}): Promise<OverlapReport> {
  if (labels.length !== x.n) throw new UserError(`overlap: expected one label per vector (${x.n}), got ${labels.length}.`);
  const k = opts.k ?? 30;
  const metric = opts.metric ?? 'euclidean';
  const method = opts.method ?? 'exact';
  if (method === 'exact') {
    const nb = await knnExact(x, { k, metric });
    return { ...overlapFromNeighbours(nb, labels, k), method, recall: null, recallSample: null };
  }
  const index = opts.index ?? buildHnsw(x, { ...opts.hnsw, metric });
  if (index.metric !== metric) throw new UserError(`overlap: the HNSW index uses ${index.metric} distance, the overlap asked for ${metric}.`);
  const nb = hnswKnn(index, x, { k, ef: opts.hnsw?.ef });
  const { recall, sample } = await sampledRecall(x, nb, { k, sample: opts.recallSample, seed: opts.seed });
  return { ...overlapFromNeighbours(nb, labels, k), method, recall, recallSample: sample };
}
