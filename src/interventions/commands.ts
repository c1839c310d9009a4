/**
 * The library side of `narrowgate generate` and `narrowgate extract`: each takes plain options,
 * does the whole job and returns plain values (the CLI only parses and prints).
 */
import { promises as fsp } from 'node:fs';
import { basename, dirname, resolve as resolvePath } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { decodeResize } from '../data/images.js';
import { openDataset, type DatasetImage } from '../data/open.js';
import { generate } from '../model/generate.js';
import { createStoreWriter } from '../store/index.js';
import { UserError } from '../util/errors.js';
import type { ProgressFactory } from '../util/progress.js';
import { runWithCache } from '../hooks/run.js';
import { compile, imageDonorKey, type DonorRun } from './compile.js';
import { extractActivations, planExtraction, type ExtractExample } from './extract.js';
import { imageTensors, loadPipeline, type Pipeline } from './pipeline.js';
import { parseSelectorList } from './selectors.js';
import { parseInterventionsText, type InterventionSpec } from './spec.js';

/** Reads and validates an intervention spec file (JSON: one intervention or a list). */
export async function readSpecFile(path: string): Promise<InterventionSpec[]> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch {
    throw new UserError(`Cannot read intervention spec ${path}: the file does not exist or is not readable.`);
  }
  return parseInterventionsText(text, path);
}

async function loadImage(p: Pipeline, path: string) {
  try {
    return await decodeResize(path, p.imageSize, p.channels === 1 ? 1 : 3);
  } catch (e) {
    throw new UserError(`Cannot read image ${path} (${(e as Error).message}); expected a PNG, JPEG or WebP file.`);
  }
}

/**
 * Runs the donor images named by patch specs (donor {image, prompt?}) and keeps the patched hooks'
 * activations, keyed as compile() expects. Image paths are relative to `baseDir`. Dispose the result.
 */
export async function runImageDonors(p: Pipeline, specs: readonly InterventionSpec[], baseDir?: string): Promise<{ donors: Record<string, DonorRun>; dispose(): void }> {
  const donors: Record<string, DonorRun> = {};
  const caches: { dispose(): void }[] = [];
  try {
    for (const s of specs) {
      if (s.type !== 'patch' || !('image' in s.donor)) continue;
      const key = imageDonorKey(s.donor);
      const raw = await loadImage(p, baseDir ? resolvePath(baseDir, s.donor.image) : s.donor.image);
      const [ex] = await p.prepare([{ id: 0, image: raw, prompt: s.donor.prompt }]);
      const img = imageTensors(p, [ex!]);
      const ids = tf.tensor2d([Array.from(ex!.ids)], [1, ex!.ids.length], 'int32');
      try {
        const { logits, cache } = runWithCache(p.model, { ids, spans: [ex!.spans], ...img }, { names: [s.hook] });
        logits.dispose();
        caches.push(cache);
        // several specs may share a donor image: merge their hooks under one key
        const prev = donors[key];
        donors[key] = prev
          ? { spans: prev.spans, cache: { get: (n: string) => (cache.has(n) ? cache.get(n) : prev.cache.get(n)) } }
          : { spans: [ex!.spans], cache };
      } finally {
        ids.dispose();
        img.pixels?.dispose();
        img.features?.dispose();
      }
    }
  } catch (e) {
    for (const c of caches) c.dispose();
    throw e;
  }
  return { donors, dispose: () => caches.forEach((c) => c.dispose()) };
}

async function greedy(p: Pipeline, ex: ExtractExample, maxNewTokens: number, hooks = [] as Awaited<ReturnType<typeof compile>>): Promise<{ text: string; tokens: number[] }> {
  const img = imageTensors(p, [ex]);
  try {
    const res = await generate(p.model, { prompts: [Array.from(ex.ids)], spans: [ex.spans], ...img }, { maxNewTokens, allowedIds: Array.from(p.layout.textIds()), hooks });
    const tokens = res.tokens[0]!;
    return { text: p.tokenizer.decode(tokens, { skipSpecials: true, stopAtEos: true }), tokens };
  } finally {
    img.pixels?.dispose();
    img.features?.dispose();
  }
}

export interface GenerateEditOptions {
  checkpoint: string;
  image: string;
  prompt?: string;
  /** Intervention spec file; without it only the plain output is produced. */
  edit?: string;
  maxNewTokens?: number;
}

export interface GenerateEditResult {
  prompt: string;
  output: string;
  edited: string | null;
  specs: InterventionSpec[];
}

/** Greedy generation for one image (+ prompt), without and with the edit. */
export async function generateWithEdit(o: GenerateEditOptions): Promise<GenerateEditResult> {
  const specs = o.edit ? await readSpecFile(o.edit) : [];
  const p = await loadPipeline(o.checkpoint);
  try {
    let raw;
    try {
      raw = p.readImage ? await p.readImage(o.image) : await decodeResize(o.image, p.imageSize, p.channels === 1 ? 1 : 3);
    } catch (e) {
      throw new UserError(`Cannot read image ${o.image} (${(e as Error).message}); expected a PNG, JPEG or WebP file.`);
    }
    const [ex] = await p.prepare([{ id: 0, image: raw, prompt: o.prompt }]);
    const n = o.maxNewTokens ?? 20;
    const plain = await greedy(p, ex!, n);
    let edited: string | null = null;
    if (specs.length) {
      const baseDir = o.edit ? dirname(resolvePath(o.edit)) : undefined;
      const donors = await runImageDonors(p, specs, baseDir);
      try {
        const hooks = await compile(specs, p.model, { baseDir, donors: donors.donors });
        edited = (await greedy(p, ex!, n, hooks)).text;
      } finally {
        donors.dispose();
      }
    }
    return { prompt: o.prompt ?? '', output: plain.text, edited, specs };
  } finally {
    p.dispose();
  }
}

export interface ExtractRunOptions {
  checkpoint: string;
  data: string;
  hooks: string[];
  layers: 'all' | number[];
  positions: string;
  out: string;
  edit?: string;
  split?: string;
  limit?: number;
  prompt?: string;
  /** Append each image's first caption after the prompt (teacher-forced). */
  withCaption?: boolean;
  batchSize?: number;
  seed?: number;
  runId?: string;
  /** Shard the output into a directory: one file per layer and/or every N rows. */
  shardByLayer?: boolean;
  shardRows?: number;
  backend: string;
  progress: ProgressFactory;
}

export interface ExtractRunResult {
  out: string;
  examples: number;
  rows: number;
  hooks: string[];
  layers: number[];
  d: number;
  sharded: boolean;
}

/** Extracts activations of a dataset (one split, or all) into an Arrow store at `out`. */
export async function extractDataset(o: ExtractRunOptions): Promise<ExtractRunResult> {
  const specs = o.edit ? await readSpecFile(o.edit) : [];
  parseSelectorList(o.positions); // validates every entry
  const selectors = o.positions.split(',').map((s) => s.trim());
  const ds = await openDataset(o.data);
  const p = await loadPipeline(o.checkpoint);
  let disposeDonors = (): void => {};
  try {
    const plan = planExtraction(p.model, { hooks: o.hooks, layers: o.layers });
    const baseDir = o.edit ? dirname(resolvePath(o.edit)) : undefined;
    const donors = await runImageDonors(p, specs, baseDir);
    disposeDonors = donors.dispose;
    const env = { baseDir, seed: o.seed, donors: donors.donors };
    const interventions = await compile(specs, p.model, env);
    const rowsIdx = o.split ? ds.indices(o.split) : Array.from({ length: ds.length }, (_, i) => i);
    if (o.split && rowsIdx.length === 0) throw new UserError(`Dataset ${o.data} has no images in split "${o.split}"; expected one of its splits (train, val, test).`);
    const chosen = o.limit !== undefined ? rowsIdx.slice(0, o.limit) : rowsIdx;
    const sharded = Boolean(o.shardByLayer || o.shardRows);
    const writer = createStoreWriter(
      o.out,
      {
        runId: o.runId ?? basename(o.out).replace(/\.arrow$/, ''),
        d: plan.d,
        checkpointHash: `sha256:${p.sha256}`,
        recipe: p.recipe ?? '',
        backend: o.backend,
        interventions: specs,
        extra: { dataset: resolvePath(o.data), split: o.split ?? 'all', positions: selectors.join(','), checkpoint: resolvePath(o.checkpoint) },
      },
      { hooks: plan.hooks, shards: sharded ? { shardBy: o.shardByLayer ? 'layer' : 'rows', maxRows: o.shardRows } : undefined },
    );
    const chunk = Math.max(1, o.batchSize ?? 16);
    async function* examples(): AsyncIterable<ExtractExample> {
      for (let s = 0; s < chosen.length; s += chunk) {
        const imgs: DatasetImage[] = chosen.slice(s, s + chunk).map((i) => ds.get(i));
        const items = imgs.map((im) => ({
          id: im.id,
          label: im.label,
          image: { width: im.width, height: im.height, channels: im.channels, pixels: im.pixels },
          prompt: o.prompt,
          target: o.withCaption ? ds.captions(im.id)[0] : undefined,
        }));
        yield* await p.prepare(items);
      }
    }
    try {
      const res = await extractActivations(p.model, examples(), { hooks: o.hooks, layers: o.layers, positions: selectors, interventions, compileEnv: env, batchSize: o.batchSize, seed: o.seed, progress: o.progress, total: chosen.length }, writer);
      await writer.close();
      const layers = [...new Set(plan.sites.map((s) => s.layer))];
      return { out: o.out, examples: res.examples, rows: res.rows, hooks: plan.hooks, layers, d: plan.d, sharded };
    } catch (e) {
      await writer.abort();
      throw e;
    }
  } finally {
    disposeDonors();
    p.dispose();
  }
}
