/**
 * wasm-aware primitive ops (STACK.md). The wasm backend runs a matmul fast (XNNPACK) only when it is
 * 2-D-like, batch 1 and without transpose flags, and it has no UnsortedSegmentSum (the gradient of
 * gather). So every matmul in the model goes through a custom gradient whose backward pass uses
 * explicit tf.transpose + plain matMul, and the embedding gradient is a one-hot matmul. No einsum, no
 * conv2d backprop, no pow (x*x instead). These ops are also used on the other backends: one code path.
 */
import * as tf from '@tensorflow/tfjs';

/** tfjs types customGrad's function as variadic; ours take fixed tensors and the save function. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type CustomFn = Parameters<typeof tf.customGrad>[0];
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function asCustom(f: (...args: any[]) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] }): CustomFn {
  return f as unknown as CustomFn;
}

const matMul2dGrad = tf.customGrad(asCustom((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy as tf.Tensor2D)];
    },
  };
}));

/** a [M, K] @ b [K, N] -> [M, N], backward with explicit transposes. */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return matMul2dGrad(a, b) as tf.Tensor2D;
}

const bmmGrad = tf.customGrad(asCustom((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor3D, tf.Tensor3D];
      return [tf.matMul(dy as tf.Tensor3D, tf.transpose(sb, [0, 2, 1])), tf.matMul(tf.transpose(sa, [0, 2, 1]), dy as tf.Tensor3D)];
    },
  };
}));

/**
 * Batched matmul a [..., M, K] @ b [..., K, N] -> [..., M, N] (same leading dims, no broadcasting),
 * with a custom gradient that uses explicit transposes (no transpose flags). On wasm this stays on
 * the batched kernel's slow loop; splitting it into per-head 2-D matmuls (XNNPACK) was measured and
 * lost (a whole training step 1.8x slower at d128/T96/B16: the split/stack kernels cost more, and
 * XNNPACK builds and caches its operator per right-hand tensor, so every 2-D matmul against a fresh
 * activation pays the weight packing). A per-example block-diagonal 2-D form was 4-6x slower still,
 * and transpose flags do not speed up the batched kernel (checked).
 */
export function bmm(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const lead = a.shape.slice(0, -2);
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = b.shape[b.rank - 1] as number;
  const batch = lead.reduce((p, q) => p * q, 1);
  if (batch === 1) {
    const y = matMul2d(a.reshape([m, k]), b.reshape([k, n]));
    return y.reshape([...lead, m, n]);
  }
  const y = bmmGrad(a.reshape([batch, m, k]), b.reshape([batch, k, n]));
  return y.reshape([...lead, m, n]);
}

/** x [..., in] @ W [in, out] (+ b [out]) -> [..., out], through a 2-D matmul. */
export function linear(x: tf.Tensor, W: tf.Tensor, b?: tf.Tensor | null): tf.Tensor {
  const inDim = x.shape[x.rank - 1] as number;
  const outDim = W.shape[1] as number;
  const lead = x.shape.slice(0, -1);
  let y: tf.Tensor = matMul2d(x.reshape([-1, inDim]), W as tf.Tensor2D);
  if (b) y = tf.add(y, b);
  return y.reshape([...lead, outDim]);
}

/**
 * Embedding lookup: rows of W [V, D] at ids [...] -> [..., D]. Forward is a gather; the gradient
 * with respect to W is matMul(transpose(oneHot(ids, V)), dy) (wasm has no UnsortedSegmentSum).
 */
export function embedding(ids: tf.Tensor, W: tf.Tensor): tf.Tensor {
  const [V, D] = W.shape as [number, number];
  const flat = ids.reshape([-1]).toInt();
  const f = tf.customGrad(asCustom((w: tf.Tensor, save: tf.GradSaveFunc) => {
    save([flat]);
    return {
      value: tf.gather(w, flat),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const oh = tf.oneHot(saved[0] as tf.Tensor1D, V).toFloat();
        return [tf.matMul(tf.transpose(oh), dy as tf.Tensor2D)];
      },
    };
  }));
  const rows = f(W) as tf.Tensor;
  return rows.reshape([...ids.shape, D]);
}

/** x @ W^T for W [V, D] (tied unembedding): explicit transpose, then the 2-D matmul. */
export function linearTransposed(x: tf.Tensor, W: tf.Tensor): tf.Tensor {
  return linear(x, tf.transpose(W));
}

export function silu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/** GELU, tanh approximation (no pow: x*x*x). */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  const x3 = tf.mul(tf.mul(x, x), x);
  const inner = tf.mul(tf.add(x, tf.mul(x3, 0.044715)), Math.sqrt(2 / Math.PI));
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

export type Activation = 'silu' | 'gelu_tanh';

export function activation(name: Activation, x: tf.Tensor): tf.Tensor {
  return name === 'silu' ? silu(x) : geluTanh(x);
}
