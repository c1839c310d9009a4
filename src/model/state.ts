/**
 * Per-call state of a forward pass: the hook table, the additive attention mask, the rotary tables
 * and the KV cache.
 *
 * Padding convention: each example has a key mask (1 = real token, 0 = padding), over the columns of
 * this call (and, with a KV cache, over every cached column too). Padded keys are masked out of the
 * attention. The rotary position of a column is the number of real tokens before it in its example
 * (transformers' cumsum(mask) - 1), so right padding (our default: spans keep their indices) and
 * left padding both give each real token its true position. Outputs at padded query rows are
 * computed but meaningless: ignore them (the loss masks them). Hook positions (HookContext.offset)
 * are column indices, the same indices the spans use.
 */
import * as tf from '@tensorflow/tfjs';
import type { HookRun } from './hookpoint.js';
import { ropeTables, type RopeTables } from './rope.js';

/** Value added to masked scores (finite: a fully masked padded row stays finite instead of NaN). */
export const MASK_VALUE = -1e9;

/** KV cache: per layer keys and values [B, Hkv, S, headDim] (keys after rotary), and the key mask per column. */
export class KVCache {
  readonly layers: ({ k: tf.Tensor; v: tf.Tensor } | null)[];
  /** keyMask[b][s]: 1 for a real token at column s of example b, 0 for padding. */
  readonly keyMask: number[][];

  constructor(nLayers: number, batch: number) {
    this.layers = Array.from({ length: nLayers }, () => null);
    this.keyMask = Array.from({ length: batch }, () => []);
  }

  /** Number of cached columns. */
  get length(): number {
    return this.keyMask[0]?.length ?? 0;
  }

  get batch(): number {
    return this.keyMask.length;
  }

  /** Appends this call's keys/values for one layer (kept past tf.tidy); returns the full tensors. */
  extend(layer: number, k: tf.Tensor, v: tf.Tensor): { k: tf.Tensor; v: tf.Tensor } {
    const old = this.layers[layer];
    const next = old
      ? { k: tf.keep(tf.concat([old.k, k], 2)), v: tf.keep(tf.concat([old.v, v], 2)) }
      : { k: tf.keep(k.clone()), v: tf.keep(v.clone()) };
    if (old) {
      old.k.dispose();
      old.v.dispose();
    }
    this.layers[layer] = next;
    return next;
  }

  dispose(): void {
    for (const l of this.layers) {
      l?.k.dispose();
      l?.v.dispose();
    }
    this.layers.fill(null);
  }
}

export interface ForwardState extends HookRun {
  /** Additive mask [B or 1, 1, T, S]; null when nothing is masked. */
  mask: tf.Tensor | null;
  rope: RopeTables | null;
  cache?: KVCache;
}

export interface StateOptions {
  batch: number;
  /** Query columns in this call. */
  T: number;
  causal: boolean;
  /** Key mask for this call's columns [B][T] (1 real, 0 pad); absent = all real. */
  attentionMask?: readonly (ArrayLike<number>)[];
  cache?: KVCache;
  /** headDim and theta for rotary tables; null for no rotary (the ViT). */
  rope: { headDim: number; theta: number } | null;
}

/**
 * Builds the mask and rotary tensors of one call (call inside tf.tidy), and appends this call's
 * key-mask columns to the cache.
 */
export function buildState(o: StateOptions, run: Omit<HookRun, 'offset'>): ForwardState {
  const { batch: B, T } = o;
  if (o.attentionMask && (o.attentionMask.length !== B || o.attentionMask.some((r) => r.length !== T))) {
    throw new Error(`attentionMask must be [${B}][${T}]`);
  }
  if (o.cache && o.cache.batch !== B) throw new Error(`KV cache batch ${o.cache.batch} does not match input batch ${B}`);
  const offset = o.cache?.length ?? 0;
  const S = offset + T;
  // key mask over all S columns, per example
  const keyMask: number[][] = [];
  for (let b = 0; b < B; b++) {
    const prev = o.cache ? (o.cache.keyMask[b] as number[]) : [];
    const cur = o.attentionMask ? Array.from(o.attentionMask[b] as ArrayLike<number>, (m) => (m ? 1 : 0)) : new Array<number>(T).fill(1);
    keyMask.push([...prev, ...cur]);
  }
  const padded = keyMask.some((r) => r.includes(0));
  let mask: tf.Tensor | null = null;
  if (padded || (o.causal && T > 1)) {
    const MB = padded ? B : 1;
    const m = new Float32Array(MB * T * S);
    for (let b = 0; b < MB; b++) {
      const km = keyMask[b] as number[];
      for (let t = 0; t < T; t++) {
        const row = (b * T + t) * S;
        for (let s = 0; s < S; s++) {
          const ok = km[s] === 1 && (!o.causal || s <= offset + t);
          if (!ok) m[row + s] = MASK_VALUE;
        }
      }
    }
    mask = tf.tensor4d(m, [MB, 1, T, S]);
  }
  let rope: RopeTables | null = null;
  if (o.rope) {
    const positions = keyMask.map((km) => {
      const out: number[] = [];
      let count = 0;
      for (let s = 0; s < S; s++) {
        if (s >= offset) out.push(count);
        count += km[s] as number;
      }
      return out;
    });
    rope = ropeTables(positions, o.rope.headDim, o.rope.theta);
  }
  if (o.cache) for (let b = 0; b < B; b++) o.cache.keyMask[b] = keyMask[b] as number[];
  return { ...run, offset, mask, rope, cache: o.cache };
}
