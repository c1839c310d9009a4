/**
 * `narrowgate analyze overlap` (E4): chi^{l,gt}, the neighbourhood overlap with the dataset's labels,
 * per layer of blocks.{l}.hook_resid_post and per position kind: [EOI], the last image token, the mean
 * over image tokens, and image positions singled out by E3 ("pos N", offsets in the image span).
 * k = 30, Euclidean on raw vectors, classes weighted equally; chance = 1/#classes. Neighbours come
 * from HNSW (hnswlib-node) with recall@k against exact kNN on a sample beside every value, or exact
 * (--exact). Vectors come from running the model on the dataset, or from an activation store
 * (extract --positions @eoi,@all-image); HNSW indexes are saved in a folder (by default next to the
 * store: STORE.hnsw/) and reused when their fingerprint matches the vectors.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildHnsw, loadHnsw, neighbourhoodOverlap, saveHnsw, type HnswIndex, type Matrix } from '../analysis/index.js';
import { imagePositions } from '../interventions/selectors.js';
import { openStore } from '../store/index.js';
import { matchHookAlias } from '../store/reader.js';
import { UserError } from '../util/errors.js';
import { readJson } from '../util/fs.js';
import { vectorHook, forwardExamples, inBatches, labelOf, layerList, modelInfo, openInputs, progressOf, rawOf, requireLabels, resultsDoc, rowOf, writeOutputs, type CommonOptions } from './common.js';
import type { ResultsDoc } from '../report/results.js';

export interface OverlapRunOptions extends CommonOptions {
  /** Dataset label field (default "shape" when the dataset has it, else "label"). */
  labelField?: string;
  k?: number;
  /** Exact kNN instead of HNSW. */
  exact?: boolean;
  layers?: 'all' | number[];
  /** Image offsets (0 = first image token) singled out by E3, each reported as "pos N". */
  imageOffsets?: number[];
  /** Also the positions E3 singled out: an `analyze attention` output directory (its figure-e3.json). */
  fromAttention?: string;
  prompt?: string;
  /** Block hook read (default resid_post). */
  hook?: string;
  /** Read vectors from this activation store instead of running the model (the same hook). */
  store?: string;
  /** Where HNSW indexes are saved and reused (default: STORE.hnsw next to a store, else OUT/hnsw). */
  indexDir?: string;
  /** HNSW parameters. */
  M?: number;
  efConstruction?: number;
  ef?: number;
  /** Rows for the recall estimate (default 500). */
  recallSample?: number;
}

export interface OverlapRecord {
  layer: number;
  positionKind: string;
  overlap: number;
  recall: number | null;
  n: number;
  index?: 'built' | 'reused';
}

export interface OverlapRunResult {
  records: OverlapRecord[];
  chance: number;
  k: number;
  classes: number;
  settings: Record<string, unknown>;
  doc: ResultsDoc;
}

/** Vectors per (kind, layer): row i belongs to example i. */
type Collected = Map<string, Map<number, Float32Array>>;

function defaultField(fields: Record<string, string[]>): string {
  return fields.shape?.length ? 'shape' : 'label';
}

/** Overlap of one matrix, with an HNSW index reused from (or saved to) `indexPath`. */
export async function overlapWithIndex(x: Matrix, labels: ArrayLike<number>, o: OverlapRunOptions, seed: number, indexPath?: string): Promise<{ value: number; recall: number | null; index?: 'built' | 'reused' }> {
  const k = o.k ?? 30;
  if (o.exact) {
    const r = await neighbourhoodOverlap(x, labels, { k, method: 'exact' });
    return { value: r.value, recall: null };
  }
  let index: HnswIndex | undefined;
  let how: 'built' | 'reused' = 'built';
  if (indexPath && existsSync(indexPath) && existsSync(`${indexPath}.json`)) {
    try {
      index = loadHnsw(indexPath, x);
      how = 'reused';
    } catch (e) {
      if (!(e instanceof UserError)) throw e; // a stale index (other vectors): rebuilt below
    }
  }
  index ??= buildHnsw(x, { M: o.M, efConstruction: o.efConstruction, seed });
  if (indexPath && how === 'built') {
    mkdirSync(dirname(indexPath), { recursive: true });
    saveHnsw(index, indexPath);
  }
  const r = await neighbourhoodOverlap(x, labels, { k, method: 'hnsw', index, hnsw: { ef: o.ef }, recallSample: o.recallSample, seed });
  return { value: r.value, recall: r.recall, index: how };
}

const slug = (kind: string): string => kind.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();

/** The image offsets E3 singled out, from an `analyze attention` output directory or its figure-e3.json. */
export async function attentionOutliers(path: string): Promise<number[]> {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'figure-e3.json') : path;
  const doc = await readJson<{ outliers?: unknown }>(file, 'E3 figure data');
  if (!Array.isArray(doc.outliers) || !doc.outliers.every((x) => Number.isInteger(x) && x >= 0)) throw new UserError(`${file} has no outliers list; expected the figure-e3.json written by "narrowgate analyze attention".`);
  return doc.outliers as number[];
}

export async function runOverlap(o: OverlapRunOptions): Promise<OverlapRunResult> {
  if (o.fromAttention) o = { ...o, imageOffsets: [...new Set([...(o.imageOffsets ?? []), ...(await attentionOutliers(o.fromAttention))])].sort((a, b) => a - b) };
  const k = o.k ?? 30;
  if (!(Number.isInteger(k) && k >= 1)) throw new UserError(`--k ${k} is invalid; expected a positive integer (30 in the paper).`);
  const { p, ds, images, edit } = await openInputs(o);
  try {
    const field = o.labelField ?? defaultField(ds.labelFields);
    const hook = vectorHook(p, o.hook);
    const L = p.model.config.decoder.nLayers;
    const layers = layerList(o.layers, L);
    let labels: number[] = [];
    const vecs: Collected = new Map();
    let D = p.model.config.decoder.dModel;
    const kinds = ['[EOI]', 'last image', 'mean image', ...(o.imageOffsets ?? []).map((j) => `pos ${j}`)];
    if (o.store) {
      if (edit.specs.length) throw new UserError('--edit needs the model run; a store already holds its activations (extract --edit records the edit in the store).');
      if (o.imageOffsets?.length) throw new UserError('--image-offsets needs the model run; with --store only [EOI], last image and mean image are read.');
      ({ labels, d: D } = await storeVectors(o.store, hook, layers, images.map((im) => im.id), vecs, (id) => labelOf(ds.byId(id), field)));
    } else {
      requireLabels(ds, images, field);
      if (images.length - 1 < k) throw new UserError(`E4 with k = ${k} needs more than ${k} examples, got ${images.length}; raise --limit or lower --k.`);
      labels = images.map((im) => labelOf(im, field));
      for (const kind of kinds) vecs.set(kind, new Map(layers.map((l) => [l, new Float32Array(images.length * D)])));
      const names = layers.map((l) => `blocks.${l}.${hook}`);
      await inBatches(images, o.batchSize ?? 8, progressOf(o), 'overlap', async (batch, start) => {
        const exs = await p.prepare(batch.map((im) => ({ id: im.id, image: rawOf(im), prompt: o.prompt })));
        const r = await forwardExamples(p, exs, names, [], { edit, rows: exs.map((e) => (e.spans.eoi === null ? [] : [e.spans.eoi, ...imagePositions(e.spans)])) });
        exs.forEach((e, b) => {
          const img = imagePositions(e.spans);
          if (e.spans.eoi === null || img.length === 0) throw new UserError(`Example ${e.id} has no image or [EOI]; E4 needs images.`);
          for (const j of o.imageOffsets ?? []) if (!(Number.isInteger(j) && j >= 0 && j < img.length)) throw new UserError(`--image-offsets ${j} is outside the ${img.length} image positions (0..${img.length - 1}).`);
          layers.forEach((l, li) => {
            const act = r.acts.get(names[li]!)!;
            const put = (kind: string, v: Float32Array) => vecs.get(kind)!.get(l)!.set(v, (start + b) * D);
            put('[EOI]', rowOf(act, b, e.spans.eoi!));
            put('last image', rowOf(act, b, img[img.length - 1]!));
            const m = new Float32Array(D);
            for (const q of img) rowOf(act, b, q).forEach((v, c) => (m[c]! += v / img.length));
            put('mean image', m);
            for (const j of o.imageOffsets ?? []) put(`pos ${j}`, rowOf(act, b, img[j]!));
          });
        });
      });
    }
    const n = labels.length;
    if (n - 1 < k) throw new UserError(`E4 with k = ${k} needs more than ${k} examples, got ${n}; raise --limit or lower --k.`);
    const classes = new Set(labels).size;
    const indexDir = o.indexDir ?? (o.store ? `${o.store.replace(/\/$/, '')}.hnsw` : o.out ? join(o.out, 'hnsw') : undefined);
    const records: OverlapRecord[] = [];
    const bar = progressOf(o)('overlap layers', vecs.size * layers.length, 'set');
    for (const [kind, byLayer] of vecs) {
      for (const [l, data] of byLayer) {
        const path = indexDir && !o.exact ? join(indexDir, `${hook.replace(/^hook_/, '')}.L${l}.${slug(kind)}.hnsw`) : undefined;
        const r = await overlapWithIndex({ data, n, d: D }, labels, o, (o.seed ?? 0) + l, path);
        records.push({ layer: l, positionKind: kind, overlap: r.value, recall: r.recall, n, ...(r.index ? { index: r.index } : {}) });
        bar.tick(1);
      }
    }
    bar.done();
    records.sort((a, b) => a.layer - b.layer);
    const settings = { hook: `blocks.{l}.${hook}`, labelField: field, k, metric: 'euclidean', method: o.exact ? 'exact' : 'hnsw', classWeighting: 'equal', n, classes, source: o.store ? `store ${o.store}` : 'model run', indexDir: indexDir ?? null, prompt: o.prompt ?? '', split: o.split ?? 'all', interventions: edit.specs };
    const chance = 1 / classes;
    const info = modelInfo(p, o);
    const doc = resultsDoc('analyze overlap', { checkpoint: o.checkpoint, data: o.data }, {
      ...info, e4: { settings, chance, k, records: records.map((r) => ({ layer: r.layer, positionKind: r.positionKind, overlap: r.overlap, ...(r.recall !== null ? { recall: r.recall } : {}) })) },
    }, { name: ds.meta.name ?? ds.dir, images: n, classes });
    if (o.out) await writeOutputs(o.out, { 'results.json': doc, 'figure-e4.json': { model: info.name, chance, k, labelField: field, records: records.map((r) => ({ ...r, depth: L > 1 ? r.layer / (L - 1) : 0 })) } });
    return { records, chance, k, classes, settings, doc };
  } finally {
    p.dispose();
  }
}

/** [EOI], last image and mean image vectors per example from a store (one hook), in `ids` order. */
async function storeVectors(path: string, hookName: string, layers: number[], ids: number[], out: Collected, labelOfId: (id: number) => number): Promise<{ labels: number[]; d: number }> {
  const store = await openStore(path);
  const hook = matchHookAlias(hookName, store.hooks());
  if (!hook) throw new UserError(`Store ${path} has no ${hookName} rows (it holds ${store.hooks().join(', ') || 'nothing'}); expected a store made by "narrowgate extract --hooks ${hookName.replace(/^hook_/, '')} --positions @eoi,@all-image".`);
  const D = store.d;
  const row = new Map(ids.map((id, i) => [id, i]));
  const labels = ids.map(labelOfId);
  if (labels.some((x) => x < 0)) throw new UserError(`Some images have no label in the chosen field; expected labelled images.`);
  for (const kind of ['[EOI]', 'last image', 'mean image']) out.set(kind, new Map());
  for (const l of layers) {
    const eoi = await store.slice(hook, l, 'eoi');
    const img = await store.slice(hook, l, 'image');
    const e = new Float32Array(ids.length * D), last = new Float32Array(ids.length * D), meanImg = new Float32Array(ids.length * D);
    const seen = new Uint8Array(ids.length), lastPos = new Int32Array(ids.length).fill(-1), count = new Int32Array(ids.length);
    for (let i = 0; i < eoi.n; i++) {
      const r = row.get(eoi.exampleIds[i]!);
      if (r === undefined) continue;
      e.set(eoi.values.subarray(i * D, (i + 1) * D), r * D);
      seen[r] = 1;
    }
    for (let i = 0; i < img.n; i++) {
      const r = row.get(img.exampleIds[i]!);
      if (r === undefined) continue;
      const v = img.values.subarray(i * D, (i + 1) * D);
      for (let c = 0; c < D; c++) meanImg[r * D + c]! += v[c]!;
      count[r]!++;
      if (img.pos[i]! > lastPos[r]!) (lastPos[r] = img.pos[i]!), last.set(v, r * D);
    }
    const missing = ids.findIndex((_, r) => !seen[r] || count[r] === 0);
    if (missing >= 0) throw new UserError(`Store ${path} lacks [EOI] or image rows of example ${ids[missing]} at layer ${l}; expected "extract --positions @eoi,@all-image" over the same images.`);
    for (let r = 0; r < ids.length; r++) for (let c = 0; c < D; c++) meanImg[r * D + c]! /= count[r]!;
    out.get('[EOI]')!.set(l, e);
    out.get('last image')!.set(l, last);
    out.get('mean image')!.set(l, meanImg);
  }
  return { labels, d: D };
}
