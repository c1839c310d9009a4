/**
 * What both families share: the input record, forward options, the VLModel interface, and the
 * conversion of named hooks into a per-call hook table (unknown names are a UserError listing close
 * matches).
 */
import type * as tf from '@tensorflow/tfjs';
import type { HookFn, NamedHook } from '../hooks/types.js';
import { UserError } from '../util/errors.js';
import type { ModelConfig } from './config.js';
import { closeMatches, type HookPoint, type HookTable } from './hookpoint.js';
import { parameterGroup, type ParamGroup, type WeightSet } from './params.js';
import type { Spans } from './spans.js';
import { KVCache } from './state.js';

export interface ModelInput {
  /** Token ids [B, T], int32. In the adapter family the image span holds placeholder ids (ignored). */
  ids: tf.Tensor;
  /** [B][T]: 1 = real token, 0 = padding. Absent = no padding. Convention: right padding (state.ts). */
  attentionMask?: readonly ArrayLike<number>[];
  /** Spans per example (needed by the adapter to place the image; passed to hooks). */
  spans?: Spans[];
  /** Adapter with a ViT: pixels [B, H, W, C] float. */
  pixels?: tf.Tensor;
  /** Adapter without a ViT: precomputed backbone features [B, N, dIn]. */
  features?: tf.Tensor;
}

export interface ForwardOptions {
  /** Hooks for this call only (validated against hookNames()). */
  hooks?: readonly NamedHook[];
  /** KV cache to extend (generation); the owner disposes it. */
  cache?: KVCache;
  /** Weights of decoder layer l (local names), for layer-by-layer execution. */
  blockWeights?: (layer: number) => WeightSet;
  /** Per example, the one column whose logits are wanted: logits [B, 1, V]. */
  logitColumns?: readonly number[];
}

export interface VLModel {
  readonly family: 'native' | 'adapter';
  readonly config: ModelConfig;
  /** Logits [B, T, V] (owned by the caller). */
  forward(input: ModelInput, opts?: ForwardOptions): tf.Tensor;
  /** Full parameter names -> variables, in a stable order (checkpoints are keyed by these names). */
  namedParameters(): Map<string, tf.Variable>;
  /** Hook names in forward order. */
  hookNames(): string[];
  hookPoints(): HookPoint[];
  /** An empty KV cache for a batch of `batch` sequences. */
  newCache(batch: number): KVCache;
  dispose(): void;
}

/** Validates hook names against the model and groups the functions by name. */
export function hookTable(model: Pick<VLModel, 'hookNames'>, hooks: readonly NamedHook[] | undefined): HookTable | undefined {
  if (!hooks || hooks.length === 0) return undefined;
  const known = model.hookNames();
  const set = new Set(known);
  const table = new Map<string, HookFn[]>();
  for (const h of hooks) {
    if (!set.has(h.name)) {
      throw new UserError(`Unknown hook name '${h.name}'; close matches: ${closeMatches(h.name, known).join(', ')}.`);
    }
    const list = table.get(h.name) ?? [];
    list.push(h.fn);
    table.set(h.name, list);
  }
  return table;
}

/** Variables of the named parameter groups ('embed', 'decoder', 'vision', 'projector'), for training with some groups frozen. */
export function variablesInGroups(model: Pick<VLModel, 'namedParameters'>, groups: readonly ParamGroup[]): tf.Variable[] {
  const want = new Set(groups);
  return [...model.namedParameters()].filter(([n]) => want.has(parameterGroup(n))).map(([, v]) => v);
}

export function checkIds(ids: tf.Tensor, vocabSize: number): void {
  if (ids.rank !== 2) throw new UserError(`Model input ids must be a [batch, length] tensor, got shape [${ids.shape}].`);
  if (ids.dtype !== 'int32') throw new UserError(`Model input ids must be int32, got ${ids.dtype}.`);
  if (vocabSize <= 0) throw new Error('vocabSize must be positive');
}

export function newCacheFor(nLayers: number, batch: number): KVCache {
  return new KVCache(nLayers, batch);
}
