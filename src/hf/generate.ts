/**
 * Greedy decoding for HfModel through the engine's generate (KV cache; transformers'
 * generate(do_sample=False)). The argmax runs over every vocabulary column of the model's logits:
 * Chameleon's image codes hold float32 min there, so text generation never picks them. Hooks (e.g.
 * compiled interventions) apply to the prompt pass and every step.
 */
import type { NamedHook } from '../hooks/types.js';
import { generate } from '../model/generate.js';
import type { HfExample, HfModel } from './model.js';

export interface GreedyOptions {
  maxNewTokens: number;
  hooks?: readonly NamedHook[];
  /** Stop ids (the stop id is included); default: the config's eos, as transformers' generate; null: never stop. */
  eos?: number | readonly number[] | null;
}

/** Generated ids per example. */
export async function greedyGenerate(model: HfModel, examples: readonly HfExample[], o: GreedyOptions): Promise<number[][]> {
  const { input, dispose } = model.batch(examples);
  try {
    const res = await generate(model, { prompts: examples.map((e) => e.ids), spans: input.spans, features: input.features }, {
      maxNewTokens: o.maxNewTokens,
      eos: o.eos === undefined ? model.special.eos : o.eos,
      hooks: o.hooks,
    });
    return res.tokens;
  } finally {
    dispose();
  }
}

