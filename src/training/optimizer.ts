/**
 * AdamW over named tf.Variables (decoupled weight decay, as torch.optim.AdamW), clipping by global
 * norm, and gradient accumulation. The optimizer state (first and second moments, update count) can
 * be read out as Float32Arrays and restored bit for bit, so a resumed run continues exactly.
 *
 * Ownership: functions never dispose their arguments; returned tensors belong to the caller.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../util/errors.js';

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export interface TrainableParam {
  name: string;
  variable: tf.Variable;
  /** Whether weight decay applies (by convention: matrices yes; norms, biases and gains no). */
  decay: boolean;
}

/** Named gradients, one per trainable parameter name. */
export type Grads = Map<string, tf.Tensor>;

/** Optimizer state as plain arrays: moments named `m.<param>` / `v.<param>`, and the update count. */
export interface OptimizerState {
  step: number;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
}

/** Default decay rule: parameters with two or more dimensions decay, vectors (norm gains, biases) do not. */
export function decaysByShape(v: tf.Variable): boolean {
  return v.shape.length >= 2;
}

export class AdamW {
  /** Number of updates applied so far. */
  step = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(readonly params: TrainableParam[], readonly cfg: AdamWConfig) {
    for (const p of params) {
      this.m.set(p.name, tf.tidy(() => tf.variable(tf.zerosLike(p.variable), false)));
      this.v.set(p.name, tf.tidy(() => tf.variable(tf.zerosLike(p.variable), false)));
    }
  }

  /** One AdamW update with learning rate `lr`. Every trainable parameter needs a gradient. */
  apply(grads: Grads, lr: number): void {
    const { beta1, beta2, eps, weightDecay } = this.cfg;
    const t = this.step + 1;
    const bc1 = 1 - Math.pow(beta1, t);
    const bc2 = 1 - Math.pow(beta2, t);
    tf.tidy(() => {
      for (const p of this.params) {
        const g = grads.get(p.name);
        if (!g) throw new Error(`AdamW.apply: no gradient for parameter "${p.name}"`);
        const m = this.m.get(p.name) as tf.Variable;
        const v = this.v.get(p.name) as tf.Variable;
        const m1 = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
        const v1 = tf.add(tf.mul(v, beta2), tf.mul(tf.mul(g, g), 1 - beta2));
        m.assign(m1);
        v.assign(v1);
        const denom = tf.add(tf.sqrt(tf.div(v1, bc2)), eps);
        const update = tf.div(tf.div(m1, bc1), denom);
        const decayed = p.decay && weightDecay > 0 ? tf.mul(p.variable, 1 - lr * weightDecay) : p.variable;
        p.variable.assign(tf.sub(decayed, tf.mul(update, lr)));
      }
    });
    this.step = t;
  }

  /** Reads the state out (one read-back per moment tensor). */
  async getState(): Promise<OptimizerState> {
    const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const p of this.params) {
      for (const [prefix, store] of [['m', this.m], ['v', this.v]] as const) {
        const t = store.get(p.name) as tf.Variable;
        tensors.set(`${prefix}.${p.name}`, { shape: [...t.shape], data: (await t.data()) as Float32Array });
      }
    }
    return { step: this.step, tensors };
  }

  /** Restores a state from getState(); names and shapes must match this optimizer's parameters. */
  setState(state: OptimizerState, source = 'optimizer state'): void {
    for (const p of this.params) {
      for (const [prefix, store] of [['m', this.m], ['v', this.v]] as const) {
        const key = `${prefix}.${p.name}`;
        const saved = state.tensors.get(key);
        if (!saved) throw new UserError(`${source} has no "${key}"; expected the state of a run with the same trainable parameters.`);
        const target = store.get(p.name) as tf.Variable;
        if (saved.shape.join(',') !== target.shape.join(',')) {
          throw new UserError(`${source}: "${key}" has shape [${saved.shape}], expected [${target.shape}].`);
        }
        tf.tidy(() => target.assign(tf.tensor(saved.data, saved.shape, 'float32')));
      }
    }
    const extra = state.tensors.size - 2 * this.params.length;
    if (extra !== 0) throw new UserError(`${source} holds moments for ${state.tensors.size / 2} parameters, expected ${this.params.length}; was the freeze list changed?`);
    this.step = state.step;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/** sqrt(sum of squares over all gradients), as a scalar tensor (no read-back). */
export function globalNorm(grads: Grads): tf.Scalar {
  return tf.tidy(() => {
    const sums = [...grads.values()].map((g) => tf.sum(tf.mul(g, g)));
    return tf.sqrt(sums.length > 0 ? tf.addN(sums) : tf.scalar(0)) as tf.Scalar;
  });
}

/**
 * Scales all gradients by min(1, maxNorm / (norm + 1e-6)) (torch.nn.utils.clip_grad_norm_). Returns
 * new gradient tensors and the norm before clipping; both belong to the caller.
 */
export function clipByGlobalNorm(grads: Grads, maxNorm: number): { grads: Grads; norm: tf.Scalar } {
  const norm = globalNorm(grads);
  const out: Grads = new Map();
  tf.tidy(() => {
    const coef = tf.minimum(tf.scalar(1), tf.div(tf.scalar(maxNorm), tf.add(norm, 1e-6)));
    for (const [name, g] of grads) out.set(name, tf.keep(tf.mul(g, coef)));
  });
  return { grads: out, norm };
}

/** Sums gradients over micro-batches and hands out their mean. */
export class GradAccumulator {
  private sums: Grads = new Map();
  private count = 0;

  add(grads: Grads): void {
    for (const [name, g] of grads) {
      const prev = this.sums.get(name);
      this.sums.set(name, prev ? tf.tidy(() => tf.add(prev, g)) : tf.clone(g));
      prev?.dispose();
    }
    this.count++;
  }

  get size(): number {
    return this.count;
  }

  /** The mean of the added gradients (owned by the caller); the accumulator is empty afterwards. */
  take(): Grads {
    if (this.count === 0) throw new Error('GradAccumulator.take: nothing accumulated');
    const out: Grads = new Map();
    for (const [name, s] of this.sums) {
      out.set(name, this.count === 1 ? s : tf.tidy(() => tf.div(s, this.count)));
      if (this.count !== 1) s.dispose();
    }
    this.sums = new Map();
    this.count = 0;
    return out;
  }

  dispose(): void {
    for (const s of this.sums.values()) s.dispose();
    this.sums.clear();
    this.count = 0;
  }
}

export function disposeGrads(grads: Grads): void {
  for (const g of grads.values()) g.dispose();
}
