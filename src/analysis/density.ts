/**
 * kNN log-density (as DADApy's compute_density_kNN):
 *   log rho_i = log k - log(V_d r_{i,k}^d) - log N,   V_d = pi^(d/2) / Gamma(d/2 + 1),
 * with d the intrinsic dimension (not the embedding dimension) and error 1/sqrt(k) for every point.
 */
import { UserError } from '../util/errors.js';
import type { Neighbours } from './matrix.js';

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** log Gamma(x) for x > 0 (Lanczos, g = 7; relative error about 1e-15). */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new UserError(`logGamma: expected x > 0, got ${x}.`);
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0] as number;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += (LANCZOS[i] as number) / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** log of the volume of the unit d-ball, V_d = pi^(d/2) / Gamma(d/2 + 1); d may be fractional. */
export function logUnitBallVolume(d: number): number {
  if (!(d > 0)) throw new UserError(`logUnitBallVolume: expected a positive dimension, got ${d}.`);
  return (d / 2) * Math.log(Math.PI) - logGamma(d / 2 + 1);
}

export interface DensityResult {
  /** log rho_i per point (a normalised density: rho integrates to about 1 over the d-manifold). */
  logDen: Float64Array;
  /** Its error per point (1/sqrt(k) for all, kept per point as DADApy does). */
  logDenErr: Float64Array;
  k: number;
  /** The intrinsic dimension used. */
  id: number;
}

/** kNN log-density of every data point from its neighbour lists (all rows, self excluded). */
export function knnLogDensity(nb: Neighbours, opts: { k: number; id: number }): DensityResult {
  const { k, id } = opts;
  if (nb.queryRows) throw new UserError('knnLogDensity: needs the neighbour lists of every data point, got a sample of query rows.');
  if (!Number.isInteger(k) || k < 1 || k > nb.k) throw new UserError(`knnLogDensity: k must be an integer in 1..${nb.k} (the lists' length), got ${k}.`);
  if (!(id > 0) || !Number.isFinite(id)) throw new UserError(`knnLogDensity: the intrinsic dimension must be a positive number, got ${id}.`);
  const N = nb.n;
  const c = Math.log(k) - Math.log(N) - logUnitBallVolume(id);
  const logDen = new Float64Array(N);
  const logDenErr = new Float64Array(N).fill(1 / Math.sqrt(k));
  for (let i = 0; i < N; i++) {
    const r = nb.distances[i * nb.k + k - 1] as number;
    if (!(r > 0)) {
      throw new UserError(`knnLogDensity: point ${i} has ${k} or more exact duplicates (distance 0 to its ${k}-th neighbour); deduplicate the vectors or raise k.`);
    }
    logDen[i] = c - id * Math.log(r);
  }
  return { logDen, logDenErr, k, id };
}
