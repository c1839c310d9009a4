/**
 * Analysis and metric benchmarks against their Python peers:
 *  - neighbourhood overlap (k = 30) with HNSW (build + search + overlap), its recall@30 against the
 *    numpy peer's exact neighbours of every point, vs exact brute-force kNN in numpy (bench/peer_knn.py);
 *  - CIDEr-D over images x 5 references vs a plain-Python re-implementation of pycocoevalcap's
 *    cider_scorer (bench/peer_cider.py); both scores are reported and must agree.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildHnsw, hnswKnn } from '../src/analysis/hnsw.js';
import { knnRecall } from '../src/analysis/knn.js';
import { overlapFromNeighbours } from '../src/analysis/overlap.js';
import type { Neighbours } from '../src/analysis/matrix.js';
import { ciderD } from '../src/metrics/cider.js';
import { gaussian, now, runPeer, xorshift, type BenchSettings } from './common.js';

/**
 * n points in 256-d with 10 class labels, shaped like layer activations: class centres plus a
 * 24-dimensional latent spread through a random projection, plus small isotropic noise. (Isotropic
 * noise in 256-d is HNSW's hard case and unlike activations; STACK.md.)
 */
export function overlapData(n: number, d: number, seed: number): { x: Float32Array; labels: Int32Array } {
  const g = gaussian(xorshift(seed));
  const C = 10, Z = 24;
  const centres = Float32Array.from({ length: C * d }, () => g() * 0.6);
  const proj = Float32Array.from({ length: Z * d }, () => g() / Math.sqrt(Z));
  const x = new Float32Array(n * d), labels = new Int32Array(n);
  const z = new Float32Array(Z);
  for (let i = 0; i < n; i++) {
    const c = i % C;
    labels[i] = c;
    for (let j = 0; j < Z; j++) z[j] = g();
    for (let t = 0; t < d; t++) {
      let v = (centres[c * d + t] as number) + g() * 0.05;
      for (let j = 0; j < Z; j++) v += (z[j] as number) * (proj[j * d + t] as number);
      x[i * d + t] = v;
    }
  }
  return { x, labels };
}

export interface OverlapBench {
  n: number;
  d: number;
  k: number;
  hnsw: { M: number; efConstruction: number; ef: number; buildS: number; searchS: number; totalS: number; overlap: number; recall: number | null };
  peer: { ok: boolean; s?: number; overlap?: number; blas_threads?: number; error?: string };
}

/**
 * HNSW settings per size: the cheapest of those tried that reach recall@30 >= 0.95 on this data
 * (20k: M 16 / efC 40 / ef 48 gave 0.97; 50k needed M 24 / efC 60 / ef 64 for 0.985; see ANALYSIS.md).
 */
export function hnswParams(n: number): { M: number; efConstruction: number; ef: number } {
  return n <= 20000 ? { M: 16, efConstruction: 40, ef: 48 } : { M: 24, efConstruction: 60, ef: 64 };
}

export async function benchOverlap(set: BenchSettings, n: number): Promise<OverlapBench> {
  const d = 256, k = 30;
  const { x, labels } = overlapData(n, d, 1000 + n);
  const xPath = join(set.tmp, `knn-${n}.f32`), yPath = join(set.tmp, `knn-${n}.labels`), nbPath = join(set.tmp, `knn-${n}.nb`);
  writeFileSync(xPath, x);
  writeFileSync(yPath, labels);
  const job = join(set.tmp, `knn-${n}.json`);
  writeFileSync(job, JSON.stringify({ x: xPath, labels: yPath, n, d, k, out: nbPath }));
  const peer = runPeer(set, 'peer_knn.py', job, 1800, { OPENBLAS_NUM_THREADS: String(set.workers) });
  const m = { data: x, n, d };
  const t0 = now();
  const hp = hnswParams(n);
  const idx = buildHnsw(m, { M: hp.M, efConstruction: hp.efConstruction, seed: 100 });
  const t1 = now();
  const nb = hnswKnn(idx, m, { k, ef: hp.ef });
  const ov = overlapFromNeighbours(nb, labels, k);
  const t2 = now();
  let recall: number | null = null;
  if (peer.ok) {
    const exactIdx = new Int32Array(readFileSync(nbPath).buffer.slice(0));
    const exact: Neighbours = { n, k, indices: exactIdx, distances: new Float64Array(n * k), metric: 'euclidean', queryRows: null };
    recall = knnRecall(nb, exact);
  }
  return {
    n, d, k,
    hnsw: { ...hp, buildS: t1 - t0, searchS: t2 - t1, totalS: t2 - t0, overlap: ov.value, recall },
    peer: peer.ok ? { ok: true, s: peer.s as number, overlap: peer.overlap as number, blas_threads: set.workers } : { ok: false, error: peer.error },
  };
}

const WORDS = ('a an the red blue green yellow purple orange small large tiny big circle square triangle star ' +
  'on of in next to above below left right near with and two three one shape shapes picture image shows ' +
  'there is are some dark light bright round sharp corner center top bottom middle').split(' ');

/** Seeded captions: references share a per-image topic, candidates are noisy variants of it. */
export function ciderData(images: number, refs: number, seed: number): { candidates: string[]; references: string[][] } {
  const u = xorshift(seed);
  const word = () => WORDS[Math.floor(u() * WORDS.length)] as string;
  const candidates: string[] = [], references: string[][] = [];
  for (let i = 0; i < images; i++) {
    const topic = Array.from({ length: 6 }, word);
    const caption = () => {
      const len = 6 + Math.floor(u() * 8);
      return Array.from({ length: len }, () => (u() < 0.6 ? (topic[Math.floor(u() * topic.length)] as string) : word())).join(' ');
    };
    references.push(Array.from({ length: refs }, caption));
    candidates.push(caption());
  }
  return { candidates, references };
}

export interface CiderBench {
  images: number;
  refs: number;
  s: number;
  score: number;
  peer: { ok: boolean; s?: number; score?: number; error?: string };
}

export async function benchCider(set: BenchSettings): Promise<CiderBench> {
  const images = set.quick ? 500 : 5000, refs = 5;
  const { candidates, references } = ciderData(images, refs, 77);
  const job = join(set.tmp, 'cider.json');
  writeFileSync(job, JSON.stringify({ candidates, references }));
  const peer = runPeer(set, 'peer_cider.py', job);
  ciderD(candidates.slice(0, 50), references.slice(0, 50)); // warm the JIT a little
  const runs: number[] = [];
  let score = 0;
  for (let r = 0; r < Math.max(1, Math.min(3, set.reps)); r++) {
    const t0 = now();
    score = ciderD(candidates, references).score;
    runs.push(now() - t0);
  }
  runs.sort((a, b) => a - b);
  return {
    images, refs, s: runs[runs.length >> 1] as number, score,
    peer: peer.ok ? { ok: true, s: peer.s as number, score: peer.score as number } : { ok: false, error: peer.error },
  };
}
