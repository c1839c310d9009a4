/**
 * Intrinsic dimension from neighbour-distance ratios.
 *
 * Gride (Denti, Doimo, Laio, Mira 2022): mu_i = r_{i,n2} / r_{i,n1} with n2 = 2 n1 follows
 *   f(mu) = d (mu^d - 1)^(n2-n1-1) / (mu^((n2-1)d+1) B(n2-n1, n1)),
 * and the ID is the root of the likelihood equation with DADApy's (N - 1) / d in place of N / d (the
 * unbiased form of the maximum-likelihood estimate); its error is 1/sqrt(Fisher information), as
 * DADApy's _fisher_info_scaling. TwoNN (Facco et al. 2017) is the n1 = 1, n2 = 2 case:
 * d = (N - 1) / sum log mu (DADApy's 'ml'); DADApy's default TwoNN ("base") instead fits
 * -log(1 - F(mu)) = d log mu through the origin after discarding the largest 10 % of the ratios,
 * offered here as method 'fit'. Both are checked against DADApy's numbers (analysis-id-dadapy.json).
 * Points whose n1-th distance is zero (duplicates) have no ratio and are skipped (counted).
 */
import { UserError } from '../util/errors.js';
import type { Neighbours } from './matrix.js';

export interface IdEstimate {
  /** The intrinsic dimension. */
  id: number;
  /** Its standard error (1/sqrt of the Fisher information of the likelihood). */
  err: number;
  /** Ratios used. */
  count: number;
  /** Points skipped because r_{n1} = 0 (duplicates). */
  skipped: number;
  n1: number;
  n2: number;
}

/** log(r_{i,n2} / r_{i,n1}) for every point with r_{i,n1} > 0 (neighbours counted from 1). */
export function logRatios(nb: Neighbours, n1: number, n2: number): { logMu: Float64Array; skipped: number } {
  if (!Number.isInteger(n1) || !Number.isInteger(n2) || n1 < 1 || n2 <= n1) {
    throw new UserError(`intrinsic dimension: need integers 1 <= n1 < n2, got n1=${n1}, n2=${n2}.`);
  }
  if (n2 > nb.k) throw new UserError(`intrinsic dimension: the ratio r_${n2}/r_${n1} needs at least ${n2} neighbours per point, the lists have ${nb.k}.`);
  const out = new Float64Array(nb.n);
  let m = 0;
  let skipped = 0;
  for (let i = 0; i < nb.n; i++) {
    const a = nb.distances[i * nb.k + n1 - 1] as number;
    const b = nb.distances[i * nb.k + n2 - 1] as number;
    if (!(a > 0)) {
      skipped++;
      continue;
    }
    out[m++] = Math.log(b / a);
  }
  return { logMu: out.subarray(0, m), skipped };
}

/** d/dd of the Gride log-likelihood with (N - 1) for N in the first term (strictly decreasing in d). */
function score(d: number, logMu: Float64Array, n1: number, n2: number): number {
  const delta = n2 - n1;
  let s = 0;
  let sumLog = 0;
  for (let i = 0; i < logMu.length; i++) {
    const l = logMu[i] as number;
    sumLog += l;
    if (delta > 1) {
      const x = d * l;
      // l / (1 - mu^-d), with its limit 1/d as mu -> 1
      s += x < 1e-10 ? 1 / d : l / -Math.expm1(-x);
    }
  }
  return (logMu.length - 1) / d + (delta - 1) * s - (n2 - 1) * sumLog;
}

function fisher(d: number, logMu: Float64Array, n1: number, n2: number): number {
  const delta = n2 - n1;
  let s = 0;
  if (delta > 1) {
    for (let i = 0; i < logMu.length; i++) {
      const l = logMu[i] as number;
      const x = d * l;
      if (x < 1e-10) {
        s += 1 / (d * d);
      } else {
        const den = -Math.expm1(-x);
        s += (l * l * Math.exp(-x)) / (den * den);
      }
    }
  }
  return logMu.length / (d * d) + (delta - 1) * s;
}

/** Gride maximum-likelihood ID from the (n1, n2) ratios; the paper uses (8, 16). */
export function gride(nb: Neighbours, n1 = 8, n2 = 2 * n1): IdEstimate {
  const { logMu, skipped } = logRatios(nb, n1, n2);
  if (logMu.length < 2) throw new UserError(`gride: need at least 2 points with non-zero distances, got ${logMu.length}.`);
  let sum = 0;
  for (const l of logMu) sum += l;
  if (!(sum > 0)) throw new UserError('gride: all neighbour-distance ratios are 1; the ID is unbounded (degenerate data).');
  let id: number;
  if (n2 - n1 === 1) {
    id = (logMu.length - 1) / ((n2 - 1) * sum);
  } else {
    let lo = 1e-6;
    let hi = 1;
    while (score(hi, logMu, n1, n2) > 0) hi *= 2;
    for (let it = 0; it < 200 && hi - lo > 1e-10 * hi; it++) {
      const mid = 0.5 * (lo + hi);
      if (score(mid, logMu, n1, n2) > 0) lo = mid;
      else hi = mid;
    }
    id = 0.5 * (lo + hi);
  }
  return { id, err: 1 / Math.sqrt(fisher(id, logMu, n1, n2)), count: logMu.length, skipped, n1, n2 };
}

export interface TwoNnOptions {
  /** 'mle': (N - 1) / sum log mu (Gride with n1 = 1, DADApy's 'ml'), or 'fit' (DADApy's default linear fit). Default 'mle'. */
  method?: 'mle' | 'fit';
  /** For 'fit': fraction of the smallest ratios kept (DADApy: 0.9). */
  fraction?: number;
}

export function twoNN(nb: Neighbours, opts: TwoNnOptions = {}): IdEstimate {
  if ((opts.method ?? 'mle') === 'mle') return gride(nb, 1, 2);
  const fraction = opts.fraction ?? 0.9;
  if (!(fraction > 0 && fraction <= 1)) throw new UserError(`twoNN: fraction must be in (0, 1], got ${fraction}.`);
  const { logMu, skipped } = logRatios(nb, 1, 2);
  const N = logMu.length;
  const sorted = Float64Array.from(logMu).sort();
  const nEff = Math.floor(N * fraction);
  if (nEff < 2) throw new UserError(`twoNN: need at least 2 ratios after discarding, got ${nEff}.`);
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < nEff; i++) {
    const x = sorted[i] as number;
    const y = -Math.log(1 - (i + 1) / N);
    sxy += x * y;
    sxx += x * x;
  }
  if (!(sxx > 0)) throw new UserError('twoNN: all neighbour-distance ratios are 1; the ID is unbounded (degenerate data).');
  const id = sxy / sxx;
  return { id, err: id / Math.sqrt(N), count: N, skipped, n1: 1, n2: 2 };
}

/** Gride at the scales n1 = 1, 2, 4, ... (n2 = 2 n1) that the lists allow: ID against scale. */
export function grideScaling(nb: Neighbours): IdEstimate[] {
  const out: IdEstimate[] = [];
  for (let n1 = 1; 2 * n1 <= nb.k; n1 *= 2) out.push(gride(nb, n1, 2 * n1));
  return out;
}
