/**
 * `narrowgate analyze modality-gap`: E1 (cross-modal cosine median and IQR per layer) and E2 (ADP
 * clusters of the same 2N vectors scored by homogeneity with respect to modality; Gride(8,16) and
 * TwoNN intrinsic dimension and the kNN log density beside it), on blocks.{l}.hook_resid_post (or --hook).
 *
 * Text vectors: image-then-caption sequences, one seeded random text position per item (after [EOI]).
 * Image vectors: caption-then-image sequences with one random image position (narrowgate's native
 * checkpoints, whose processor builds that order); otherwise (adapter models, Hugging Face folders)
 * the image-then-caption sequence itself at a random image position. The order used is recorded.
 */
import { adpFromNeighbours, gride, homogeneity, knnExact, modalityGap, twoNN, type Matrix } from '../analysis/index.js';
import type { ExtractExample } from '../interventions/extract.js';
import { imagePositions } from '../interventions/selectors.js';
import { SPECIAL_IDS } from '../tokenizers/word.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { forwardExamples, inBatches, modelInfo, vectorHook, openInputs, progressOf, rawOf, resultsDoc, rowOf, writeOutputs, type CommonOptions } from './common.js';
import type { ResultsDoc } from '../report/results.js';

export interface ModalityGapOptions extends CommonOptions {
  /** ADP neighbourhood (default 16) and merging threshold (default 1.65). */
  k?: number;
  Z?: number;
  /** Block hook read (default resid_post). */
  hook?: string;
  /** Skip E2 (ADP), e.g. for very large N. */
  skipClusters?: boolean;
}

export interface ModalityGapLayer {
  layer: number;
  depth: number;
  median: number;
  q25: number;
  q75: number;
  mean: number;
  homogeneity: number | null;
  nClusters: number | null;
  /** Gride(8,16) ID (the density's), and the TwoNN (1,2) ID, in cosine-distance units. */
  id: number | null;
  twoNN: number | null;
  /** Mean kNN log density (k neighbours) of the 2N points. */
  meanLogDensity: number | null;
}

export interface ModalityGapResult {
  layers: ModalityGapLayer[];
  n: number;
  imageOrder: 'caption-then-image' | 'image-then-caption';
  settings: Record<string, unknown>;
  /** Per item: image id, the caption used, and the chosen text and image positions. */
  positions: { id: number; caption: string; text: number; image: number }[];
  doc: ResultsDoc;
}

/** E2 on one layer from the text and image rows (the analysis core's pieces, one kNN for all). */
export async function clusterLayer(text: Matrix, image: Matrix, k: number, Z: number): Promise<{ homogeneity: number; nClusters: number; id: number; twoNN: number; meanLogDensity: number }> {
  const n = text.n + image.n;
  if (n - 1 < Math.max(k, 16)) throw new UserError(`E2 needs more than ${Math.max(k, 16)} vectors (2N), got ${n}; raise --limit.`);
  const data = new Float32Array(text.data.length + image.data.length);
  data.set(text.data, 0);
  data.set(image.data, text.data.length);
  const nb = await knnExact({ data, n, d: text.d }, { k: Math.min(n - 1, Math.max(2 * k, 16)), metric: 'cosine' });
  const r = adpFromNeighbours(nb, { k, Z, id: gride(nb, 8, 16).id });
  const modality = Array.from({ length: n }, (_, i) => (i < text.n ? 0 : 1));
  let s = 0;
  for (const v of r.logDen) s += v;
  return { homogeneity: homogeneity(modality, r.labels).homogeneity, nClusters: r.nClusters, id: r.id, twoNN: twoNN(nb).id, meanLogDensity: s / n };
}

export async function runModalityGap(o: ModalityGapOptions): Promise<ModalityGapResult> {
  const { p, ds, images, edit } = await openInputs(o);
  try {
    const L = p.model.config.decoder.nLayers;
    const D = p.model.config.decoder.dModel;
    const rng = new Rng(o.seed ?? 0);
    const items = images.map((im) => {
      const caps = ds.captions(im.id);
      if (caps.length === 0) throw new UserError(`Image ${im.id} of ${ds.dir} has no caption; E1 needs captioned images.`);
      return { im, caption: caps[rng.int(caps.length)]! };
    });
    if (items.length < 2) throw new UserError(`E1 needs at least 2 images, got ${items.length}; raise --limit.`);
    const native = p.model.family === 'native' && p.processor !== null && typeof p.tokenizer.encode === 'function';
    const hook = vectorHook(p, o.hook);
    const names = Array.from({ length: L }, (_, l) => `blocks.${l}.${hook}`);
    const text = Array.from({ length: L }, () => new Float32Array(items.length * D));
    const image = Array.from({ length: L }, () => new Float32Array(items.length * D));
    const chosen: { id: number; caption: string; text: number; image: number }[] = [];
    await inBatches(items, o.batchSize ?? 8, progressOf(o), 'modality-gap', async (batch, start) => {
      const exs = await p.prepare(batch.map((x) => ({ id: x.im.id, label: x.im.label, image: rawOf(x.im), target: x.caption })));
      const picks = exs.map((e) => {
        const eoi = e.spans.eoi;
        if (eoi === null || eoi + 1 >= e.spans.length) throw new UserError(`Example ${e.id} has no text after the image; expected a caption after [EOI].`);
        return eoi + 1 + rng.int(e.spans.length - eoi - 1);
      });
      let imgExs: ExtractExample[] = exs;
      if (native) imgExs = exs.map((e, i) => captionThenImage(e, p.tokenizer.encode(batch[i]!.caption)));
      const imgPicks = imgExs.map((e) => {
        const pos = imagePositions(e.spans);
        if (pos.length === 0) throw new UserError(`Example ${e.id} has no image positions; E1 needs images.`);
        return pos[rng.int(pos.length)]!;
      });
      const r = await forwardExamples(p, exs, names, [], { edit, rows: exs.map((_, i) => (native ? [picks[i]!] : [picks[i]!, imgPicks[i]!])) });
      const ri = native ? await forwardExamples(p, imgExs, names, [], { edit, rows: imgPicks.map((q) => [q]) }) : r;
      for (let l = 0; l < L; l++) {
        const a = r.acts.get(names[l]!)!, b = ri.acts.get(names[l]!)!;
        exs.forEach((_, i) => {
          text[l]!.set(rowOf(a, i, picks[i]!), (start + i) * D);
          image[l]!.set(rowOf(b, i, imgPicks[i]!), (start + i) * D);
        });
      }
      exs.forEach((e, i) => chosen.push({ id: e.id, caption: batch[i]!.caption, text: picks[i]!, image: imgPicks[i]! }));
    });
    const k = o.k ?? 16, Z = o.Z ?? 1.65;
    const layers: ModalityGapLayer[] = [];
    const bar = progressOf(o)('modality-gap layers', L, 'layer');
    for (let l = 0; l < L; l++) {
      const t = { data: text[l]!, n: items.length, d: D }, im = { data: image[l]!, n: items.length, d: D };
      const g = await modalityGap(t, im);
      const c = o.skipClusters ? null : await clusterLayer(t, im, k, Z);
      layers.push({
        layer: l, depth: L > 1 ? l / (L - 1) : 0, median: g.median, q25: g.p25, q75: g.p75, mean: g.mean,
        homogeneity: c?.homogeneity ?? null, nClusters: c?.nClusters ?? null, id: c?.id ?? null, twoNN: c?.twoNN ?? null, meanLogDensity: c?.meanLogDensity ?? null,
      });
      bar.tick(1);
    }
    bar.done();
    const imageOrder = native ? 'caption-then-image' : 'image-then-caption';
    const settings = { hook: `blocks.{l}.${hook}`, n: items.length, seed: o.seed ?? 0, imageOrder, textPositions: 'one random text position after [EOI]', imagePositions: 'one random image position', metric: 'cosine', k, Z, idEstimator: 'Gride(8,16)', split: o.split ?? 'all', interventions: edit.specs };
    const info = modelInfo(p, o);
    const doc = resultsDoc('analyze modality-gap', { checkpoint: o.checkpoint, data: o.data }, {
      ...info,
      e1: { settings, records: layers.map((r) => ({ layer: r.layer, depth: r.depth, median: r.median, q25: r.q25, q75: r.q75 })) },
      ...(o.skipClusters ? {} : { e2: { settings, records: layers.map((r) => ({ layer: r.layer, depth: r.depth, homogeneity: r.homogeneity, id: r.id, nClusters: r.nClusters, twoNN: r.twoNN, meanLogDensity: r.meanLogDensity })) } }),
    }, { name: ds.meta.name ?? ds.dir, images: items.length });
    if (o.out) await writeOutputs(o.out, { 'results.json': doc, 'figure-e1-e2.json': { model: info.name, layers, positions: chosen } });
    return { layers, n: items.length, imageOrder, settings, positions: chosen, doc };
  } finally {
    p.dispose();
  }
}

/** <bos> caption <boi> image ids <eoi> from an image-then-caption example (native: the codes are ids). */
export function captionThenImage(e: ExtractExample, caption: readonly number[]): ExtractExample {
  const { image, boi, eoi, bos } = e.spans;
  if (!image || boi === null || eoi === null) throw new UserError(`Example ${e.id} has no image span; E1 needs images.`);
  const ids = Array.from(e.ids);
  const img = ids.slice(image[0], image[1]);
  const seq = [bos !== null ? ids[bos]! : SPECIAL_IDS.bos, ...caption, ids[boi]!, ...img, ids[eoi]!];
  const s = 1 + caption.length;
  return { id: e.id, label: e.label, ids: Int32Array.from(seq), spans: { length: seq.length, bos: 0, boi: s, image: [s + 1, s + 1 + img.length], eoi: s + 1 + img.length } };
}
