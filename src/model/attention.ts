/**
 * Multi-head attention with grouped-query heads, optional q/k/v biases, optional QK-norm (before
 * rotary), rotary positions, an additive mask and a KV cache. Weights (local names in a block):
 *   attn.W_Q [D, H*Dh]  attn.W_K [D, Hkv*Dh]  attn.W_V [D, Hkv*Dh]  attn.W_O [H*Dh, D]
 *   attn.b_Q / b_K / b_V (qkvBias)   attn.q_norm.w|b [H, Dh], attn.k_norm.w|b [Hkv, Dh] (qkNorm)
 * Column h*Dh + j of W_Q is head h, channel j (transformers' q_proj.weight transposed).
 *
 * Grouped heads without copying keys: query head i = kv*g + j reads kv head floor(i / g), so the
 * queries [B, H, T, Dh] are viewed as [B, Hkv, g*T, Dh] and multiplied by the kv head's keys.
 */
import * as tf from '@tensorflow/tfjs';
import type { DecoderConfig } from './config.js';
import type { HookPoint } from './hookpoint.js';
import { headLayerNorm } from './norms.js';
import { bmm, linear } from './ops.js';
import type { ParamSpec, WeightSet } from './params.js';
import { req } from './params.js';
import { applyRope } from './rope.js';
import type { ForwardState } from './state.js';

export interface AttentionHooks {
  q: HookPoint;
  k: HookPoint;
  v: HookPoint;
  scores: HookPoint;
  pattern: HookPoint;
  z: HookPoint;
}

export const ATTENTION_HOOKS = {
  q: 'attn.hook_q',
  k: 'attn.hook_k',
  v: 'attn.hook_v',
  scores: 'attn.hook_attn_scores',
  pattern: 'attn.hook_pattern',
  z: 'attn.hook_z',
} as const;

export function attentionParamSpecs(c: DecoderConfig): ParamSpec[] {
  const D = c.dModel, H = c.nHeads, K = c.nKvHeads, Dh = c.headDim;
  const std = 0.02;
  const specs: ParamSpec[] = [
    { name: 'attn.W_Q', shape: [D, H * Dh], init: 'normal', std },
    { name: 'attn.W_K', shape: [D, K * Dh], init: 'normal', std },
    { name: 'attn.W_V', shape: [D, K * Dh], init: 'normal', std },
    { name: 'attn.W_O', shape: [H * Dh, D], init: 'normal', std: std / Math.sqrt(2 * c.nLayers) },
  ];
  if (c.qkvBias) {
    specs.push({ name: 'attn.b_Q', shape: [H * Dh], init: 'zeros' });
    specs.push({ name: 'attn.b_K', shape: [K * Dh], init: 'zeros' });
    specs.push({ name: 'attn.b_V', shape: [K * Dh], init: 'zeros' });
  }
  if (c.qkNorm) {
    specs.push({ name: 'attn.q_norm.w', shape: [H, Dh], init: 'ones' });
    specs.push({ name: 'attn.q_norm.b', shape: [H, Dh], init: 'zeros' });
    specs.push({ name: 'attn.k_norm.w', shape: [K, Dh], init: 'ones' });
    specs.push({ name: 'attn.k_norm.b', shape: [K, Dh], init: 'zeros' });
  }
  return specs;
}

/**
 * x [B, T, D] -> [B, T, D]. `layer` indexes the KV cache (when st.cache is set). Runs inside the
 * caller's tf.tidy.
 */
export function attention(c: DecoderConfig, w: WeightSet, x: tf.Tensor, st: ForwardState, hp: AttentionHooks, layer: number): tf.Tensor {
  const [B, T] = x.shape as [number, number, number];
  const H = c.nHeads, K = c.nKvHeads, Dh = c.headDim, g = H / K;
  const bias = (n: string) => (c.qkvBias ? req(w, n) : null);
  let q = linear(x, req(w, 'attn.W_Q'), bias('attn.b_Q')).reshape([B, T, H, Dh]);
  let k = linear(x, req(w, 'attn.W_K'), bias('attn.b_K')).reshape([B, T, K, Dh]);
  let v = linear(x, req(w, 'attn.W_V'), bias('attn.b_V')).reshape([B, T, K, Dh]);
  if (c.qkNorm) {
    q = headLayerNorm(q, req(w, 'attn.q_norm.w'), req(w, 'attn.q_norm.b'), c.qkNormEps);
    k = headLayerNorm(k, req(w, 'attn.k_norm.w'), req(w, 'attn.k_norm.b'), c.qkNormEps);
  }
  if (st.rope) {
    q = applyRope(q, st.rope);
    k = applyRope(k, st.rope);
  }
  q = hp.q.run(q, st);
  k = hp.k.run(k, st);
  v = hp.v.run(v, st);

  let kh = tf.transpose(k, [0, 2, 1, 3]); // [B, K, T, Dh]
  let vh = tf.transpose(v, [0, 2, 1, 3]);
  if (st.cache) ({ k: kh, v: vh } = st.cache.extend(layer, kh, vh));
  const S = kh.shape[2] as number;

  const qg = tf.transpose(q, [0, 2, 1, 3]).reshape([B, K, g * T, Dh]);
  let scores = bmm(qg, tf.transpose(kh, [0, 1, 3, 2])).reshape([B, H, T, S]);
  scores = tf.mul(scores, 1 / Math.sqrt(Dh));
  if (st.mask) scores = tf.add(scores, st.mask);
  scores = hp.scores.run(scores, st);
  let pattern = tf.softmax(scores, -1);
  pattern = hp.pattern.run(pattern, st);

  const zg = bmm(pattern.reshape([B, K, g * T, S]), vh); // [B, K, g*T, Dh]
  let z = tf.transpose(zg.reshape([B, H, T, Dh]), [0, 2, 1, 3]); // [B, T, H, Dh]
  z = hp.z.run(z, st);
  return linear(z.reshape([B, T, H * Dh]), req(w, 'attn.W_O'));
}
