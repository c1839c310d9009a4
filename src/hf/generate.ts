/**
 * Greedy decoding with the KV cache for HfModel (transformers' generate(do_sample=False)): one full
 * pass over the prompts, then one column per step. The argmax runs over every vocabulary column of
 * the model's logits (Chameleon's image codes hold float32 min there, so they are never chosen).
 * Hooks (e.g. an intervention) apply to the prompt pass and to every step. Prompts of different
 * lengths are right-padded; each example's next token comes from its own last real column.
 */
import * as tf from '@tensorflow/tfjs';
import type { NamedHook } from '../hooks/types.js';
import type { HfExample, HfModel } from './model.js';

export interface GreedyOptions {
  maxNewTokens: number;
  hooks?: readonly NamedHook[];
  /** Stop an example at this id (included in its output). Default: none, always maxNewTokens. */
  eosId?: number | null;
}

/** Returns the generated ids per example. */
export async function greedyGenerate(model: HfModel, examples: readonly HfExample[], o: GreedyOptions): Promise<number[][]> {
  const { input, lengths, dispose } = model.batch(examples);
  const B = examples.length;
  const cache = model.newCache(B);
  const out: number[][] = examples.map(() => []);
  const done = examples.map(() => false);
  try {
    let logits = model.forward(input, { hooks: o.hooks, cache, logitColumns: lengths.map((n) => n - 1) });
    for (let step = 0; step < o.maxNewTokens; step++) {
      const nextT = tf.tidy(() => tf.argMax(tf.reshape(logits, [B, -1]), 1));
      const next = Array.from(await nextT.data());
      tf.dispose([nextT, logits]);
      next.forEach((id, b) => {
        if (done[b]) return;
        (out[b] as number[]).push(id);
        if (o.eosId !== undefined && o.eosId !== null && id === o.eosId) done[b] = true;
      });
      if (step === o.maxNewTokens - 1 || done.every(Boolean)) break;
      const ids = tf.tensor2d(next, [B, 1], 'int32');
      // the new column is real for every example; padded prompt columns stay masked through the cache
      try {
        logits = model.forward({ ids, spans: examples.map((e) => e.spans) }, { hooks: o.hooks, cache });
      } finally {
        ids.dispose();
      }
    }
    return out;
  } finally {
    cache.dispose();
    dispose();
  }
}
