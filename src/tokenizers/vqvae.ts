/**
 * A VQ-VAE image tokenizer that trains on the wasm backend: everything is per patch, so the encoder
 * and decoder are MLPs over flattened p x p x C patches (2-D matmuls through src/model/ops.ts, no
 * convolution backprop), and quantisation is a one-hot matmul against the codebook (no gather
 * gradient, which wasm lacks).
 *
 *   z   = W2 relu(W1 x + b1) + b2                    encoder, x in [0, 1]^(p*p*C), z in R^e
 *   k   = argmin_k ||z - E_k||^2                     via ||z||^2 + ||E||^2 - 2 z.E
 *   z_q = onehot(k) E ;  straight-through: z + sg(z_q - z) goes to the decoder
 *   x^  = V2 relu(V1 z_st + c1) + c2                 decoder
 *   loss = mse(x^, x) + mse(sg(z), z_q) + beta * mse(z, sg(z_q))
 * With `ema: true` the codebook is not trained by gradient: the codebook term is dropped and E is
 * updated by exponential moving averages of the assigned encoder outputs (van den Oord et al. 2017).
 *
 * Saved as image_tokenizer.json {type: "narrowgate-vqvae", version: 1, ...VqVaeConfig} +
 * image_tokenizer.safetensors (enc.w1 enc.b1 enc.w2 enc.b2 codebook dec.w1 dec.b1 dec.w2 dec.b2,
 * and ema.cluster_size ema.embed_sum when ema is on). Optimizer state is not saved.
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { Rng } from '../util/rng.js';
import { encodeSafetensors, type NamedArray } from '../model/safetensors.js';
import { linear, matMul2d } from '../model/ops.js';
import {
  IMAGE_TOKENIZER_CONFIG, IMAGE_TOKENIZER_WEIGHTS, checkImages, patchify, unpatchify,
  type ImageBatch, type ImageTokenizer,
} from './image.js';

export interface VqVaeConfig {
  imageSize: number;
  channels: number;
  patchSize: number;
  numCodes: number;
  /** Hidden width of the encoder and decoder MLPs. */
  hidden: number;
  /** Dimension e of the latents and codebook vectors. */
  latentDim: number;
  /** Commitment weight (default 0.25). */
  beta?: number;
  /**
   * EMA codebook updates instead of the codebook loss (default true: on tiny data the gradient-trained
   * codebook lagged behind the encoder and the commitment distance grew; EMA did not).
   */
  ema?: boolean;
  emaDecay?: number;
  /**
   * EMA mode: a code whose moving-average usage per batch falls below this is restarted at a random
   * encoder output of the current batch (Jukebox-style; default 1, 0 disables). Without it most
   * codes of a 256-code book went unused on shapes scenes.
   */
  deadCodeThreshold?: number;
  /** Adam learning rate (default 1e-3). */
  lr?: number;
  seed?: number;
}

/** Identity forward, zero gradient (tfjs has no stop_gradient op). */
const stopGradient = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => [tf.zerosLike(dy)],
})) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

export function vqvaeShapes(c: VqVaeConfig): Map<string, number[]> {
  const D = c.patchSize * c.patchSize * c.channels;
  const m = new Map<string, number[]>([
    ['enc.w1', [D, c.hidden]], ['enc.b1', [c.hidden]], ['enc.w2', [c.hidden, c.latentDim]], ['enc.b2', [c.latentDim]],
    ['codebook', [c.numCodes, c.latentDim]],
    ['dec.w1', [c.latentDim, c.hidden]], ['dec.b1', [c.hidden]], ['dec.w2', [c.hidden, D]], ['dec.b2', [D]],
  ]);
  if (c.ema ?? true) {
    m.set('ema.cluster_size', [c.numCodes]);
    m.set('ema.embed_sum', [c.numCodes, c.latentDim]);
  }
  return m;
}

export class VqVae implements ImageTokenizer {
  readonly type = 'narrowgate-vqvae';
  readonly config: Required<VqVaeConfig>;
  readonly gridSize: number;
  private readonly v: Map<string, tf.Variable>;
  private optimizer: tf.Optimizer | null = null;
  private readonly restartRng: Rng;

  private constructor(config: VqVaeConfig, weights: Map<string, Float32Array>) {
    this.config = {
      imageSize: config.imageSize, channels: config.channels, patchSize: config.patchSize, numCodes: config.numCodes,
      hidden: config.hidden, latentDim: config.latentDim, beta: config.beta ?? 0.25, ema: config.ema ?? true,
      emaDecay: config.emaDecay ?? 0.99, deadCodeThreshold: config.deadCodeThreshold ?? 1, lr: config.lr ?? 1e-3, seed: config.seed ?? 0,
    };
    const c = this.config;
    if (!(c.imageSize > 0 && c.patchSize > 0 && c.imageSize % c.patchSize === 0)) {
      throw new UserError(`Image size ${c.imageSize} is not a positive multiple of patch size ${c.patchSize}.`);
    }
    this.gridSize = c.imageSize / c.patchSize;
    this.restartRng = new Rng(c.seed + 1);
    this.v = new Map();
    for (const [name, shape] of vqvaeShapes(c)) {
      const trainable = !name.startsWith('ema.') && !(c.ema && name === 'codebook');
      this.v.set(name, tf.variable(tf.tensor(weights.get(name) as Float32Array, shape), trainable));
    }
  }

  get imageSize(): number { return this.config.imageSize; }
  get channels(): number { return this.config.channels; }
  get patchSize(): number { return this.config.patchSize; }
  get numCodes(): number { return this.config.numCodes; }

  /** A freshly initialised model (He-normal weights, zero biases, small random codebook; seeded). */
  static create(config: VqVaeConfig): VqVae {
    const rng = new Rng(config.seed ?? 0);
    const w = new Map<string, Float32Array>();
    for (const [name, shape] of vqvaeShapes(config)) {
      const n = shape.reduce((a, b) => a * b, 1);
      const std = name === 'codebook' ? 0.1 : shape.length === 2 && !name.startsWith('ema.') ? Math.sqrt(2 / (shape[0] as number)) : 0;
      w.set(name, name === 'ema.cluster_size' ? new Float32Array(n).fill(1) : Float32Array.from({ length: n }, () => std * rng.normal()));
    }
    if (config.ema ?? true) w.set('ema.embed_sum', Float32Array.from(w.get('codebook') as Float32Array));
    return new VqVae(config, w);
  }

  /** Builds the model from saved tensors, listing every missing or mis-shaped one in one error. */
  static fromWeights(config: VqVaeConfig, tensors: Map<string, NamedArray>, source: string): VqVae {
    const problems: string[] = [];
    const w = new Map<string, Float32Array>();
    for (const [name, shape] of vqvaeShapes(config)) {
      const t = tensors.get(name);
      if (!t) problems.push(`${name} is missing`);
      else if (t.shape.join() !== shape.join() || !(t.data instanceof Float32Array)) problems.push(`${name} is ${t.dtype} [${t.shape}], expected float [${shape}]`);
      else w.set(name, t.data);
    }
    if (problems.length) throw new UserError(`The VQ-VAE weights in ${source} do not fit its config: ${problems.join('; ')}.`);
    return new VqVae(config, w);
  }

  private p(name: string): tf.Variable {
    return this.v.get(name) as tf.Variable;
  }

  private encodeLatent(x: tf.Tensor2D): tf.Tensor2D {
    return linear(tf.relu(linear(x, this.p('enc.w1'), this.p('enc.b1'))), this.p('enc.w2'), this.p('enc.b2')) as tf.Tensor2D;
  }

  private decodeLatent(z: tf.Tensor2D): tf.Tensor2D {
    return linear(tf.relu(linear(z, this.p('dec.w1'), this.p('dec.b1'))), this.p('dec.w2'), this.p('dec.b2')) as tf.Tensor2D;
  }

  /** Nearest code of each latent row (no gradient flows through the choice). */
  private nearest(z: tf.Tensor2D): tf.Tensor1D {
    const zs = stopGradient(z) as tf.Tensor2D;
    const E = stopGradient(this.p('codebook')) as tf.Tensor2D;
    const d2 = tf.sub(tf.add(tf.sum(tf.square(zs), 1, true), tf.sum(tf.square(E), 1).reshape([1, -1])), tf.mul(tf.matMul(zs, tf.transpose(E)), 2));
    return tf.argMin(d2, 1) as tf.Tensor1D;
  }

  /** The loss terms for a patch batch x [M, D]; also returns z and the one-hot codes (for EMA). */
  private losses(x: tf.Tensor2D): { total: tf.Scalar; z: tf.Tensor2D; onehot: tf.Tensor2D } {
    const c = this.config;
    const z = this.encodeLatent(x);
    const onehot = tf.oneHot(this.nearest(z), c.numCodes).toFloat() as tf.Tensor2D;
    const zq = matMul2d(onehot, this.p('codebook') as tf.Tensor2D);
    const zst = tf.add(z, stopGradient(tf.sub(zq, z))) as tf.Tensor2D;
    const rec = tf.mean(tf.square(tf.sub(this.decodeLatent(zst), x)));
    const commit = tf.mul(tf.mean(tf.square(tf.sub(z, stopGradient(zq)))), c.beta);
    let total = tf.add(rec, commit) as tf.Scalar;
    if (!c.ema) total = tf.add(total, tf.mean(tf.square(tf.sub(stopGradient(z), zq)))) as tf.Scalar;
    return { total, z, onehot };
  }

  /**
   * One optimisation step on a batch of images (Adam, lr from the config). Returns the loss before
   * the step as a scalar the caller owns (read it only when logging); leaves no other tensors behind.
   */
  trainStep(images: ImageBatch): tf.Scalar {
    checkImages(images, this.imageSize, this.channels);
    const c = this.config;
    this.optimizer ??= tf.train.adam(c.lr);
    const D = c.patchSize * c.patchSize * c.channels;
    const x = tf.tensor2d(patchify(images, c.patchSize), [images.shape[0] * this.gridSize * this.gridSize, D]);
    const kept: tf.Tensor2D[] = [];
    try {
      const trainable = [...this.v.values()].filter((v) => v.trainable);
      const { value, grads } = tf.variableGrads(() => {
        const l = this.losses(x);
        if (c.ema) kept.push(tf.keep(l.z), tf.keep(l.onehot));
        return l.total;
      }, trainable);
      this.optimizer.applyGradients(grads);
      tf.dispose(grads);
      if (c.ema) this.emaUpdate(kept[0] as tf.Tensor2D, kept[1] as tf.Tensor2D);
      return value;
    } finally {
      tf.dispose([x, ...kept]);
    }
  }

  private emaUpdate(z: tf.Tensor2D, onehot: tf.Tensor2D): void {
    const c = this.config;
    tf.tidy(() => {
      const d = c.emaDecay;
      const size = this.p('ema.cluster_size'), sum = this.p('ema.embed_sum');
      const newSize = tf.add(tf.mul(size, d), tf.mul(tf.sum(onehot, 0), 1 - d));
      const newSum = tf.add(tf.mul(sum, d), tf.mul(tf.matMul(tf.transpose(onehot), z), 1 - d));
      // Laplace smoothing keeps unused codes from dividing by zero
      const n = tf.sum(newSize);
      const eps = 1e-5;
      const smoothed = tf.mul(tf.div(tf.add(newSize, eps), tf.add(n, c.numCodes * eps)), n);
      let codebook = tf.div(newSum, smoothed.reshape([-1, 1]));
      if (c.deadCodeThreshold > 0) {
        // restart dead codes at random encoder outputs of this batch (seeded, advanced every step)
        const M = z.shape[0];
        const rows = tf.tensor1d(Int32Array.from({ length: c.numCodes }, () => this.restartRng.int(M)), 'int32');
        const dead = tf.less(newSize, c.deadCodeThreshold);
        const fresh = tf.gather(z, rows);
        const deadCol = dead.reshape([-1, 1]);
        codebook = tf.where(deadCol, fresh, codebook);
        sum.assign(tf.where(deadCol, fresh, newSum));
        size.assign(tf.where(dead, tf.onesLike(newSize), newSize));
      } else {
        sum.assign(newSum);
        size.assign(newSize);
      }
      this.p('codebook').assign(codebook);
    });
  }

  /** Sets the codebook to encoder outputs of random patches of `images` (avoids dead codes at the start). */
  async initCodebookFromData(images: ImageBatch, seed = 0): Promise<void> {
    checkImages(images, this.imageSize, this.channels);
    const c = this.config;
    const D = c.patchSize * c.patchSize * c.channels;
    const patches = patchify(images, c.patchSize);
    const M = patches.length / D;
    const rng = new Rng(seed);
    const rows = M >= c.numCodes ? rng.sample(M, c.numCodes) : Array.from({ length: c.numCodes }, () => rng.int(M));
    const pick = new Float32Array(c.numCodes * D);
    rows.forEach((r, i) => pick.set(patches.subarray(r * D, (r + 1) * D), i * D));
    tf.tidy(() => {
      const z = this.encodeLatent(tf.tensor2d(pick, [c.numCodes, D]));
      const jitter = tf.randomNormal(z.shape, 0, 1e-3, 'float32', seed);
      this.p('codebook').assign(tf.add(z, jitter));
      if (c.ema) {
        this.p('ema.embed_sum').assign(this.p('codebook'));
        this.p('ema.cluster_size').assign(tf.onesLike(this.p('ema.cluster_size')));
      }
    });
  }

  async encode(images: ImageBatch): Promise<Int32Array> {
    const B = checkImages(images, this.imageSize, this.channels);
    const c = this.config;
    const D = c.patchSize * c.patchSize * c.channels;
    const idx = tf.tidy(() => this.nearest(this.encodeLatent(tf.tensor2d(patchify(images, c.patchSize), [B * this.gridSize * this.gridSize, D]))));
    const out = (await idx.data()) as Int32Array;
    idx.dispose();
    return Int32Array.from(out);
  }

  async decode(codes: ArrayLike<number>): Promise<ImageBatch> {
    const c = this.config;
    const N = this.gridSize * this.gridSize;
    if (codes.length % N !== 0) throw new UserError(`${codes.length} codes are not a whole number of images of ${N} codes.`);
    for (let i = 0; i < codes.length; i++) {
      const k = codes[i] as number;
      if (!Number.isInteger(k) || k < 0 || k >= c.numCodes) throw new UserError(`Image code ${k} is outside [0, ${c.numCodes}).`);
    }
    const B = codes.length / N;
    const px = tf.tidy(() => tf.clipByValue(this.decodeLatent(tf.gather(this.p('codebook'), tf.tensor1d(Int32Array.from(codes), 'int32')) as tf.Tensor2D), 0, 1));
    const patches = (await px.data()) as Float32Array;
    px.dispose();
    return { data: unpatchify(patches, B, this.gridSize, c.patchSize, c.channels), shape: [B, c.imageSize, c.imageSize, c.channels] };
  }

  /** Trains for `steps` steps on random batches of `images`; returns the losses read every `logEvery` steps. */
  async fit(images: ImageBatch, opts: { steps: number; batchSize: number; seed?: number; logEvery?: number; onLog?: (step: number, loss: number) => void }): Promise<{ step: number; loss: number }[]> {
    const [B, H, W, C] = images.shape;
    const per = H * W * C;
    const rng = new Rng(opts.seed ?? 0);
    const bs = Math.min(opts.batchSize, B);
    const log: { step: number; loss: number }[] = [];
    const every = opts.logEvery ?? 10;
    for (let s = 1; s <= opts.steps; s++) {
      const rows = rng.sample(B, bs);
      const data = images.data instanceof Float32Array ? new Float32Array(bs * per) : new Uint8Array(bs * per);
      rows.forEach((r, i) => data.set(images.data.subarray(r * per, (r + 1) * per), i * per));
      const loss = this.trainStep({ data, shape: [bs, H, W, C] });
      if (s % every === 0 || s === opts.steps) {
        const v = (await loss.data())[0] as number;
        log.push({ step: s, loss: v });
        opts.onLog?.(s, v);
      }
      loss.dispose();
    }
    return log;
  }

  /** The weights as named plain arrays (copies). */
  async weights(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const [name, v] of this.v) out.set(name, (await v.data()) as Float32Array);
    return out;
  }

  async save(dir: string): Promise<void> {
    const w = await this.weights();
    const shapes = vqvaeShapes(this.config);
    const tensors = [...w].map(([name, data]) => ({ name, shape: shapes.get(name) as number[], data }));
    await writeFileAtomic(join(dir, IMAGE_TOKENIZER_WEIGHTS), encodeSafetensors(tensors));
    await writeFileAtomic(join(dir, IMAGE_TOKENIZER_CONFIG), JSON.stringify({ type: this.type, version: 1, ...this.config }, null, 1) + '\n');
  }

  dispose(): void {
    for (const v of this.v.values()) v.dispose();
    this.optimizer?.dispose();
    this.optimizer = null;
  }
}
