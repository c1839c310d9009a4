import type * as tf from '@tensorflow/tfjs';
import type { Spans } from '../model/spans.js';

/**
 * What a hook sees besides the activation. Hooks run inside the forward pass (inside tf.tidy):
 * they must be synchronous and must not dispose `act`.
 */
export interface HookContext {
  /** Canonical hook name, e.g. "blocks.3.attn.hook_pattern". */
  name: string;
  /** Decoder (or vision) layer index, null for hooks outside the blocks. */
  layer: number | null;
  /**
   * Absolute sequence position of the first query row in this call. 0 for a full forward pass; with a
   * KV cache, the number of positions already cached (so row r is position offset + r).
   */
  offset: number;
  /** Spans of each example in the batch (length = batch size), when the caller provided them; absent for vision.* hooks (their positions are patches). */
  spans?: Spans[];
}

/**
 * A hook: returning a tensor replaces the activation (same shape), returning nothing keeps it.
 * Activation layouts (B = batch, T = query positions in this call, S = key positions incl. cache):
 *   residual-stream hooks, hook_embed, hook_attn_out, hook_mlp_out, ln*.hook_normalized: [B, T, D]
 *   attn.hook_q: [B, T, H, Dh]; attn.hook_k / hook_v: [B, T, Hkv, Dh] (this call's new positions only,
 *     as in TransformerLens: with a KV cache the hooked keys/values are what gets cached; q and k are
 *     after QK-norm and rotary; Hkv = kv heads, query head i reads kv head floor(i / (H / Hkv)))
 *   attn.hook_attn_scores / hook_pattern: [B, H, T, S] (scores are pre-softmax, scaled by 1/sqrt(Dh),
 *     masked entries = MASK_VALUE (-1e9) so padded rows stay finite; set -Infinity to cut an edge)
 *   attn.hook_z: [B, T, H, Dh]; unembed.hook_out: [B, T, V] ([B, 1, V] when logitColumns is used)
 *   vision.*: the same layouts with T = S = patches; vision.hook_embed: [B, N, Dv];
 *   projector.hook_out: [B, N, D]
 */
export type HookFn = (act: tf.Tensor, ctx: HookContext) => tf.Tensor | void;

/** A hook bound to a hook name, for runWithHooks. */
export interface NamedHook {
  name: string;
  fn: HookFn;
}
