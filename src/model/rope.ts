/**
 * Rotary position embeddings, "rotate half" convention (Llama / Chameleon / Qwen2 in transformers):
 * x * cos + rotate_half(x) * sin with rotate_half(x) = [-x2, x1], inv_freq_i = theta^(-2i/d), and the
 * angle table duplicated over the two halves. The tables are computed in JS with float32 rounding at
 * each step, as transformers does in float32.
 */
import * as tf from '@tensorflow/tfjs';

export interface RopeTables {
  /** [B, T, 1, headDim], broadcast over heads. */
  cos: tf.Tensor;
  sin: tf.Tensor;
}

/** Inverse frequencies for the first headDim/2 channels, in float32 arithmetic. */
export function inverseFrequencies(headDim: number, theta: number): Float32Array {
  const half = headDim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const expo = Math.fround((2 * i) / headDim);
    inv[i] = Math.fround(1 / Math.fround(Math.pow(theta, expo)));
  }
  return inv;
}

/** Tables for per-example positions (positions[b][t]). */
export function ropeTables(positions: readonly (readonly number[])[], headDim: number, theta: number): RopeTables {
  const B = positions.length;
  const T = positions[0]?.length ?? 0;
  const inv = inverseFrequencies(headDim, theta);
  const half = headDim / 2;
  const cos = new Float32Array(B * T * headDim);
  const sin = new Float32Array(B * T * headDim);
  for (let b = 0; b < B; b++) {
    const row = positions[b] as readonly number[];
    for (let t = 0; t < T; t++) {
      const p = row[t] as number;
      const base = (b * T + t) * headDim;
      for (let i = 0; i < half; i++) {
        const a = Math.fround(p * (inv[i] as number));
        const c = Math.cos(a), s = Math.sin(a);
        cos[base + i] = c;
        cos[base + i + half] = c;
        sin[base + i] = s;
        sin[base + i + half] = s;
      }
    }
  }
  return { cos: tf.tensor4d(cos, [B, T, 1, headDim]), sin: tf.tensor4d(sin, [B, T, 1, headDim]) };
}

export function rotateHalf(x: tf.Tensor): tf.Tensor {
  const d = x.shape[x.rank - 1] as number;
  const [x1, x2] = tf.split(x, [d / 2, d / 2], -1) as [tf.Tensor, tf.Tensor];
  return tf.concat([tf.neg(x2), x1], -1);
}

/** x [B, T, heads, headDim] with tables [B, T, 1, headDim]. */
export function applyRope(x: tf.Tensor, r: RopeTables): tf.Tensor {
  return tf.add(tf.mul(x, r.cos), tf.mul(rotateHalf(x), r.sin));
}
