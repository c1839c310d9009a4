/**
 * Exact k nearest neighbours on the active tfjs backend: the data sit on the device once (transposed,
 * so the matmul takes the fast no-transpose path on wasm), queries go through in blocks of about 1000
 * rows, each block is one matmul plus topk, read back outside tidy (STACK.md). The k+1 candidates
 * per query are then re-ranked with float64 distances computed in JS, so the returned distances do not
 * carry the cancellation error of |q|^2 + |x|^2 - 2 q.x (ratios of near distances feed the ID
 * estimators). Good as an oracle up to about 50k points.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../util/errors.js';
import { checkMatrix, normalizeRows, rowDistance, type Matrix, type Metric, type Neighbours } from './matrix.js';

export interface ExactKnnOptions {
  k: number;
  metric?: Metric;
  /** Data rows to query (default: every row, in order). A query never lists itself. */
  queryRows?: ArrayLike<number>;
  /** Queries per matmul (default: about 1000, fewer for very large n to bound memory). */
  blockSize?: number;
}

export async function knnExact(x: Matrix, opts: ExactKnnOptions): Promise<Neighbours> {
  checkMatrix(x, 'knnExact data');
  const metric = opts.metric ?? 'euclidean';
  const k = opts.k;
  if (!Number.isInteger(k) || k < 1 || k > x.n - 1) {
    throw new UserError(`knnExact: k must be an integer in 1..${x.n - 1} (n - 1), got ${k}.`);
  }
  const rows = opts.queryRows ? Int32Array.from(opts.queryRows) : null;
  if (rows) {
    for (const r of rows) {
      if (!Number.isInteger(r) || r < 0 || r >= x.n) throw new UserError(`knnExact: query row ${r} is outside 0..${x.n - 1}.`);
    }
  }
  const nq = rows ? rows.length : x.n;
  const m = metric === 'cosine' ? normalizeRows(x, 'knnExact data') : x;
  const kk = Math.min(k + 1, x.n);
  const block = opts.blockSize ?? Math.max(1, Math.min(1000, Math.floor(2 ** 25 / x.n)));

  // squared norms (only the ranking needs them: score = 2 q.x - |x|^2, larger is nearer)
  const sq = new Float32Array(x.n);
  // float64 norms of the raw rows: cosine distances are re-computed from them (not from the float32
  // normalised copy, whose rounding would show in 1 - cos for near pairs)
  const norms = new Float64Array(x.n);
  if (metric === 'cosine') {
    for (let i = 0; i < x.n; i++) {
      let s = 0;
      for (let c = 0; c < x.d; c++) {
        const v = x.data[i * x.d + c] as number;
        s += v * v;
      }
      norms[i] = Math.sqrt(s);
    }
  }
  if (metric === 'euclidean') {
    for (let i = 0; i < x.n; i++) {
      let s = 0;
      for (let c = 0; c < x.d; c++) {
        const v = m.data[i * x.d + c] as number;
        s += v * v;
      }
      sq[i] = s;
    }
  }
  const xT = tf.tidy(() => tf.transpose(tf.tensor2d(m.data, [x.n, x.d])));
  const sqT = tf.tensor2d(sq, [1, x.n]);
  const indices = new Int32Array(nq * k);
  const distances = new Float64Array(nq * k);
  const cand: { j: number; dist: number }[] = [];
  try {
    for (let r0 = 0; r0 < nq; r0 += block) {
      const b = Math.min(block, nq - r0);
      const q = new Float32Array(b * x.d);
      for (let r = 0; r < b; r++) {
        const src = rows ? (rows[r0 + r] as number) : r0 + r;
        q.set(m.data.subarray(src * x.d, src * x.d + x.d), r * x.d);
      }
      const top = tf.tidy(() => {
        const prod = tf.matMul(tf.tensor2d(q, [b, x.d]), xT);
        const score = metric === 'euclidean' ? tf.sub(tf.mul(prod, 2), sqT) : prod;
        return tf.topk(score, kk, true).indices;
      });
      let idx: Int32Array;
      try {
        idx = (await top.data()) as Int32Array;
      } finally {
        top.dispose();
      }
      for (let r = 0; r < b; r++) {
        const self = rows ? (rows[r0 + r] as number) : r0 + r;
        cand.length = 0;
        for (let t = 0; t < kk; t++) {
          const j = idx[r * kk + t] as number;
          if (j === self) continue;
          const dist = metric === 'cosine' ? 1 - rowDot(x, self, j) / ((norms[self] as number) * (norms[j] as number)) : rowDistance(x, self, x, j, metric);
          cand.push({ j, dist });
        }
        cand.sort((a, c) => a.dist - c.dist || a.j - c.j);
        const o = (r0 + r) * k;
        for (let t = 0; t < k; t++) {
          const e = cand[t] as { j: number; dist: number };
          indices[o + t] = e.j;
          distances[o + t] = Math.max(0, e.dist);
        }
      }
    }
  } finally {
    xT.dispose();
    sqT.dispose();
  }
  return { n: nq, k, indices, distances, metric, queryRows: rows };
}

function rowDot(x: Matrix, i: number, j: number): number {
  let s = 0;
  for (let c = 0; c < x.d; c++) s += (x.data[i * x.d + c] as number) * (x.data[j * x.d + c] as number);
  return s;
}

/** The first k columns of a neighbour list (k <= nb.k). */
export function truncateNeighbours(nb: Neighbours, k: number): Neighbours {
  if (!Number.isInteger(k) || k < 1 || k > nb.k) throw new UserError(`truncateNeighbours: k must be in 1..${nb.k}, got ${k}.`);
  if (k === nb.k) return nb;
  const indices = new Int32Array(nb.n * k);
  const distances = new Float64Array(nb.n * k);
  for (let r = 0; r < nb.n; r++) {
    indices.set(nb.indices.subarray(r * nb.k, r * nb.k + k), r * k);
    distances.set(nb.distances.subarray(r * nb.k, r * nb.k + k), r * k);
  }
  return { ...nb, k, indices, distances };
}

/** Fraction of the exact neighbours found by the approximate lists (recall@k), over the exact rows. */
export function knnRecall(approx: Neighbours, exact: Neighbours): number {
  const k = exact.k;
  if (approx.k < k) throw new UserError(`knnRecall: approximate lists have ${approx.k} neighbours, need at least ${k}.`);
  const pos = new Map<number, number>();
  for (let r = 0; r < approx.n; r++) pos.set(approx.queryRows ? (approx.queryRows[r] as number) : r, r);
  let hit = 0;
  const set = new Set<number>();
  for (let r = 0; r < exact.n; r++) {
    const row = exact.queryRows ? (exact.queryRows[r] as number) : r;
    const a = pos.get(row);
    if (a === undefined) throw new UserError(`knnRecall: data row ${row} has no approximate neighbours.`);
    set.clear();
    for (let t = 0; t < k; t++) set.add(approx.indices[a * approx.k + t] as number);
    for (let t = 0; t < k; t++) if (set.has(exact.indices[r * k + t] as number)) hit++;
  }
  return exact.n === 0 ? 1 : hit / (exact.n * k);
}
