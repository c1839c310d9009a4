/**
 * Summation orders of the reference implementations. They matter only in the last bits, but
 * reproducing them keeps parity with the Python tools at the level of a few ulps.
 */

/** Python's built-in sum(): left to right from 0. */
export function pySum(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s;
}

/** numpy's pairwise summation of xs[start, start + n) (pairwise_sum in numpy's loops). */
function pairwise(xs: ArrayLike<number>, start: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += xs[start + i]!;
    return res;
  }
  if (n <= 128) {
    const r = new Float64Array(8);
    for (let j = 0; j < 8; j++) r[j] = xs[start + j]!;
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] = r[j]! + xs[start + i + j]!;
    }
    let res = ((r[0]! + r[1]!) + (r[2]! + r[3]!)) + ((r[4]! + r[5]!) + (r[6]! + r[7]!));
    for (; i < n; i++) res += xs[start + i]!;
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwise(xs, start, n2) + pairwise(xs, start + n2, n - n2);
}

/** numpy's np.sum of a contiguous float64 array: the first element, plus the pairwise sum of the rest. */
export function npSum(xs: ArrayLike<number>): number {
  if (xs.length === 0) return 0;
  return xs[0]! + pairwise(xs, 1, xs.length - 1);
}

/** numpy's np.mean (NaN for an empty array, as numpy returns with a warning). */
export function npMean(xs: ArrayLike<number>): number {
  return npSum(xs) / xs.length;
}
