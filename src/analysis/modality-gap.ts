/**
 * E1, the modality gap as cross-modal cosine similarity: for one layer, N text vectors and N image
 * vectors (item i gives text_i and image_i), normalise the rows, form the text x image cosine matrix
 * and keep its strict lower triangle (i > j: drops the matched pairs on the diagonal and counts each
 * unordered pair of items once); report the median and the 25th/75th percentiles (numpy's default
 * linear interpolation). The matrix is computed with tfjs in row blocks (only the columns j < i of
 * each block), and the quantiles by selection, not a full sort.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../util/errors.js';
import { checkMatrix, normalizeRows, type Matrix } from './matrix.js';

export interface GapResult {
  median: number;
  p25: number;
  p75: number;
  mean: number;
  /** Number of cosines: N (N - 1) / 2. */
  count: number;
}

/** In-place quickselect: after the call a[k] is the k-th smallest of a[lo..hi], smaller left, larger right. */
function select(a: Float32Array, k: number, lo: number, hi: number): void {
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // median of three as pivot
    const x = a[lo] as number, y = a[mid] as number, z = a[hi] as number;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i] = a[j] as number;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

/** Quantiles (numpy 'linear') of `values`, which is reordered in place. */
export function quantilesInPlace(values: Float32Array, ps: number[]): number[] {
  const m = values.length;
  if (m === 0) throw new UserError('quantiles: no values.');
  const order = ps.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(ps.length);
  let lo = 0;
  for (const [p, i] of order) {
    if (!(p >= 0 && p <= 1)) throw new UserError(`quantiles: p must be in [0, 1], got ${p}.`);
    const h = (m - 1) * p;
    const f = Math.floor(h);
    select(values, f, lo, m - 1);
    const a = values[f] as number;
    let b = a;
    if (h > f) {
      b = Infinity;
      for (let t = f + 1; t < m; t++) if ((values[t] as number) < b) b = values[t] as number;
    }
    out[i] = a + (h - f) * (b - a);
    lo = f;
  }
  return out;
}

/** The strict-lower-triangle cross cosines text_i . image_j (i > j), as float32. */
export async function crossCosines(text: Matrix, image: Matrix, blockSize = 512): Promise<Float32Array> {
  checkMatrix(text, 'modality gap text');
  checkMatrix(image, 'modality gap image');
  if (text.n !== image.n || text.d !== image.d) {
    throw new UserError(`modality gap: expected matched text and image matrices of the same shape, got ${text.n} x ${text.d} and ${image.n} x ${image.d}.`);
  }
  const n = text.n;
  const t = normalizeRows(text, 'modality gap text');
  const im = normalizeRows(image, 'modality gap image');
  const out = new Float32Array((n * (n - 1)) / 2);
  const imT = tf.tidy(() => tf.transpose(tf.tensor2d(im.data, [n, im.d])));
  try {
    // row block [r0, r1) needs the columns 0..r1-2
    for (let r0 = 1; r0 < n; r0 += blockSize) {
      const r1 = Math.min(n, r0 + blockSize);
      const cols = r1 - 1;
      const prod = tf.tidy(() => tf.matMul(tf.tensor2d(t.data.subarray(r0 * t.d, r1 * t.d), [r1 - r0, t.d]), tf.slice(imT, [0, 0], [t.d, cols])));
      let v: Float32Array;
      try {
        v = (await prod.data()) as Float32Array;
      } finally {
        prod.dispose();
      }
      for (let i = r0; i < r1; i++) out.set(v.subarray((i - r0) * cols, (i - r0) * cols + i), (i * (i - 1)) / 2);
    }
  } finally {
    imT.dispose();
  }
  return out;
}

/** E1 for one layer: median and interquartile range of the unmatched text-image cosines. */
export async function modalityGap(text: Matrix, image: Matrix, opts: { blockSize?: number } = {}): Promise<GapResult> {
  if (text.n < 2) throw new UserError(`modality gap: needs at least 2 items, got ${text.n}.`);
  const c = await crossCosines(text, image, opts.blockSize);
  let s = 0;
  for (let i = 0; i < c.length; i++) s += c[i] as number;
  const [p25, median, p75] = quantilesInPlace(c, [0.25, 0.5, 0.75]) as [number, number, number];
  return { median, p25, p75, mean: s / c.length, count: c.length };
}
