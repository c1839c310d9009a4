/**
 * Normalisations, written with sqrt + div (no rsqrt/pow in training paths: their gradients use pow).
 */
import * as tf from '@tensorflow/tfjs';

/** RMSNorm over the last axis: w * x / sqrt(mean(x^2) + eps) (Llama / Chameleon / Qwen2). */
export function rmsNorm(x: tf.Tensor, w: tf.Tensor, eps: number): tf.Tensor {
  const ms = tf.mean(tf.mul(x, x), -1, true);
  return tf.mul(tf.div(x, tf.sqrt(tf.add(ms, eps))), w);
}

/** LayerNorm over the last axis without affine parameters: (x - mean) / sqrt(var + eps). */
export function layerNormPlain(x: tf.Tensor, eps: number): tf.Tensor {
  const mu = tf.mean(x, -1, true);
  const xc = tf.sub(x, mu);
  const v = tf.mean(tf.mul(xc, xc), -1, true);
  return tf.div(xc, tf.sqrt(tf.add(v, eps)));
}

/**
 * Chameleon's QK-norm: x [B, T, heads, headDim] normalised over headDim only (eps fixed by the
 * config, 1e-5 in Chameleon), then per-head weight and bias, both [heads, headDim].
 */
export function headLayerNorm(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor {
  return tf.add(tf.mul(layerNormPlain(x, eps), w), b);
}
