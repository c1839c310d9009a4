/**
 * The plain data shapes the analysis functions share: a row-major float32 matrix (one vector per row,
 * as the activation store hands out one layer's slice) and neighbour lists.
 */
import { UserError } from '../util/errors.js';

/** n rows of d values, row-major (row i is data[i*d .. i*d+d)). */
export interface Matrix {
  data: Float32Array;
  n: number;
  d: number;
}

/** 'euclidean': ||x - y||; 'cosine': 1 - cos(x, y) (the sklearn / DADApy / hnswlib convention). */
export type Metric = 'euclidean' | 'cosine';

/** k nearest neighbours of each query row, nearest first. */
export interface Neighbours {
  /** Number of query rows. */
  n: number;
  /** Neighbours per query row. */
  k: number;
  /** Row indices into the data, n*k, row-major. A query that is a data row never lists itself. */
  indices: Int32Array;
  /** The matching distances in the metric's units, float64. */
  distances: Float64Array;
  metric: Metric;
  /** Data row of each query row; null means query row r is data row r (all rows, in order). */
  queryRows: Int32Array | null;
}

export function matrix(data: Float32Array, n: number, d: number): Matrix {
  checkMatrix({ data, n, d }, 'matrix');
  return { data, n, d };
}

export function checkMatrix(x: Matrix, name: string): void {
  if (!Number.isInteger(x.n) || !Number.isInteger(x.d) || x.n < 0 || x.d < 1) {
    throw new UserError(`${name}: expected integer sizes n >= 0 and d >= 1, got n=${x.n}, d=${x.d}.`);
  }
  if (x.data.length !== x.n * x.d) {
    throw new UserError(`${name}: expected ${x.n} x ${x.d} = ${x.n * x.d} values, got ${x.data.length}.`);
  }
}

/** Rows scaled to unit Euclidean norm (a new array); a zero row is a UserError (no direction). */
export function normalizeRows(x: Matrix, name = 'matrix'): Matrix {
  const out = new Float32Array(x.data.length);
  for (let i = 0; i < x.n; i++) {
    const o = i * x.d;
    let s = 0;
    for (let c = 0; c < x.d; c++) {
      const v = x.data[o + c] as number;
      s += v * v;
    }
    if (!(s > 0)) throw new UserError(`${name}: row ${i} has zero norm; cosine needs non-zero vectors.`);
    const inv = 1 / Math.sqrt(s);
    for (let c = 0; c < x.d; c++) out[o + c] = (x.data[o + c] as number) * inv;
  }
  return { data: out, n: x.n, d: x.d };
}

/** Distance between rows i of a and j of b in float64 (cosine assumes both are unit-normalised). */
export function rowDistance(a: Matrix, i: number, b: Matrix, j: number, metric: Metric): number {
  const d = a.d;
  const oa = i * d;
  const ob = j * d;
  if (metric === 'cosine') {
    let dot = 0;
    for (let c = 0; c < d; c++) dot += (a.data[oa + c] as number) * (b.data[ob + c] as number);
    return 1 - dot;
  }
  let s = 0;
  for (let c = 0; c < d; c++) {
    const t = (a.data[oa + c] as number) - (b.data[ob + c] as number);
    s += t * t;
  }
  return Math.sqrt(s);
}

/** Data row of query row r. */
export function queryRow(nb: Neighbours, r: number): number {
  return nb.queryRows ? (nb.queryRows[r] as number) : r;
}

/** Labels (numbers or strings) mapped to dense class ids 0..C-1, in order of first appearance. */
export function classIds(labels: ArrayLike<number | string>): { ids: Int32Array; classes: (number | string)[] } {
  const map = new Map<number | string, number>();
  const ids = new Int32Array(labels.length);
  const classes: (number | string)[] = [];
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i] as number | string;
    let c = map.get(l);
    if (c === undefined) {
      c = classes.length;
      map.set(l, c);
      classes.push(l);
    }
    ids[i] = c;
  }
  return { ids, classes };
}
