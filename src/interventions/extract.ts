/**
 * Activation extraction into the store: run examples through the model in batches (with optional
 * interventions), keep the chosen hooks, and write one row per (example, hook, layer, position) for
 * the selected positions. Hooks are named store-style ("resid_post", "attn.hook_z", "hook_embed");
 * every extracted hook must have the same width per position (the store's d).
 */
import * as tf from '@tensorflow/tfjs';
import { runWithCache } from '../hooks/run.js';
import type { NamedHook } from '../hooks/types.js';
import type { ModelInput, VLModel } from '../model/model.js';
import { positionKind, type Spans } from '../model/spans.js';
import type { StoreWriter } from '../store/writer.js';
import { UserError } from '../util/errors.js';
import { noProgress, type ProgressFactory } from '../util/progress.js';
import type { CompileEnv } from './compile.js';
import { joinHookName, resolveHookAlias, splitHookName } from './hooknames.js';
import { parseSelectorList, resolveAll } from './selectors.js';

/** One prepared example: prompt ids and spans, plus the image input the family needs. */
export interface ExtractExample {
  id: number;
  /** Class label, -1 or absent for none. */
  label?: number;
  ids: ArrayLike<number>;
  spans: Spans;
  /** Adapter with a ViT: [H, W, C] floats in [0, 1]. */
  pixels?: Float32Array;
  /** Adapter without a ViT: backbone features [N, dIn]. */
  features?: Float32Array;
}

export interface ExtractOptions {
  /** Store-style hook names or aliases: "resid_post", "attn.hook_z", "hook_embed", ... */
  hooks: readonly string[];
  /** Decoder layers for block hooks ("all" = every layer). */
  layers: 'all' | readonly number[];
  /** Position selectors, e.g. ["@eoi", "@last-image"]; positions are their union per example. */
  positions: readonly string[];
  /** Intervention hooks (compile(specs, model, env)) active while extracting. */
  interventions?: readonly NamedHook[];
  /** The env the interventions were compiled with: its exampleIds are set to each batch's ids (for seeded selectors). */
  compileEnv?: CompileEnv;
  batchSize?: number;
  /** Seed for @random-image:N. */
  seed?: number;
  progress?: ProgressFactory;
  /** Total number of examples, for the progress bar when `examples` is a stream. */
  total?: number;
}

export interface ExtractPlan {
  /** Store-style names (the store's hook dictionary). */
  hooks: string[];
  /** Canonical model hook names to cache, with their store (hook, layer). */
  sites: { name: string; hook: string; layer: number }[];
  /** Width per position of every site. */
  d: number;
}

/** Resolves hook aliases and layers against the model; checks that every site has the same width. */
export function planExtraction(model: VLModel, opts: Pick<ExtractOptions, 'hooks' | 'layers'>): ExtractPlan {
  const names = model.hookNames();
  const nLayers = model.config.decoder.nLayers;
  const layers = opts.layers === 'all' ? Array.from({ length: nLayers }, (_, l) => l) : [...opts.layers];
  for (const l of layers) if (!Number.isInteger(l) || l < 0 || l >= nLayers) throw new UserError(`Layer ${l} is out of range 0..${nLayers - 1} for this model.`);
  const hooks = [...new Set(opts.hooks.map((h) => resolveHookAlias(h, names)))];
  if (hooks.length === 0) throw new UserError('No hooks to extract; expected at least one, e.g. resid_post.');
  const sites: ExtractPlan['sites'] = [];
  for (const hook of hooks) {
    if (hook.startsWith('vision.') || /hook_(pattern|attn_scores)$/.test(hook) || /attn\.hook_[kv]$/.test(hook)) {
      throw new UserError(`Hook "${hook}" cannot be extracted per sequence position; expected a decoder hook with one vector per position such as resid_post, attn.hook_z or mlp_out.`);
    }
    const perLayer = names.some((n) => splitHookName(n).hook === hook && splitHookName(n).layer >= 0);
    for (const layer of perLayer ? layers : [-1]) sites.push({ name: joinHookName(hook, layer), hook, layer });
  }
  const dec = model.config.decoder;
  const width = (hook: string): number =>
    /attn\.hook_(q|z)$/.test(hook) ? dec.nHeads * dec.headDim : hook === 'unembed.hook_out' ? dec.vocabSize : dec.dModel;
  const d = width(hooks[0]!);
  const other = hooks.find((h) => width(h) !== d);
  if (other) throw new UserError(`Hooks ${hooks[0]} (${d} values per position) and ${other} (${width(other)}) differ in width; extract them into separate stores.`);
  return { hooks, sites, d };
}

function batchInput(model: VLModel, batch: readonly ExtractExample[]): ModelInput {
  const T = Math.max(...batch.map((e) => e.ids.length));
  const pad = model.config.special.pad;
  const flat = new Int32Array(batch.length * T).fill(pad);
  batch.forEach((e, b) => flat.set(Array.from(e.ids), b * T));
  const input: ModelInput = {
    ids: tf.tensor2d(flat, [batch.length, T], 'int32'),
    attentionMask: batch.map((e) => Array.from({ length: T }, (_, t) => (t < e.ids.length ? 1 : 0))),
    spans: batch.map((e) => e.spans),
  };
  const stack = (key: 'pixels' | 'features', shape: number[]): tf.Tensor | undefined => {
    const have = batch.filter((e) => e[key]);
    if (have.length === 0) return undefined;
    if (have.length !== batch.length) throw new UserError(`Some examples of a batch have ${key} and some do not; expected every example with an image.`);
    const per = batch[0]![key]!.length;
    const all = new Float32Array(batch.length * per);
    batch.forEach((e, b) => all.set(e[key]!, b * per));
    return tf.tensor(all, [batch.length, ...shape]);
  };
  if (model.family === 'adapter' && model.config.family === 'adapter') {
    const v = model.config.vision;
    if (v) input.pixels = stack('pixels', [v.imageSize, v.imageSize, v.channels]);
    else {
      const n = batch[0]!.features ? batch[0]!.features.length / model.config.projector.dIn : 0;
      input.features = stack('features', [n, model.config.projector.dIn]);
    }
  }
  return input;
}

/**
 * Runs `examples` and writes the selected activations to `writer` (which the caller opened with
 * hooks = plan.hooks and d = plan.d, and closes). Returns the counts.
 */
export async function extractActivations(
  model: VLModel,
  examples: Iterable<ExtractExample> | AsyncIterable<ExtractExample>,
  opts: ExtractOptions,
  writer: StoreWriter,
): Promise<{ examples: number; rows: number }> {
  const plan = planExtraction(model, opts);
  if (writer.d !== plan.d) throw new Error(`extractActivations: the writer has d = ${writer.d}, the hooks give ${plan.d}`);
  const selectors = parseSelectorList(opts.positions.join(','));
  const B = Math.max(1, opts.batchSize ?? 8);
  const progress = (opts.progress ?? noProgress)('extract', opts.total ?? 0, 'ex');
  let count = 0;
  const startRows = writer.rows;
  let batch: ExtractExample[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const input = batchInput(model, batch);
    if (opts.compileEnv) opts.compileEnv.exampleIds = batch.map((e) => e.id);
    let result: ReturnType<typeof runWithCache> | undefined;
    try {
      result = runWithCache(model, input, { names: plan.sites.map((s) => s.name) }, { hooks: opts.interventions ?? [] });
      for (const site of plan.sites) {
        const t = result.cache.get(site.name);
        const T = t.shape[1]!;
        const data = (await t.data()) as Float32Array;
        batch.forEach((e, b) => {
          const pos = resolveAll(selectors, e.spans, { seed: opts.seed, exampleId: e.id });
          const values = new Float32Array(pos.length * plan.d);
          pos.forEach((p, i) => values.set(data.subarray((b * T + p) * plan.d, (b * T + p + 1) * plan.d), i * plan.d));
          const kinds = pos.map((p) => positionKind(e.spans, p));
          const tokenIds = pos.map((p, i) => (model.family === 'adapter' && kinds[i] === 'image' ? -1 : (e.ids[p] ?? -1)));
          writer.write({ exampleId: e.id, hook: site.hook, layer: site.layer, label: e.label ?? -1, pos, kinds, tokenIds, values });
        });
      }
    } finally {
      result?.logits.dispose();
      result?.cache.dispose();
      input.ids.dispose();
      input.pixels?.dispose();
      input.features?.dispose();
    }
    count += batch.length;
    progress.tick(batch.length);
    batch = [];
  };
  for await (const e of examples) {
    if (e.ids.length !== e.spans.length) throw new UserError(`Example ${e.id} has ${e.ids.length} ids but its spans say ${e.spans.length}; expected them to agree.`);
    batch.push(e);
    if (batch.length === B) await flush();
  }
  await flush();
  progress.done();
  return { examples: count, rows: writer.rows - startRows };
}
