/**
 * Checkpoint directories (DESIGN.md section 8):
 *
 *   model.safetensors     F32 (or, with dtype F16, F16) weights keyed by parameter name (F16/BF16/F64 are read)
 *   config.json           the model config (for our models: the ModelConfig, with its "family")
 *   tokenizer.json        the text tokenizer (src/tokenizers/word.ts format), optional
 *   recipe.resolved.yaml  the fully resolved training recipe, optional
 *   metrics.jsonl         one JSON object per line (training / validation metrics), optional
 *   README.md             the model card, optional
 *   image_tokenizer/      the native family's image tokenizer (src/tokenizers/image.ts), optional
 *
 * A save builds the whole directory under a temporary sibling name and renames it into place, so a
 * reader never sees half a checkpoint. A load verifies: every missing, unexpected, mis-shaped or
 * non-float tensor is named in one UserError. The sha256 of model.safetensors identifies the weights
 * (the activation store records it).
 *
 * saveModel / loadModel do the same for a model object: config.json is its ModelConfig, and loading
 * builds the family named there (createModel) and fills its variables.
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { readJson, writeDirAtomic } from '../util/fs.js';
import { encodeSafetensors, floatToHalf, readSafetensors, type NamedArray, type TensorToWrite } from './safetensors.js';
import { WordTokenizer } from '../tokenizers/word.js';
import type { ImageTokenizer } from '../tokenizers/image.js';
import type { ModelConfig } from './config.js';
import { createModel } from './factory.js';
import type { AdapterModel } from './adapter.js';
import type { NativeModel } from './native.js';
import type { VLModel } from './model.js';

export const CHECKPOINT_FILES = {
  weights: 'model.safetensors',
  config: 'config.json',
  tokenizer: 'tokenizer.json',
  recipe: 'recipe.resolved.yaml',
  metrics: 'metrics.jsonl',
  card: 'README.md',
  imageTokenizer: 'image_tokenizer',
} as const;

export interface SaveCheckpointOptions {
  /** Parameters by name; tensors and variables are read back (not disposed), plain arrays are written as they are. */
  params: Map<string, tf.Tensor | { shape: number[]; data: Float32Array }>;
  /** Written as config.json. */
  config: unknown;
  tokenizer?: WordTokenizer;
  /** The resolved recipe (YAML text). */
  recipe?: string;
  /** Metric records (one JSON line each) or ready JSONL text. */
  metrics?: readonly unknown[] | string;
  /** Model card (Markdown). */
  card?: string;
  /** Saved into image_tokenizer/. */
  imageTokenizer?: ImageTokenizer;
  /** Extra safetensors __metadata__ entries. */
  metadata?: Record<string, string>;
  /** Storage type of the weights: F32 (default) or F16 (half the size; loads back as float32 within F16 rounding). */
  dtype?: 'F32' | 'F16';
}

/** Float32 values as F16 bit patterns (round to nearest even). */
export function toHalfBits(data: Float32Array): Uint16Array {
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = floatToHalf(data[i] as number);
  return out;
}

/** sha256 (hex) of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Writes a checkpoint directory atomically; returns the sha256 of its model.safetensors. */
export async function saveCheckpoint(dir: string, opts: SaveCheckpointOptions): Promise<{ sha256: string }> {
  const tensors: TensorToWrite[] = [];
  for (const [name, p] of opts.params) {
    if (p instanceof tf.Tensor) {
      if (p.dtype !== 'float32') throw new Error(`saveCheckpoint: parameter "${name}" is ${p.dtype}, expected float32`);
      tensors.push({ name, shape: [...p.shape], data: (await p.data()) as Float32Array });
    } else {
      tensors.push({ name, shape: [...p.shape], data: p.data });
    }
  }
  if (opts.dtype === 'F16') for (const t of tensors) if (t.data instanceof Float32Array) t.data = toHalfBits(t.data);
  const bytes = encodeSafetensors(tensors, { format: 'pt', producer: 'narrowgate', ...opts.metadata });
  await writeDirAtomic(dir, async (tmp) => {
    await fsp.writeFile(join(tmp, CHECKPOINT_FILES.weights), bytes);
    await fsp.writeFile(join(tmp, CHECKPOINT_FILES.config), JSON.stringify(opts.config, null, 2) + '\n');
    if (opts.tokenizer) await fsp.writeFile(join(tmp, CHECKPOINT_FILES.tokenizer), JSON.stringify(opts.tokenizer.toJSON(), null, 1) + '\n');
    if (opts.recipe !== undefined) await fsp.writeFile(join(tmp, CHECKPOINT_FILES.recipe), opts.recipe);
    if (opts.metrics !== undefined) {
      const text = typeof opts.metrics === 'string' ? opts.metrics : opts.metrics.map((m) => JSON.stringify(m) + '\n').join('');
      await fsp.writeFile(join(tmp, CHECKPOINT_FILES.metrics), text);
    }
    if (opts.card !== undefined) await fsp.writeFile(join(tmp, CHECKPOINT_FILES.card), opts.card);
    if (opts.imageTokenizer) {
      const sub = join(tmp, CHECKPOINT_FILES.imageTokenizer);
      await fsp.mkdir(sub);
      await opts.imageTokenizer.save(sub);
    }
  });
  return { sha256: createHash('sha256').update(bytes).digest('hex') };
}

const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64']);

/**
 * Compares tensors with the expected names and shapes; returns one line per problem (empty = fits).
 * Every missing, unexpected, mis-shaped or non-float tensor is listed.
 */
export function tensorProblems(tensors: ReadonlyMap<string, { shape: readonly number[]; dtype?: string }>, expected: ReadonlyMap<string, readonly number[]>): string[] {
  const missing: string[] = [], unexpected: string[] = [], shapes: string[] = [], dtypes: string[] = [];
  for (const [name, shape] of expected) {
    const t = tensors.get(name);
    if (!t) missing.push(name);
    else if (t.shape.join() !== shape.join()) shapes.push(`${name} [${t.shape.join(', ')}] (expected [${shape.join(', ')}])`);
    else if (t.dtype !== undefined && !FLOAT_DTYPES.has(t.dtype)) dtypes.push(`${name} ${t.dtype} (expected a float type)`);
  }
  for (const name of tensors.keys()) if (!expected.has(name)) unexpected.push(name);
  const out: string[] = [];
  if (missing.length) out.push(`missing ${missing.join(', ')}`);
  if (unexpected.length) out.push(`unexpected ${unexpected.join(', ')}`);
  if (shapes.length) out.push(`wrong shape ${shapes.join(', ')}`);
  if (dtypes.length) out.push(`wrong dtype ${dtypes.join(', ')}`);
  return out;
}

/** Paths (a.b.c) where two JSON values differ; empty when equal. */
export function configDiff(expected: unknown, actual: unknown, path = ''): string[] {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
  if (isObj(expected) && isObj(actual) && Array.isArray(expected) === Array.isArray(actual)) {
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    return [...keys].flatMap((k) => configDiff(expected[k], actual[k], path ? `${path}.${k}` : k));
  }
  if (JSON.stringify(expected) === JSON.stringify(actual)) return [];
  const at = path || '(root)';
  if (actual === undefined) return [`${at} is missing (expected ${JSON.stringify(expected)})`];
  if (expected === undefined) return [`${at} is not expected (${JSON.stringify(actual)})`];
  return [`${at}: ${JSON.stringify(actual)} (expected ${JSON.stringify(expected)})`];
}

export interface LoadCheckpointOptions {
  /** Expected tensor names and shapes; any difference is a UserError listing all of them. */
  expected?: ReadonlyMap<string, readonly number[]>;
  /** When given, config.json must equal it (e.g. when resuming); differences are listed. */
  expectConfig?: unknown;
}

export interface LoadedCheckpoint {
  dir: string;
  /** Parsed config.json. */
  config: unknown;
  /** Tensors by name (floats as Float32Array). */
  tensors: Map<string, NamedArray>;
  metadata: Record<string, string>;
  tokenizer: WordTokenizer | null;
  /** sha256 (hex) of model.safetensors. */
  sha256: string;
  /** Path of the image tokenizer subfolder, or null when absent. */
  imageTokenizerDir: string | null;
  recipe: string | null;
}

/** Reads and verifies a checkpoint directory (see the file comment). */
export async function loadCheckpoint(dir: string, opts: LoadCheckpointOptions = {}): Promise<LoadedCheckpoint> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`Checkpoint ${dir} does not exist or is not a directory; expected a checkpoint directory.`);
  const need = (file: string): string => {
    const p = join(dir, file);
    if (!existsSync(p)) throw new UserError(`${dir} is not a complete checkpoint: ${file} is missing.`);
    return p;
  };
  const configPath = need(CHECKPOINT_FILES.config);
  const weightsPath = need(CHECKPOINT_FILES.weights);
  const config = await readJson(configPath, 'checkpoint config');
  if (opts.expectConfig !== undefined) {
    const diff = configDiff(opts.expectConfig, config);
    if (diff.length) throw new UserError(`The config of checkpoint ${dir} does not match: ${diff.join('; ')}.`);
  }
  const { tensors, metadata } = await readSafetensors(weightsPath);
  if (opts.expected) {
    const problems = tensorProblems(tensors, opts.expected);
    if (problems.length) throw new UserError(`The weights in ${weightsPath} do not fit the model: ${problems.join('; ')}.`);
  }
  const tokPath = join(dir, CHECKPOINT_FILES.tokenizer);
  const tokenizer = existsSync(tokPath) ? await WordTokenizer.load(tokPath) : null;
  const recipePath = join(dir, CHECKPOINT_FILES.recipe);
  const imgDir = join(dir, CHECKPOINT_FILES.imageTokenizer);
  return {
    dir, config, tensors, metadata, tokenizer,
    sha256: await sha256File(weightsPath),
    imageTokenizerDir: existsSync(imgDir) ? imgDir : null,
    recipe: existsSync(recipePath) ? await fsp.readFile(recipePath, 'utf8') : null,
  };
}

/** Saves a model's parameters and config (its ModelConfig becomes config.json) plus the extras. */
export async function saveModel(dir: string, model: VLModel, extras: Omit<SaveCheckpointOptions, 'params' | 'config'> = {}): Promise<{ sha256: string }> {
  return saveCheckpoint(dir, { ...extras, params: model.namedParameters(), config: model.config });
}

export interface LoadedModel {
  model: NativeModel | AdapterModel;
  config: ModelConfig;
  tokenizer: WordTokenizer | null;
  sha256: string;
  imageTokenizerDir: string | null;
  recipe: string | null;
  metadata: Record<string, string>;
}

/**
 * Builds the model of config.json's family and loads its weights. Every missing, unexpected or
 * mis-shaped tensor is listed in one UserError; with `expectConfig` (resuming) the config must match.
 */
export async function loadModel(dir: string, opts: { expectConfig?: ModelConfig } = {}): Promise<LoadedModel> {
  const ck = await loadCheckpoint(dir, { expectConfig: opts.expectConfig });
  const config = ck.config as ModelConfig;
  const cfgPath = join(dir, CHECKPOINT_FILES.config);
  if (typeof config !== 'object' || config === null || (config.family !== 'native' && config.family !== 'adapter')) {
    throw new UserError(`${cfgPath} has family ${JSON.stringify((config as { family?: unknown } | null)?.family)}; expected "native" or "adapter".`);
  }
  if (typeof config.decoder !== 'object' || config.decoder === null) throw new UserError(`${cfgPath} has no "decoder" object; expected a narrowgate model config.`);
  const model = createModel(config);
  try {
    const params = model.namedParameters();
    const expected = new Map([...params].map(([name, v]) => [name, v.shape] as [string, number[]]));
    const problems = tensorProblems(ck.tensors, expected);
    if (problems.length) throw new UserError(`The weights in ${join(dir, CHECKPOINT_FILES.weights)} do not fit the model of its config.json: ${problems.join('; ')}.`);
    for (const [name, v] of params) {
      const t = ck.tensors.get(name) as NamedArray;
      tf.tidy(() => v.assign(tf.tensor(t.data, v.shape, 'float32')));
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  return {
    model, config, tokenizer: ck.tokenizer, sha256: ck.sha256,
    imageTokenizerDir: ck.imageTokenizerDir, recipe: ck.recipe, metadata: ck.metadata,
  };
}
