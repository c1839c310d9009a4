/**
 * Approximate neighbours with HNSW (hnswlib-node 3: synchronous, number[] only). An index is built
 * once per matrix, saved next to the activations (the index file plus a JSON sidecar with its
 * parameters and a fingerprint of the data, so a stale index is refused), and every use of its
 * neighbours comes with recall@k against exact kNN on a sample (approximate neighbours bias the
 * overlap downwards: E4).
 */
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import hnswlib from 'hnswlib-node';
import { UserError } from '../util/errors.js';
import { tempSibling, writeFileAtomicSync } from '../util/fs.js';
import { Rng } from '../util/rng.js';
import { knnExact, knnRecall } from './knn.js';
import { checkMatrix, type Matrix, type Metric, type Neighbours } from './matrix.js';

export interface HnswBuildOptions {
  metric?: Metric;
  /** Graph degree (default 16). */
  M?: number;
  /** Candidate list size while building (default 200). */
  efConstruction?: number;
  seed?: number;
}

export interface HnswIndex {
  index: hnswlib.HierarchicalNSW;
  metric: Metric;
  n: number;
  d: number;
  M: number;
  efConstruction: number;
  seed: number;
  /** FNV-1a hash of the data the index was built on. */
  fingerprint: string;
}

/** FNV-1a (32-bit) over the float bits and the shape: cheap identity of a matrix. */
export function fingerprint(x: Matrix): string {
  const words = new Uint32Array(x.data.buffer, x.data.byteOffset, x.data.length);
  let h = 0x811c9dc5 ^ x.n ^ Math.imul(x.d, 0x9e3779b1);
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ (words[i] as number), 0x01000193);
  return `${x.n}x${x.d}:${(h >>> 0).toString(16).padStart(8, '0')}`;
}

const SPACE: Record<Metric, 'l2' | 'cosine'> = { euclidean: 'l2', cosine: 'cosine' };

export function buildHnsw(x: Matrix, opts: HnswBuildOptions = {}): HnswIndex {
  checkMatrix(x, 'buildHnsw data');
  const metric = opts.metric ?? 'euclidean';
  const M = opts.M ?? 16;
  const efConstruction = opts.efConstruction ?? 200;
  const seed = opts.seed ?? 100;
  if (!(Number.isInteger(M) && M >= 2)) throw new UserError(`buildHnsw: M must be an integer >= 2, got ${M}.`);
  if (!(Number.isInteger(efConstruction) && efConstruction >= 1)) throw new UserError(`buildHnsw: efConstruction must be a positive integer, got ${efConstruction}.`);
  const index = new hnswlib.HierarchicalNSW(SPACE[metric], x.d);
  index.initIndex(Math.max(1, x.n), M, efConstruction, seed);
  for (let i = 0; i < x.n; i++) index.addPoint(Array.from(x.data.subarray(i * x.d, (i + 1) * x.d)), i);
  return { index, metric, n: x.n, d: x.d, M, efConstruction, seed, fingerprint: fingerprint(x) };
}

/** k approximate neighbours of data rows (self excluded), distances in the metric's units. */
export function hnswKnn(idx: HnswIndex, x: Matrix, opts: { k: number; ef?: number; queryRows?: ArrayLike<number> }): Neighbours {
  checkMatrix(x, 'hnswKnn data');
  if (x.n !== idx.n || x.d !== idx.d) throw new UserError(`hnswKnn: the index holds ${idx.n} x ${idx.d} vectors, the data are ${x.n} x ${x.d}.`);
  const k = opts.k;
  if (!Number.isInteger(k) || k < 1 || k > x.n - 1) throw new UserError(`hnswKnn: k must be an integer in 1..${x.n - 1}, got ${k}.`);
  const ef = opts.ef ?? Math.max(100, k + 1);
  idx.index.setEf(Math.max(ef, k + 1));
  const rows = opts.queryRows ? Int32Array.from(opts.queryRows) : null;
  const nq = rows ? rows.length : x.n;
  const indices = new Int32Array(nq * k);
  const distances = new Float64Array(nq * k);
  for (let r = 0; r < nq; r++) {
    const self = rows ? (rows[r] as number) : r;
    if (!(self >= 0 && self < x.n)) throw new UserError(`hnswKnn: query row ${self} is outside 0..${x.n - 1}.`);
    const res = idx.index.searchKnn(Array.from(x.data.subarray(self * x.d, (self + 1) * x.d)), k + 1);
    const cand = res.neighbors
      .map((j, t) => ({ j, dist: idx.metric === 'euclidean' ? Math.sqrt(Math.max(0, res.distances[t] as number)) : (res.distances[t] as number) }))
      .filter((c) => c.j !== self)
      .sort((a, b) => a.dist - b.dist || a.j - b.j);
    if (cand.length < k) throw new UserError(`hnswKnn: the index returned ${cand.length} neighbours for row ${self}, fewer than k = ${k}; raise ef.`);
    for (let t = 0; t < k; t++) {
      indices[r * k + t] = (cand[t] as { j: number }).j;
      distances[r * k + t] = Math.max(0, (cand[t] as { dist: number }).dist);
    }
  }
  return { n: nq, k, indices, distances, metric: idx.metric, queryRows: rows };
}

/** recall@k of approximate lists (all rows) against exact kNN on a seeded sample of rows. */
export async function sampledRecall(x: Matrix, approx: Neighbours, opts: { k?: number; sample?: number; seed?: number } = {}): Promise<{ recall: number; sample: number }> {
  const k = opts.k ?? approx.k;
  const m = Math.min(x.n, opts.sample ?? 500);
  const rows = new Rng(opts.seed ?? 1).sample(x.n, m).sort((a, b) => a - b);
  const exact = await knnExact(x, { k, metric: approx.metric, queryRows: rows });
  return { recall: knnRecall(approx, exact), sample: m };
}

/** The parameters of an index, saved beside it: everything in HnswIndex but the native object. */
type Sidecar = { format: 'narrowgate-hnsw'; version: 1 } & Omit<HnswIndex, 'index'>;

/** Writes the index to `path` and its parameters to `path + '.json'`, each atomically. */
export function saveHnsw(idx: HnswIndex, path: string): void {
  const tmp = tempSibling(path);
  try {
    idx.index.writeIndexSync(tmp);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  const meta: Sidecar = { format: 'narrowgate-hnsw', version: 1, metric: idx.metric, n: idx.n, d: idx.d, M: idx.M, efConstruction: idx.efConstruction, seed: idx.seed, fingerprint: idx.fingerprint };
  writeFileAtomicSync(`${path}.json`, JSON.stringify(meta, null, 2) + '\n');
}

/** Loads an index saved by saveHnsw; with `data`, refuses an index built on other vectors. */
export function loadHnsw(path: string, data?: Matrix): HnswIndex {
  if (!existsSync(path) || !existsSync(`${path}.json`)) throw new UserError(`loadHnsw: expected ${path} and ${path}.json (written by saveHnsw).`);
  let meta: Sidecar;
  try {
    meta = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as Sidecar;
  } catch {
    throw new UserError(`loadHnsw: ${path}.json is not valid JSON.`);
  }
  if (meta.format !== 'narrowgate-hnsw' || meta.version !== 1) throw new UserError(`loadHnsw: ${path}.json is not a narrowgate HNSW sidecar (version 1).`);
  if (data && fingerprint(data) !== meta.fingerprint) {
    throw new UserError(`loadHnsw: ${path} was built on other vectors (${meta.fingerprint}), the data are ${fingerprint(data)}; rebuild the index.`);
  }
  const index = new hnswlib.HierarchicalNSW(SPACE[meta.metric], meta.d);
  index.readIndexSync(path);
  if (index.getCurrentCount() !== meta.n) throw new UserError(`loadHnsw: ${path} holds ${index.getCurrentCount()} vectors, its sidecar says ${meta.n}.`);
  return { index, metric: meta.metric, n: meta.n, d: meta.d, M: meta.M, efConstruction: meta.efConstruction, seed: meta.seed, fingerprint: meta.fingerprint };
}
