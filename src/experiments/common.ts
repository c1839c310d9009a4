/**
 * Shared plumbing of the experiment runners (E1-E5, E7, E8): opening a checkpoint and a dataset,
 * choosing images, one padded forward pass over prepared examples that keeps chosen activations and
 * the logits at each example's last prompt position, the results document in src/report's shape, and
 * atomic output files. Everything returns plain arrays; tensors never leave this module.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve as resolvePath } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { decodeResize, type RawImage } from '../data/images.js';
import { openDataset, type Dataset, type DatasetImage } from '../data/open.js';
import { runWithCache, type ActivationCache } from '../hooks/run.js';
import type { NamedHook } from '../hooks/types.js';
import { readSpecFile } from '../interventions/commands.js';
import { compile } from '../interventions/compile.js';
import type { ExtractExample } from '../interventions/extract.js';
import type { InterventionSpec } from '../interventions/spec.js';
import { resolveHookAlias } from '../interventions/hooknames.js';
import { imageTensors, loadPipeline, type Pipeline } from '../interventions/pipeline.js';
import type { ModelInput } from '../model/model.js';
import { validateResults, type ResultsDoc } from '../report/results.js';
import { UserError } from '../util/errors.js';
import { readJson, writeFileAtomic } from '../util/fs.js';
import { noProgress, type ProgressFactory } from '../util/progress.js';

/** Options every runner takes. */
export interface CommonOptions {
  /** Checkpoint directory (narrowgate's, or a Hugging Face folder). */
  checkpoint: string;
  /** Dataset directory (made by `narrowgate data ...`). */
  data: string;
  split?: string;
  /** At most this many images (after the split). */
  limit?: number;
  seed?: number;
  /** Examples per forward pass (default 8). */
  batchSize?: number;
  /** Model name in the results document (default: the checkpoint folder's name). */
  name?: string;
  /** Directory for results.json and the figure data; nothing is written without it. */
  out?: string;
  progress?: ProgressFactory;
  /** Interventions active in every run of the experiment (a spec file, or specs): recorded in the results. */
  edit?: string;
  interventions?: InterventionSpec[];
}

/** The interventions applied to every run of an experiment, compiled once. */
export interface Edit {
  specs: InterventionSpec[];
  hooks: NamedHook[];
  /** The exampleIds array the hooks were compiled with (refilled per batch). */
  exampleIds: number[];
  baseDir?: string;
  seed?: number;
}

export interface Inputs {
  p: Pipeline;
  ds: Dataset;
  images: DatasetImage[];
  edit: Edit;
}

/** Opens the dataset and the checkpoint (the caller disposes inputs.p). */
export async function openInputs(o: CommonOptions): Promise<Inputs> {
  if (o.limit !== undefined && !(Number.isInteger(o.limit) && o.limit >= 1)) throw new UserError(`--limit ${o.limit} is invalid; expected a positive integer.`);
  if (o.batchSize !== undefined && !(Number.isInteger(o.batchSize) && o.batchSize >= 1)) throw new UserError(`--batch-size ${o.batchSize} is invalid; expected a positive integer.`);
  const ds = await openDataset(o.data);
  let images = [...ds.images(o.split)];
  if (images.length === 0) throw new UserError(`Dataset ${o.data} has no images in split "${o.split}"; expected one of its splits (train, val, test).`);
  if (o.limit !== undefined) images = images.slice(0, o.limit);
  const specs = [...(o.edit ? await readSpecFile(o.edit) : []), ...(o.interventions ?? [])];
  const baseDir = o.edit ? dirname(resolvePath(o.edit)) : undefined;
  const p = await loadPipeline(o.checkpoint);
  try {
    const exampleIds: number[] = [];
    const hooks = await compile(specs, p.model, { baseDir, seed: o.seed, exampleIds });
    return { p, ds, images, edit: { specs, hooks, exampleIds, baseDir, seed: o.seed } };
  } catch (e) {
    p.dispose();
    throw e;
  }
}

/** The label of `image` in `field` ("label" = the default field), -1 when it has none. */
export function labelOf(image: DatasetImage, field: string): number {
  return field === 'label' ? image.label : (image.labels[field] ?? -1);
}

/** Checks that the dataset has the label field and that every chosen image carries a label in it. */
export function requireLabels(ds: Dataset, images: readonly DatasetImage[], field: string): string[] {
  const names = ds.labelFields[field];
  if (!names || names.length === 0) {
    throw new UserError(`Dataset ${ds.dir} has no label field "${field}"; expected one of ${Object.keys(ds.labelFields).join(', ') || '(none: the dataset is unlabelled)'}.`);
  }
  const missing = images.filter((im) => labelOf(im, field) < 0).length;
  if (missing > 0) throw new UserError(`${missing} of the chosen images of ${ds.dir} have no "${field}" label; expected labelled images (pick another --label-field or split).`);
  return names;
}

/** An image file as the pipeline reads it (its own preprocessing for Hugging Face folders, else resized). */
export async function readImageFile(p: Pipeline, path: string): Promise<RawImage> {
  try {
    return p.readImage ? await p.readImage(path) : await decodeResize(path, p.imageSize, p.channels === 1 ? 1 : 3);
  } catch (e) {
    throw new UserError(`Cannot read image ${path} (${(e as Error).message}); expected a PNG, JPEG or WebP file.`);
  }
}

/** Pipeline input of a dataset image. */
export function rawOf(im: DatasetImage) {
  return { width: im.width, height: im.height, channels: im.channels, pixels: im.pixels };
}

/** A kept activation: [B, T, ...] (all positions), or [B, R, D] rows with `index[b]` = position -> row. */
export interface Activation {
  data: Float32Array;
  shape: number[];
  index?: Map<number, number>[];
}

export interface ForwardResult {
  /** Per requested hook name, the activation (all positions, or the requested rows) as a flat array. */
  acts: Map<string, Activation>;
  /** Logits at each example's last prompt position (V values each). */
  last: Float32Array[];
  /** With keepCache: the run's activation cache (a donor run for patch specs); the caller disposes it. */
  cache?: ActivationCache;
}

/**
 * One forward pass over prepared examples (right-padded to the longest), with the experiment's edit
 * (when given) and `hooks` active, keeping the activations of `names` and the logits at each
 * example's last position. With `rows` (positions per example), only those rows of each [B, T, D]
 * activation are gathered inside the pass and kept, so memory does not grow with the sequence.
 */
export async function forwardExamples(p: Pipeline, batch: readonly ExtractExample[], names: readonly string[], hooks: readonly NamedHook[] = [], opts: { keepCache?: boolean; edit?: Edit; rows?: readonly (readonly number[])[] } = {}): Promise<ForwardResult> {
  if (opts.rows && !opts.keepCache) return forwardRows(p, batch, names, hooks, opts.rows, opts.edit);
  if (batch.length === 0) return { acts: new Map(), last: [] };
  if (opts.edit) {
    opts.edit.exampleIds.length = 0;
    opts.edit.exampleIds.push(...batch.map((e) => e.id));
    hooks = [...opts.edit.hooks, ...hooks];
  }
  const T = Math.max(...batch.map((e) => e.ids.length));
  const pad = p.model.config.special.pad;
  const flat = new Int32Array(batch.length * T).fill(pad);
  batch.forEach((e, b) => flat.set(Array.from(e.ids), b * T));
  const img = imageTensors(p, batch);
  const input: ModelInput = {
    ids: tf.tensor2d(flat, [batch.length, T], 'int32'),
    attentionMask: batch.map((e) => Array.from({ length: T }, (_, t) => (t < e.ids.length ? 1 : 0))),
    spans: batch.map((e) => e.spans),
    ...img,
  };
  let run: ReturnType<typeof runWithCache> | undefined;
  let keep = false;
  try {
    run = runWithCache(p.model, input, { names }, { hooks, logitColumns: batch.map((e) => e.ids.length - 1) });
    const logits = (await run.logits.data()) as Float32Array;
    const V = run.logits.shape[2]!;
    const last = batch.map((_, b) => logits.slice(b * V, (b + 1) * V));
    const acts = new Map<string, Activation>();
    for (const n of names) {
      const t = run.cache.get(n);
      acts.set(n, { data: (await t.data()) as Float32Array, shape: t.shape.slice() });
    }
    keep = Boolean(opts.keepCache);
    return keep ? { acts, last, cache: run.cache } : { acts, last };
  } finally {
    run?.logits.dispose();
    if (!keep) run?.cache.dispose();
    input.ids.dispose();
    img.pixels?.dispose();
    img.features?.dispose();
  }
}

/** forwardExamples with `rows`: gathering hooks after every other hook, [B, R, D] per name. */
async function forwardRows(p: Pipeline, batch: readonly ExtractExample[], names: readonly string[], hooks: readonly NamedHook[], rows: readonly (readonly number[])[], edit?: Edit): Promise<ForwardResult> {
  const lists = batch.map((e, b) => {
    const r = [...new Set(rows[b] ?? [])].sort((x, y) => x - y);
    for (const q of r) if (!(Number.isInteger(q) && q >= 0 && q < e.ids.length)) throw new Error(`forwardExamples: row ${q} outside example ${e.id}'s 0..${e.ids.length - 1}`);
    return r.length ? r : [0];
  });
  const R = Math.max(...lists.map((r) => r.length));
  const index = lists.map((r) => new Map(r.map((q, i) => [q, i] as const)));
  const kept = new Map<string, tf.Tensor>();
  const gather: NamedHook[] = names.map((name) => ({
    name,
    fn: (act: tf.Tensor) => {
      const [B, T] = act.shape as [number, number];
      const D = act.size / (B * T);
      const idx = new Int32Array(B * R);
      lists.forEach((r, b) => {
        for (let i = 0; i < R; i++) idx[b * R + i] = b * T + (r[Math.min(i, r.length - 1)] as number);
      });
      kept.get(name)?.dispose();
      kept.set(name, tf.keep(tf.reshape(tf.gather(tf.reshape(act, [B * T, D]), tf.tensor1d(idx, 'int32')), [B, R, D])));
    },
  }));
  try {
    const r = await forwardExamples(p, batch, [], [...hooks, ...gather], { edit });
    for (const n of names) {
      const t = kept.get(n);
      if (!t) throw new Error(`forwardExamples: hook ${n} did not fire`);
      r.acts.set(n, { data: (await t.data()) as Float32Array, shape: t.shape.slice(), index });
    }
    return r;
  } finally {
    for (const t of kept.values()) t.dispose();
  }
}

/** Row `pos` of example `b` of an activation (all positions, or gathered rows), a copy. */
export function rowOf(act: Activation, b: number, pos: number): Float32Array {
  const [, T, D] = act.shape as [number, number, number];
  const r = act.index ? act.index[b]?.get(pos) : pos;
  if (r === undefined || r < 0 || r >= T) throw new Error(`rowOf: position ${pos} of example ${b} was not kept`);
  return act.data.slice((b * T + r) * D, (b * T + r + 1) * D);
}

/** Splits items into batches and runs `fn` on each, ticking a progress bar. */
export async function inBatches<T>(items: readonly T[], size: number, progress: ProgressFactory, label: string, fn: (batch: T[], start: number) => Promise<void>): Promise<void> {
  const bar = progress(label, items.length, 'ex');
  for (let s = 0; s < items.length; s += size) {
    const chunk = items.slice(s, s + size);
    await fn(chunk, s);
    bar.tick(chunk.length);
  }
  bar.done();
}

export const progressOf = (o: { progress?: ProgressFactory }): ProgressFactory => o.progress ?? noProgress;

/** The model part of a results document (src/report/results.ts), without the experiment sections. */
export interface ModelInfo {
  name: string;
  family: 'native' | 'adapter';
  checkpointHash: string;
  recipe?: string;
  numLayers: number;
}

export function modelInfo(p: Pipeline, o: Pick<CommonOptions, 'checkpoint' | 'name'>): ModelInfo {
  const recipe = p.recipe ? /^name:\s*(\S.*)$/m.exec(p.recipe)?.[1]?.trim() : undefined;
  return {
    name: o.name ?? basename(resolvePath(o.checkpoint)),
    family: p.model.family,
    checkpointHash: `sha256:${p.sha256}`,
    ...(recipe ? { recipe } : {}),
    numLayers: p.model.config.decoder.nLayers,
  };
}

/** Non-finite numbers (undefined measurements) become null, as the results document expects. */
function finiteOrNull(v: unknown): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (Array.isArray(v)) return v.map(finiteOrNull);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, finiteOrNull(x)]));
  return v;
}

/**
 * A results document with one model (format "narrowgate-results", version 1): what `narrowgate report`
 * reads. Checked against the report's schema here, so a runner can never write a document the report
 * rejects; fields beyond the schema (extra per-layer numbers) are kept.
 */
export function resultsDoc(command: string, options: Record<string, unknown>, model: ModelInfo & Record<string, unknown>, data?: { name: string; images: number; classes?: number }): ResultsDoc {
  const doc = finiteOrNull({
    format: 'narrowgate-results',
    version: 1,
    createdAt: new Date().toISOString(),
    run: { command, ...options },
    ...(data ? { data: [data] } : {}),
    models: [model],
  });
  validateResults(doc, `${command} results`);
  return doc as ResultsDoc;
}

/**
 * Merges a new one-model document into an existing results document: the model of the same name
 * (and checkpoint) gets the new experiment sections, replacing those it had; another model is
 * appended; a different checkpoint under the same name replaces that model. Runs are listed in
 * run.commands. So several commands with one --out build one report.
 */
export function mergeResults(existing: ResultsDoc, doc: ResultsDoc): ResultsDoc {
  const models = [...existing.models];
  for (const m of doc.models) {
    const i = models.findIndex((x) => x.name === m.name);
    if (i < 0) models.push(m);
    else models[i] = models[i]!.checkpointHash === m.checkpointHash ? { ...models[i]!, ...m } : m;
  }
  const prev = (existing.run?.commands as unknown[] | undefined) ?? (existing.run ? [existing.run] : []);
  const data = [...(existing.data ?? [])];
  for (const d of doc.data ?? []) if (!data.some((x) => x.name === d.name)) data.push(d);
  return { ...existing, createdAt: doc.createdAt, run: { ...doc.run, commands: [...prev, doc.run] }, ...(data.length ? { data } : {}), models };
}

/**
 * Writes each file (name -> JSON value) under `dir`, each atomically; a results.json already there is
 * merged with the new one (mergeResults). Returns the paths written.
 */
export async function writeOutputs(dir: string, files: Record<string, unknown>): Promise<string[]> {
  const paths: string[] = [];
  for (const [name, v] of Object.entries(files)) {
    const path = join(dir, name);
    let value = v;
    if (name === 'results.json' && existsSync(path)) {
      let old: ResultsDoc;
      try {
        old = validateResults(await readJson(path, 'results file'), path);
      } catch (e) {
        throw new UserError(`${path} exists but is not a narrowgate results document (${(e as Error).message}); choose another --out.`);
      }
      value = mergeResults(old, v as ResultsDoc);
    }
    await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
    paths.push(path);
  }
  return paths;
}

/** Block hooks with one d_model vector per position: what the geometry analyses can read. */
export const VECTOR_HOOKS = ['hook_resid_pre', 'hook_resid_mid', 'hook_resid_post', 'hook_attn_out', 'hook_mlp_out', 'ln1.hook_normalized', 'ln2.hook_normalized'] as const;

/** A hook alias ("resid_post", "attn_out", ...) as the block-relative name; a UserError for other hooks. */
export function vectorHook(p: Pipeline, alias = 'resid_post'): string {
  const h = resolveHookAlias(alias, p.model.hookNames());
  if (!(VECTOR_HOOKS as readonly string[]).includes(h)) throw new UserError(`--hook ${alias} has no d_model vector per position; expected one of ${VECTOR_HOOKS.map((x) => x.replace(/^hook_/, '')).join(', ')}.`);
  return h;
}

/** Layer list "all" or explicit, checked against the model. */
export function layerList(layers: 'all' | readonly number[] | undefined, nLayers: number, flag = '--layers'): number[] {
  const out = layers === undefined || layers === 'all' ? Array.from({ length: nLayers }, (_, l) => l) : [...layers];
  for (const l of out) if (!(Number.isInteger(l) && l >= 0 && l < nLayers)) throw new UserError(`${flag}: layer ${l} is out of range 0..${nLayers - 1} for this model.`);
  if (out.length === 0) throw new UserError(`${flag} is empty; expected at least one layer.`);
  return out;
}

/**
 * Token ids of a word as the model's tokenizer reads it after a space (the way a class name follows
 * a prompt). narrowgate checkpoints: the word tokenizer; Hugging Face folders: the difference between
 * the prompt with and without the word (prepare() is their only tokenizer access).
 */
export async function wordIds(p: Pipeline, word: string): Promise<number[]> {
  const tok = p.tokenizer as { encode?: (t: string) => number[] };
  if (typeof tok.encode === 'function') return tok.encode(word);
  const [a, b] = await p.prepare([{ id: 0, image: null, prompt: 'x' }, { id: 1, image: null, prompt: `x ${word}` }]);
  const x = Array.from(a!.ids), y = Array.from(b!.ids);
  let i = 0;
  while (i < x.length && x[i] === y[i]) i++;
  let j = 0;
  while (j < x.length - i && x[x.length - 1 - j] === y[y.length - 1 - j]) j++;
  return y.slice(i, y.length - j);
}

/** The first token of a class name; a UserError when the tokenizer does not know the word. */
export async function classToken(p: Pipeline, name: string, unk?: number): Promise<number> {
  const ids = await wordIds(p, name);
  if (ids.length === 0 || (unk !== undefined && ids[0] === unk)) throw new UserError(`Class name "${name}" is not in the model's vocabulary; expected class names the tokenizer knows.`);
  return ids[0]!;
}

/** Mean of numbers (NaN for none). */
export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}
