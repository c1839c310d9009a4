/**
 * Attention-edge knockout as hooks, the primitive the intervention specs compile to.
 *   mode 'zero':        post-softmax probability of a knocked edge set to 0, no renormalisation
 *                       (hook_pattern; the paper's knockout)
 *   mode 'renormalize': -inf on the pre-softmax score (hook_attn_scores), so the softmax renormalises
 * Edges are chosen per example by absolute positions: a query row r of a call is position
 * ctx.offset + r, so the same hooks work in a full forward and in cached generation. A query row
 * whose every key is cut in 'renormalize' mode has no probability mass left (NaN), as with -inf in
 * any softmax; 'zero' mode leaves such a row all zeros.
 */
import * as tf from '@tensorflow/tfjs';
import type { HookContext, NamedHook } from './types.js';

export interface KnockoutEdges {
  /** Decoder layers to apply to. */
  layers: readonly number[];
  /** Heads to apply to; all heads when absent. */
  heads?: readonly number[];
  /** Is absolute position `q` of example `b` a query whose edges are cut? */
  query: (b: number, q: number) => boolean;
  /** Is absolute position `k` of example `b` a key to cut? */
  key: (b: number, k: number) => boolean;
  mode: 'zero' | 'renormalize';
  /** Hook-name prefix of the blocks ('' for the decoder, 'vision' for the ViT). */
  prefix?: string;
}

/** [B, 1, T, S] mask: 1 where the (query, key) edge is cut, before choosing heads. */
function edgeMask(e: KnockoutEdges, B: number, T: number, S: number, offset: number): Float32Array {
  const m = new Float32Array(B * T * S);
  for (let b = 0; b < B; b++) {
    const keys: number[] = [];
    for (let s = 0; s < S; s++) if (e.key(b, s)) keys.push(s);
    if (keys.length === 0) continue;
    for (let t = 0; t < T; t++) {
      if (!e.query(b, offset + t)) continue;
      const row = (b * T + t) * S;
      for (const s of keys) m[row + s] = 1;
    }
  }
  return m;
}

/** [B, H, T, S] (broadcast) mask tensor: 1 where the edge is knocked out. Call inside tf.tidy. */
function knockMask(e: KnockoutEdges, shape: number[], offset: number): tf.Tensor {
  const [B, H, T, S] = shape as [number, number, number, number];
  const edges = tf.tensor4d(edgeMask(e, B, T, S, offset), [B, 1, T, S]);
  if (!e.heads) return edges;
  const hm = new Float32Array(H);
  for (const h of e.heads) if (h >= 0 && h < H) hm[h] = 1;
  return tf.mul(edges, tf.tensor4d(hm, [1, H, 1, 1]));
}

export function knockoutHooks(e: KnockoutEdges): NamedHook[] {
  const site = e.mode === 'zero' ? 'hook_pattern' : 'hook_attn_scores';
  const pre = e.prefix ? `${e.prefix}.` : '';
  return e.layers.map((l) => ({
    name: `${pre}blocks.${l}.attn.${site}`,
    fn: (act: tf.Tensor, ctx: HookContext) => {
      const m = knockMask(e, act.shape, ctx.offset);
      if (e.mode === 'zero') return tf.mul(act, tf.sub(1, m));
      return tf.where(tf.cast(tf.broadcastTo(m, act.shape), 'bool'), tf.fill(act.shape, -Infinity), act);
    },
  }));
}
