/**
 * k-means over image patches, and the image tokenizer built on its codebook.
 *
 * Fitting: k-means++ initialisation (seeded Rng, on a subsample of at most `initSample` points),
 * then Lloyd iterations. The assignment step is batched on the tfjs backend: ||x - e||^2 =
 * ||x||^2 + ||e||^2 - 2 x.e, with the norm of e folded into one plain 2-D matmul (wasm's fast path);
 * the update step (per-cluster means) runs in plain JS. An empty cluster is re-seeded with the point
 * farthest from its centre. Stops when no assignment changes or after `iters` iterations.
 *
 * Saved as image_tokenizer.json {type: "narrowgate-kmeans", version: 1, imageSize, channels,
 * patchSize, numCodes} + image_tokenizer.safetensors {codebook: F32 [K, p*p*C]} (values in [0, 1]).
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { Rng } from '../util/rng.js';
import { encodeSafetensors } from '../model/safetensors.js';
import {
  IMAGE_TOKENIZER_CONFIG, IMAGE_TOKENIZER_WEIGHTS, checkImages, patchify, unpatchify,
  type ImageBatch, type ImageTokenizer,
} from './image.js';

export interface KMeansOptions {
  numCodes: number;
  /** Maximum Lloyd iterations (default 20). */
  iters?: number;
  seed?: number;
  /** k-means++ runs on at most this many points (default 20000). */
  initSample?: number;
  /** Points per assignment matmul (default 4096). */
  chunk?: number;
}

export interface KMeansResult {
  /** [K, dim] */
  centroids: Float32Array;
  /** Nearest centroid of every point. */
  assignments: Int32Array;
  /** Mean squared distance of the points to their centroids. */
  meanSqDist: number;
  iterations: number;
}

/**
 * Nearest centroid of every point (and the squared distance), batched through a tfjs matmul.
 * argmin_k ||x - e_k||^2 = argmax_k (x.e_k - ||e_k||^2 / 2): with x augmented by a constant 1 and the
 * transposed codebook by a row of -||e_k||^2 / 2, one plain 2-D matmul gives the scores (no broadcasts);
 * the distance is ||x||^2 - 2 * max score.
 */
export async function assignNearest(points: Float32Array, dim: number, centroids: Float32Array, chunk = 4096): Promise<{ idx: Int32Array; dist: Float32Array }> {
  const n = points.length / dim;
  const K = centroids.length / dim;
  const D1 = dim + 1;
  const cAug = new Float32Array(D1 * K);
  for (let k = 0; k < K; k++) {
    let norm = 0;
    for (let d = 0; d < dim; d++) {
      const v = centroids[k * dim + d] as number;
      cAug[d * K + k] = v;
      norm += v * v;
    }
    cAug[dim * K + k] = -0.5 * norm;
  }
  const cT = tf.tensor2d(cAug, [D1, K]);
  const idx = new Int32Array(n);
  const dist = new Float32Array(n);
  try {
    for (let s = 0; s < n; s += chunk) {
      const m = Math.min(chunk, n - s);
      const xAug = new Float32Array(m * D1);
      const xx = new Float64Array(m);
      for (let i = 0; i < m; i++) {
        let norm = 0;
        for (let d = 0; d < dim; d++) {
          const v = points[(s + i) * dim + d] as number;
          xAug[i * D1 + d] = v;
          norm += v * v;
        }
        xAug[i * D1 + dim] = 1;
        xx[i] = norm;
      }
      const [best, score] = tf.tidy(() => {
        const sc = tf.matMul(tf.tensor2d(xAug, [m, D1]), cT);
        return [tf.argMax(sc, 1), tf.max(sc, 1)];
      });
      idx.set((await best.data()) as Int32Array, s);
      const sv = (await score.data()) as Float32Array;
      for (let i = 0; i < m; i++) dist[s + i] = Math.max(0, (xx[i] as number) - 2 * (sv[i] as number));
      best.dispose();
      score.dispose();
    }
  } finally {
    cT.dispose();
  }
  return { idx, dist };
}

function sqDist(a: Float32Array, ai: number, b: Float32Array, bi: number, dim: number): number {
  let s = 0;
  for (let k = 0; k < dim; k++) {
    const d = (a[ai + k] as number) - (b[bi + k] as number);
    s += d * d;
  }
  return s;
}

/** k-means++ seeding on (a subsample of) the points. */
function kmeansPlusPlus(points: Float32Array, dim: number, K: number, rng: Rng, sample: number): Float32Array {
  const n = points.length / dim;
  const rows = n > sample ? rng.sample(n, sample) : Array.from({ length: n }, (_, i) => i);
  const S = rows.length;
  const c = new Float32Array(K * dim);
  const minD = new Float64Array(S).fill(Infinity);
  let pick = rows[rng.int(S)] as number;
  for (let k = 0; k < K; k++) {
    c.set(points.subarray(pick * dim, (pick + 1) * dim), k * dim);
    let total = 0;
    for (let j = 0; j < S; j++) {
      const d = sqDist(points, (rows[j] as number) * dim, c, k * dim, dim);
      if (d < (minD[j] as number)) minD[j] = d;
      total += minD[j] as number;
    }
    if (k === K - 1) break;
    // next centre with probability proportional to D(x)^2 (uniform when all points are covered)
    let r = rng.next() * total;
    let chosen = rows[rng.int(S)] as number;
    if (total > 0) {
      for (let j = 0; j < S; j++) {
        r -= minD[j] as number;
        if (r <= 0 && (minD[j] as number) > 0) { chosen = rows[j] as number; break; }
      }
    }
    pick = chosen;
  }
  return c;
}

/** Fits K centroids to `points` ([n, dim] row-major). Needs n >= K. */
export async function kmeans(points: Float32Array, dim: number, opts: KMeansOptions): Promise<KMeansResult> {
  const K = opts.numCodes;
  const n = points.length / dim;
  if (!Number.isInteger(n) || n < K) throw new UserError(`k-means with ${K} codes needs at least ${K} points of dimension ${dim}; got ${points.length / dim}.`);
  const rng = new Rng(opts.seed ?? 0);
  const centroids = kmeansPlusPlus(points, dim, K, rng, opts.initSample ?? 20000);
  let assignments: Int32Array = new Int32Array(n).fill(-1);
  let meanSqDist = Infinity;
  let it = 0;
  for (; it < (opts.iters ?? 20); it++) {
    const { idx, dist } = await assignNearest(points, dim, centroids, opts.chunk);
    meanSqDist = dist.reduce((a, b) => a + b, 0) / n;
    let changed = 0;
    for (let i = 0; i < n; i++) if (idx[i] !== assignments[i]) changed++;
    assignments = idx;
    if (changed === 0) break;
    const sums = new Float64Array(K * dim);
    const counts = new Int32Array(K);
    for (let i = 0; i < n; i++) {
      const k = idx[i] as number;
      counts[k]! += 1;
      for (let d = 0; d < dim; d++) sums[k * dim + d]! += points[i * dim + d] as number;
    }
    const taken = new Set<number>();
    for (let k = 0; k < K; k++) {
      if ((counts[k] as number) > 0) {
        for (let d = 0; d < dim; d++) centroids[k * dim + d] = (sums[k * dim + d] as number) / (counts[k] as number);
        continue;
      }
      // empty cluster: re-seed with the farthest point not used for another re-seed
      let far = -1;
      for (let i = 0; i < n; i++) if (!taken.has(i) && (far < 0 || (dist[i] as number) > (dist[far] as number))) far = i;
      taken.add(far);
      centroids.set(points.subarray(far * dim, (far + 1) * dim), k * dim);
    }
  }
  return { centroids, assignments, meanSqDist, iterations: it };
}

export interface KMeansTokenizerConfig {
  imageSize: number;
  channels: number;
  patchSize: number;
  numCodes: number;
}

export class KMeansImageTokenizer implements ImageTokenizer {
  readonly type = 'narrowgate-kmeans';
  readonly imageSize: number;
  readonly channels: number;
  readonly patchSize: number;
  readonly gridSize: number;
  readonly numCodes: number;

  constructor(config: KMeansTokenizerConfig, readonly codebook: Float32Array) {
    this.imageSize = config.imageSize;
    this.channels = config.channels;
    this.patchSize = config.patchSize;
    this.numCodes = config.numCodes;
    if (!(this.imageSize > 0 && this.patchSize > 0 && this.imageSize % this.patchSize === 0)) {
      throw new UserError(`Image size ${this.imageSize} is not a positive multiple of patch size ${this.patchSize}.`);
    }
    this.gridSize = this.imageSize / this.patchSize;
    if (codebook.length !== this.numCodes * this.patchDim) {
      throw new UserError(`The codebook holds ${codebook.length} values; expected ${this.numCodes} x ${this.patchDim}.`);
    }
  }

  get patchDim(): number {
    return this.patchSize * this.patchSize * this.channels;
  }

  /** Fits the codebook on the patches of `images` ([B, S, S, C]). */
  static async fit(images: ImageBatch, patchSize: number, opts: KMeansOptions): Promise<{ tokenizer: KMeansImageTokenizer; result: KMeansResult }> {
    const [, H, , C] = images.shape;
    const patches = patchify(images, patchSize);
    const result = await kmeans(patches, patchSize * patchSize * C, opts);
    const tokenizer = new KMeansImageTokenizer({ imageSize: H, channels: C, patchSize, numCodes: opts.numCodes }, result.centroids);
    return { tokenizer, result };
  }

  async encode(images: ImageBatch): Promise<Int32Array> {
    checkImages(images, this.imageSize, this.channels);
    return (await assignNearest(patchify(images, this.patchSize), this.patchDim, this.codebook)).idx;
  }

  async decode(codes: ArrayLike<number>): Promise<ImageBatch> {
    const N = this.gridSize * this.gridSize;
    const D = this.patchDim;
    if (codes.length % N !== 0) throw new UserError(`${codes.length} codes are not a whole number of images of ${N} codes.`);
    const B = codes.length / N;
    const patches = new Float32Array(codes.length * D);
    for (let i = 0; i < codes.length; i++) {
      const c = codes[i] as number;
      if (!Number.isInteger(c) || c < 0 || c >= this.numCodes) throw new UserError(`Image code ${c} is outside [0, ${this.numCodes}).`);
      patches.set(this.codebook.subarray(c * D, (c + 1) * D), i * D);
    }
    const data = unpatchify(patches, B, this.gridSize, this.patchSize, this.channels);
    return { data, shape: [B, this.imageSize, this.imageSize, this.channels] };
  }

  async save(dir: string): Promise<void> {
    const config = { type: this.type, version: 1, imageSize: this.imageSize, channels: this.channels, patchSize: this.patchSize, numCodes: this.numCodes };
    await writeFileAtomic(join(dir, IMAGE_TOKENIZER_WEIGHTS), encodeSafetensors([{ name: 'codebook', shape: [this.numCodes, this.patchDim], data: this.codebook }]));
    await writeFileAtomic(join(dir, IMAGE_TOKENIZER_CONFIG), JSON.stringify(config, null, 1) + '\n');
  }

  /** Holds no tensors (the codebook is a plain array); present for the interface. */
  dispose(): void {}
}
