/**
 * From a recipe to a model: the model config (vocabulary from the tokenizers), a seeded fresh model,
 * the trainable parameters after freezing, initialisation from a checkpoint's weights, and the
 * training-time knockouts as hard-block hooks.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../util/errors.js';
import { decoderConfig, type ModelConfig, type AdapterConfig, type NativeConfig } from '../model/config.js';
import type { VLModel } from '../model/model.js';
import { parameterGroup } from '../model/params.js';
import { loadCheckpoint } from '../model/checkpoint.js';
import type { NamedHook } from '../hooks/types.js';
import { compile } from '../interventions/compile.js';
import type { KnockoutSpec } from '../interventions/spec.js';
import type { VocabLayout } from '../tokenizers/vocab.js';
import { decaysByShape, type TrainableParam } from './optimizer.js';
import type { Recipe } from './recipe.js';

export const GROUPS = ['embed', 'decoder', 'vision', 'projector'] as const;

/**
 * The model config of a recipe. `channels`: image channels of the data; `featureDim`: width of the
 * frozen backbone's features (adapter with a pretrained encoder), else null.
 */
export function modelConfig(r: Recipe, layout: VocabLayout, channels: number, featureDim: number | null): ModelConfig {
  const m = r.model;
  const { vocabSize, special, imageCodeStart, imageCodeCount } = layout.modelFields();
  const decoder = decoderConfig({
    vocabSize, dModel: m.d_model, nLayers: m.n_layers, nHeads: m.n_heads,
    nKvHeads: m.n_kv_heads ?? m.n_heads, dMlp: m.d_mlp, ropeTheta: m.rope_theta, rmsNormEps: m.norm_eps, qkNorm: m.qk_norm,
  });
  if (m.family === 'native') {
    const cfg: NativeConfig = { family: 'native', decoder, special, imageCodeStart, imageCodeCount };
    return cfg;
  }
  const v = r.vision;
  const vit = v.encoder === 'vit';
  if (!vit && featureDim === null) throw new Error('modelConfig: a pretrained vision encoder needs its feature width');
  const cfg: AdapterConfig = {
    family: 'adapter', decoder, special,
    vision: vit ? { imageSize: r.image.size, patchSize: r.image.patch, channels, dModel: v.d_model, nLayers: v.n_layers, nHeads: v.n_heads, dMlp: v.d_mlp, rmsNormEps: m.norm_eps } : null,
    projector: { dIn: vit ? v.d_model : (featureDim as number), dHidden: m.d_model, activation: 'gelu_tanh' },
  };
  return cfg;
}

function matcher(pattern: string): (name: string) => boolean {
  if ((GROUPS as readonly string[]).includes(pattern)) return (n) => parameterGroup(n) === pattern;
  if (pattern.includes('*')) {
    const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    return (n) => re.test(n);
  }
  return (n) => n === pattern || n.startsWith(`${pattern}.`);
}

/** Parameters that train: all but those matched by `freeze` (group names, exact names or prefixes, globs). */
export function trainableParams(model: VLModel, freeze: readonly string[]): { params: TrainableParam[]; frozen: string[] } {
  const named = [...model.namedParameters()];
  const tests = freeze.map((p) => {
    const f = matcher(p);
    if (!named.some(([n]) => f(n))) {
      throw new UserError(`"freeze" entry "${p}" matches no parameter of this model; expected a group (${GROUPS.join(', ')}), a parameter name or prefix, or a glob such as "blocks.0.*".`);
    }
    return f;
  });
  const params: TrainableParam[] = [];
  const frozen: string[] = [];
  for (const [name, variable] of named) {
    if (tests.some((t) => t(name))) frozen.push(name);
    else params.push({ name, variable, decay: decaysByShape(variable) });
  }
  if (params.length === 0) throw new UserError('"freeze" leaves no parameter to train; expected at least one unfrozen group.');
  return { params, frozen };
}

/** Copies a checkpoint's weights into the model by name; groups in allowMissing may be absent from it. */
export async function initFromCheckpoint(model: VLModel, dir: string, allowMissing: readonly string[]): Promise<{ loaded: number; missing: string[] }> {
  const { tensors, config } = await loadCheckpoint(dir);
  const family = (config as { family?: unknown } | null)?.family;
  if (family !== model.family) {
    const a = (w: string): string => `${/^[aeiou]/.test(w) ? 'an' : 'a'} ${w}`;
    throw new UserError(`init.from ${dir} is ${typeof family === 'string' ? a(family) : 'not a narrowgate'} checkpoint but the recipe trains ${a(model.family)} model; expected ${a(model.family)} checkpoint.`);
  }
  const params = model.namedParameters();
  const missing: string[] = [];
  let loaded = 0;
  for (const [name, v] of params) {
    const t = tensors.get(name);
    if (!t) {
      missing.push(name);
      continue;
    }
    if (t.shape.join(',') !== v.shape.join(',')) {
      throw new UserError(`init.from ${dir}: "${name}" has shape [${t.shape}] but the recipe's model needs [${v.shape}]; the model sections must match.`);
    }
    tf.tidy(() => v.assign(tf.tensor(t.data, t.shape, 'float32')));
    loaded++;
  }
  const notAllowed = missing.filter((n) => !allowMissing.includes(parameterGroup(n)));
  if (notAllowed.length > 0) {
    throw new UserError(`init.from ${dir} lacks ${notAllowed.length} parameters of the model (e.g. "${notAllowed[0]}"); list their groups in init.allow_missing to keep them freshly initialised.`);
  }
  const extra = [...tensors.keys()].filter((n) => !params.has(n));
  if (extra.length > 0) throw new UserError(`init.from ${dir} has parameters the recipe's model does not (e.g. "${extra[0]}"); the model family and sizes must match.`);
  return { loaded, missing };
}

/**
 * The training-time knockouts as hooks, one list per spec, compiled once (src/interventions/compile.ts
 * resolves the selectors per example at every call). Whatever a spec's mode says, training uses a
 * hard block (-inf on the scores before the softmax): a model fine-tuned under post-softmax zeroing
 * learns to read the image through the softmax normaliser instead.
 */
export async function compileTrainingKnockouts(specs: readonly KnockoutSpec[], model: VLModel): Promise<NamedHook[][]> {
  const out: NamedHook[][] = [];
  for (const spec of specs) out.push(await compile({ ...spec, mode: 'renormalize' }, model));
  return out;
}
