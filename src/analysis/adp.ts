/**
 * Advanced Density Peaks clustering (d'Errico, Facco, Laio, Rodriguez 2021), following DADApy's
 * compute_clustering_ADP (cython_clustering._compute_clustering) step by step, on neighbour lists only
 * (no N x N matrix; the saddles are kept sparse, one entry per pair of clusters that touch):
 *  1. g_i = log rho_i - sigma_i; putative centres have no higher g among their k neighbours;
 *  2. a putative centre inside the k-neighbourhood of a point with higher g is dropped;
 *  3. in order of decreasing g, every other point joins the cluster of its nearest neighbour that
 *     already has one (its nearest higher-g neighbour); a dropped centre joins the cluster of the
 *     highest-g point that has it (or a dropped centre of its list) as a neighbour;
 *  4. p in cluster c is a border point with c' when its nearest neighbour outside c is in c' and no
 *     point of c is nearer to that neighbour than p; the saddle of (c, c') is its highest-g border point;
 *  5. while some pair fails the test (log rho_a - log rho_ab < Z (sigma_a + sigma_ab), or the same
 *     for b), merge the pair with the densest saddle; the survivor is the peak with the larger
 *     (log rho - log rho_ab)/(sigma + sigma_ab); its saddles with others become the denser of the two.
 * Checked label for label against DADApy's routine (test/fixtures/analysis-adp-dadapy.json). Where
 * this differs from DADApy:
 *  - DADApy stores absent saddles as density 0 after shifting log rho to min 1, so a pair without a
 *    border can merge only if Z sigma_a > log rho_a - min log rho + 1; here a pair without a border
 *    never merges (the same whenever Z sigma < 1, e.g. kNN density with k = 16: Z sigma = 0.41);
 *  - for a dropped centre none of whose listed neighbours has a cluster yet, DADApy's cython reads the
 *    witness from the wrong row of its to_remove table (it is written one row below); here the witness
 *    itself is used. This path is rare (no case in the fixture reaches it with 32 neighbours);
 *  - DADApy's default density is PAk; E2 prescribes the kNN density, which is what adp() uses
 *    (adpFromDensity takes any log-density with errors).
 */
import { UserError } from '../util/errors.js';
import { gride } from './intrinsic-dim.js';
import { knnLogDensity } from './density.js';
import { knnExact } from './knn.js';
import type { Matrix, Metric, Neighbours } from './matrix.js';

export interface Saddle {
  /** The two clusters (a < b, final cluster ids). */
  a: number;
  b: number;
  /** Data row of the saddle point, its log density and error. */
  point: number;
  logDen: number;
  logDenErr: number;
}

export interface AdpResult {
  /** Cluster of each point, 0..nClusters-1 (-1 for halo points when halo was asked for). */
  labels: Int32Array;
  nClusters: number;
  /** Data row of each cluster's density peak. */
  centers: number[];
  /** Saddles between the final clusters that touch. */
  saddles: Saddle[];
  /** Clusters before the merging test. */
  nPutative: number;
}

export interface AdpCoreOptions {
  /** Neighbourhood for the centre test and the border search (the density's k). */
  k: number;
  /** Merging threshold (paper revision: 1.65). */
  Z?: number;
  /** Mark points below their cluster's densest saddle as halo (-1). Default false. */
  halo?: boolean;
}

/** ADP from neighbour lists and a precomputed log-density with its errors. */
export function adpFromDensity(nb: Neighbours, logDen: Float64Array, logDenErr: Float64Array, opts: AdpCoreOptions): AdpResult {
  const N = nb.n;
  const K = nb.k;
  const k = opts.k;
  const Z = opts.Z ?? 1.65;
  if (nb.queryRows) throw new UserError('ADP: needs the neighbour lists of every point, got a sample of query rows.');
  if (!Number.isInteger(k) || k < 1 || k > K) throw new UserError(`ADP: k must be an integer in 1..${K} (the lists' length), got ${k}.`);
  if (logDen.length !== N || logDenErr.length !== N) throw new UserError(`ADP: expected ${N} log densities and errors, got ${logDen.length} and ${logDenErr.length}.`);
  if (!(Z >= 0)) throw new UserError(`ADP: Z must be a non-negative number, got ${Z}.`);
  const idx = nb.indices;
  const g = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    g[i] = (logDen[i] as number) - (logDenErr[i] as number);
    if (!Number.isFinite(g[i] as number)) throw new UserError(`ADP: log density of point ${i} is not finite.`);
  }

  // 1-2. putative centres, then drop those inside the neighbourhood of a denser point
  const putative = new Uint8Array(N);
  for (let i = 0; i < N; i++) {
    let top = 1;
    for (let t = 0; t < k; t++) if ((g[idx[i * K + t] as number] as number) > (g[i] as number)) { top = 0; break; }
    putative[i] = top;
  }
  const witness = new Int32Array(N).fill(-1);
  for (let i = 0; i < N; i++) {
    for (let t = 0; t < k; t++) {
      const j = idx[i * K + t] as number;
      if (putative[j] && (g[i] as number) > (g[j] as number) && (witness[j] === -1 || (g[i] as number) > (g[witness[j] as number] as number))) witness[j] = i;
    }
  }
  const cluster = new Int32Array(N).fill(-1);
  const centre: number[] = [];
  for (let i = 0; i < N; i++) if (putative[i] && witness[i] === -1) { cluster[i] = centre.length; centre.push(i); }
  const nPutative = centre.length;

  // 3. assignment in order of decreasing g
  const order = Array.from({ length: N }, (_, i) => i).sort((a, b) => (g[b] as number) - (g[a] as number) || a - b);
  for (const p of order) {
    if (cluster[p] !== -1) continue;
    for (let t = 0; t < K && cluster[p] === -1; t++) cluster[p] = cluster[idx[p * K + t] as number] as number;
    if (cluster[p] !== -1) continue;
    let best = witness[p] as number;
    for (let t = 0; t < K; t++) {
      const w = witness[idx[p * K + t] as number] as number;
      if (w !== -1 && (best === -1 || (g[w] as number) > (g[best] as number))) best = w;
    }
    if (best === -1 || cluster[best] === -1) throw new Error(`ADP: point ${p} could not be assigned (internal error).`);
    cluster[p] = cluster[best] as number;
  }

  // 4. saddles: one per touching pair, the border point with the highest g
  const isCentre = new Uint8Array(N);
  for (const c of centre) isCentre[c] = 1;
  const adj: Map<number, Saddle>[] = centre.map(() => new Map());
  for (let p = 0; p < N; p++) {
    if (isCentre[p]) continue;
    const c = cluster[p] as number;
    let q = -1;
    for (let t = 0; t < k; t++) {
      const j = idx[p * K + t] as number;
      if (cluster[j] !== c) { q = j; break; }
    }
    if (q === -1) continue;
    let border = true;
    for (let t = 0; t < K; t++) {
      const o = idx[q * K + t] as number;
      if (o === p) break;
      if (cluster[o] === c) { border = false; break; }
    }
    if (!border) continue;
    const cq = cluster[q] as number;
    const prev = adj[c]!.get(cq);
    if (!prev || (g[p] as number) > (g[prev.point] as number)) {
      const s: Saddle = { a: Math.min(c, cq), b: Math.max(c, cq), point: p, logDen: logDen[p] as number, logDenErr: logDenErr[p] as number };
      adj[c]!.set(cq, s);
      adj[cq]!.set(c, s);
    }
  }

  // 5. merging, densest failing saddle first
  const rc = centre.map((p) => logDen[p] as number);
  const ec = centre.map((p) => logDenErr[p] as number);
  const alive = centre.map(() => true);
  const parent = centre.map((_, i) => i);
  for (;;) {
    let best: Saddle | null = null;
    for (let a = 0; a < centre.length; a++) {
      if (!alive[a]) continue;
      for (const [b, s] of adj[a]!) {
        if (b < a) continue;
        const fails = (rc[a] as number) - s.logDen < Z * ((ec[a] as number) + s.logDenErr) || (rc[b] as number) - s.logDen < Z * ((ec[b] as number) + s.logDenErr);
        if (fails && (!best || s.logDen > best.logDen || (s.logDen === best.logDen && (s.a < best.a || (s.a === best.a && s.b < best.b))))) best = s;
      }
    }
    if (!best) break;
    let keep = best.a;
    let drop = best.b;
    const c1 = ((rc[keep] as number) - best.logDen) / ((ec[keep] as number) + best.logDenErr);
    const c2 = ((rc[drop] as number) - best.logDen) / ((ec[drop] as number) + best.logDenErr);
    if (c1 < c2) [keep, drop] = [drop, keep];
    alive[drop] = false;
    parent[drop] = keep;
    adj[keep]!.delete(drop);
    adj[drop]!.delete(keep);
    for (const [x, s] of adj[drop]!) {
      adj[x]!.delete(drop);
      const mine = adj[keep]!.get(x);
      if (!mine || mine.logDen < s.logDen) {
        const ns: Saddle = { a: Math.min(keep, x), b: Math.max(keep, x), point: s.point, logDen: s.logDen, logDenErr: s.logDenErr };
        adj[keep]!.set(x, ns);
        adj[x]!.set(keep, ns);
      }
    }
    adj[drop]!.clear();
  }

  // final labels, in order of the surviving putative clusters
  const root = (c: number): number => { while (parent[c] !== c) c = parent[c] as number; return c; };
  const finalId = new Int32Array(centre.length).fill(-1);
  const centers: number[] = [];
  for (let c = 0; c < centre.length; c++) if (alive[c]) { finalId[c] = centers.length; centers.push(centre[c] as number); }
  const labels = new Int32Array(N);
  for (let p = 0; p < N; p++) labels[p] = finalId[root(cluster[p] as number)] as number;
  const saddles: Saddle[] = [];
  const haloCut = new Float64Array(centers.length).fill(-Infinity);
  for (let a = 0; a < centre.length; a++) {
    if (!alive[a]) continue;
    for (const [b, s] of adj[a]!) {
      const fa = finalId[a] as number, fb = finalId[b] as number;
      haloCut[fa] = Math.max(haloCut[fa] as number, s.logDen);
      if (b > a) saddles.push({ ...s, a: Math.min(fa, fb), b: Math.max(fa, fb) });
    }
  }
  if (opts.halo) for (let p = 0; p < N; p++) if ((logDen[p] as number) < (haloCut[labels[p] as number] as number)) labels[p] = -1;
  return { labels, nClusters: centers.length, centers, saddles, nPutative };
}

export interface AdpOptions extends Partial<AdpCoreOptions> {
  /** Intrinsic dimension for the density (default: Gride(8,16) on the same lists). */
  id?: number;
}

export interface AdpFullResult extends AdpResult {
  id: number;
  logDen: Float64Array;
  logDenErr: Float64Array;
}

/** ADP with the kNN density (E2): k = 16, Z = 1.65 by default, ID by Gride(8,16) unless given. */
export function adpFromNeighbours(nb: Neighbours, opts: AdpOptions = {}): AdpFullResult {
  const k = opts.k ?? 16;
  const id = opts.id ?? gride(nb, 8, 16).id;
  const dens = knnLogDensity(nb, { k, id });
  const r = adpFromDensity(nb, dens.logDen, dens.logDenErr, { k, Z: opts.Z ?? 1.65, halo: opts.halo ?? false });
  return { ...r, id, logDen: dens.logDen, logDenErr: dens.logDenErr };
}

/**
 * ADP on raw vectors: exact kNN (maxk columns, default max(2k, 16)), then adpFromNeighbours. The
 * default metric is the paper revision's cosine distance (1 - cos, as DADApy/sklearn): its small-scale
 * behaviour is quadratic, so the ID it yields is about half the manifold's, and the density uses that
 * ID consistently (the same clustering as unit-sphere Euclidean up to constants).
 */
export async function adp(x: Matrix, opts: AdpOptions & { metric?: Metric; maxk?: number } = {}): Promise<AdpFullResult> {
  const k = opts.k ?? 16;
  const maxk = Math.min(x.n - 1, opts.maxk ?? Math.max(2 * k, 16));
  const nb = await knnExact(x, { k: maxk, metric: opts.metric ?? 'cosine' });
  return adpFromNeighbours(nb, opts);
}
