/**
 * The pure compute of training: a batch as plain arrays (so that it can be posted to a worker
 * thread), the masked next-token loss, its gradients for the trainable parameters, and the
 * evaluation of a batch (loss sums and teacher-forced accuracies, read back as numbers).
 *
 * Loss: mean over target tokens of -log softmax(logits[t])[ids[t+1]], where lossMask[t+1] = 1.
 * The target is picked by a one-hot product (no gather: its gradient is missing on wasm).
 */
import * as tf from '@tensorflow/tfjs';
import type { NamedHook } from '../hooks/types.js';
import type { ModelInput, VLModel } from '../model/model.js';
import type { Spans } from '../model/spans.js';
import type { Grads, TrainableParam } from './optimizer.js';
import type { SourceKind, TrainBatch } from './batches.js';

export interface StepBatch {
  B: number;
  T: number;
  /** [B*T] input ids. */
  ids: Int32Array;
  /** [B*T] the next token at each position (0 where there is none). */
  targets: Int32Array;
  /** [B*T] 1 where targets[t] is a loss target. */
  weights: Float32Array;
  /** [B*T] 1 = real token. */
  attentionMask: Uint8Array;
  spans: Spans[];
  kinds: SourceKind[];
  /** Adapter with a ViT: [B, H, W, C] in [0, 1] (zeros for rows without an image). */
  pixels?: { data: Float32Array; shape: [number, number, number, number] };
  /** Adapter on a frozen backbone: [B, N, D] features. */
  features?: { data: Float32Array; shape: [number, number, number] };
}

export interface ImageInputs {
  kind: 'pixels' | 'features';
  /** Per-image values (pixels H*W*C in [0, 1], or features N*D) of dataset row `image`. */
  get(image: number): Float32Array;
  /** [H, W, C] or [N, D] */
  shape: number[];
  /** Computes what get() will need for these rows (e.g. backbone features); awaited before a batch is built. */
  prepare?(images: readonly number[]): Promise<void>;
  dispose?(): void;
}

/** Shifts the loss mask onto the predicting positions and attaches the image inputs of each row. */
export function toStepBatch(tb: TrainBatch, images: ImageInputs | null): StepBatch {
  const { batchSize: B, seqLen: T, ids, lossMask, attentionMask, spans } = tb.batch;
  const targets = new Int32Array(B * T);
  const weights = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t + 1 < T; t++) {
      const i = b * T + t;
      targets[i] = ids[i + 1] as number;
      weights[i] = lossMask[i + 1] as number;
    }
  }
  const sb: StepBatch = { B, T, ids, targets, weights, attentionMask, spans, kinds: tb.kinds };
  if (images) {
    const per = images.shape.reduce((a, x) => a * x, 1);
    const data = new Float32Array(B * per);
    tb.images.forEach((img, b) => {
      if (img >= 0) data.set(images.get(img), b * per);
    });
    if (images.kind === 'pixels') sb.pixels = { data, shape: [B, ...(images.shape as [number, number, number])] };
    else sb.features = { data, shape: [B, ...(images.shape as [number, number])] };
  }
  return sb;
}

/** The model input tensors of a batch; dispose them with disposeInput. */
export function modelInput(sb: StepBatch): ModelInput {
  const input: ModelInput = {
    ids: tf.tensor2d(sb.ids, [sb.B, sb.T], 'int32'),
    attentionMask: Array.from({ length: sb.B }, (_, b) => sb.attentionMask.subarray(b * sb.T, (b + 1) * sb.T)),
    spans: sb.spans,
  };
  if (sb.pixels) input.pixels = tf.tensor(sb.pixels.data, sb.pixels.shape, 'float32');
  if (sb.features) input.features = tf.tensor(sb.features.data, sb.features.shape, 'float32');
  return input;
}

export function disposeInput(input: ModelInput): void {
  input.ids.dispose();
  input.pixels?.dispose();
  input.features?.dispose();
}

/** Per-position negative log-likelihood [B, T] of the targets. */
function nll(logits: tf.Tensor, targets: tf.Tensor): tf.Tensor {
  const V = logits.shape[logits.shape.length - 1] as number;
  // oneHot's dtype argument is ignored by the wasm kernel (it writes int32 bits): cast instead
  const onehot = tf.cast(tf.oneHot(targets, V), 'float32');
  return tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), onehot), -1));
}

/**
 * Mean masked next-token loss and its gradients for `params` (named as the params are). Owned by
 * the caller: the loss scalar and every gradient tensor.
 */
export function lossAndGrads(model: VLModel, params: readonly TrainableParam[], sb: StepBatch, hooks: readonly NamedHook[] = []): { loss: tf.Scalar; grads: Grads } {
  const input = modelInput(sb);
  const byVar = new Map(params.map((p) => [p.variable.name, p.name]));
  try {
    const { value, grads } = tf.tidy(() => {
      const targets = tf.tensor2d(sb.targets, [sb.B, sb.T], 'int32');
      const w = tf.tensor2d(sb.weights, [sb.B, sb.T]);
      const count = tf.maximum(tf.sum(w), 1);
      return tf.variableGrads(() => {
        const logits = model.forward(input, { hooks });
        return tf.div(tf.sum(tf.mul(nll(logits, targets), w)), count) as tf.Scalar;
      }, params.map((p) => p.variable));
    });
    const out: Grads = new Map();
    for (const [varName, g] of Object.entries(grads)) out.set(byVar.get(varName) as string, g);
    return { loss: value, grads: out };
  } finally {
    disposeInput(input);
  }
}

export interface EvalSums {
  /** Sum of the per-token losses, and the number of target tokens. */
  lossSum: number;
  tokens: number;
  /** Text target tokens (outside <boi>..<eoi>), and those whose argmax prediction is right (teacher forcing). */
  textTokens: number;
  correct: number;
  /** VQA rows whose whole answer (and <eos>) is right under teacher forcing. */
  answersRight: number;
  answers: number;
}

/** Evaluates one batch (no gradients); plain numbers come back. */
export async function evalBatch(model: VLModel, sb: StepBatch, hooks: readonly NamedHook[] = []): Promise<EvalSums> {
  const input = modelInput(sb);
  let out: { loss: tf.Tensor; pred: tf.Tensor };
  try {
    out = tf.tidy(() => {
      const logits = model.forward(input, { hooks });
      const targets = tf.tensor2d(sb.targets, [sb.B, sb.T], 'int32');
      return { loss: nll(logits, targets), pred: tf.argMax(logits, -1) };
    });
  } finally {
    disposeInput(input);
  }
  const loss = (await out.loss.data()) as Float32Array;
  const pred = (await out.pred.data()) as Int32Array;
  out.loss.dispose();
  out.pred.dispose();
  const s: EvalSums = { lossSum: 0, tokens: 0, textTokens: 0, correct: 0, answersRight: 0, answers: 0 };
  for (let b = 0; b < sb.B; b++) {
    const sp = sb.spans[b] as Spans;
    const inImage = (p: number): boolean => sp.boi !== null && p >= sp.boi && p <= (sp.eoi ?? sp.image?.[1] ?? sp.boi);
    let rowRight = true;
    for (let t = 0; t < sb.T; t++) {
      const i = b * sb.T + t;
      if (sb.weights[i] !== 1) continue;
      s.lossSum += loss[i] as number;
      s.tokens++;
      if (inImage(t + 1)) continue;
      s.textTokens++;
      if (pred[i] === sb.targets[i]) s.correct++;
      else rowRight = false;
    }
    if (sb.kinds[b] === 'vqa') {
      s.answers++;
      if (rowRight) s.answersRight++;
    }
  }
  return s;
}

/** Total target tokens of a batch (for tokens/s). */
export function targetTokens(sb: StepBatch): number {
  let n = 0;
  for (const w of sb.weights) n += w;
  return n;
}
