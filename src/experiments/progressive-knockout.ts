/**
 * `narrowgate analyze progressive-knockout` (E5): knock out an edge set in the last w layers
 * (w = 0, step, 2 step, ..., L) and read chi^{out,gt} (the E4 overlap with the labels) of the
 * final-layer residual vector at the last prompt position. Edge sets: "[EOI]" (every query -> [EOI])
 * and "image->text" (text queries after the image -> every image token; [EOI] may still read the
 * image). The knockout mode (zero: the paper's post-softmax zeroing; renormalize: a hard block before
 * the softmax) and every window's spec are recorded.
 */
import { knockoutWindows, sweepCurve, type SweepPoint } from '../analysis/index.js';
import { compile } from '../interventions/compile.js';
import { parseInterventions, type KnockoutSpec } from '../interventions/spec.js';
import { UserError } from '../util/errors.js';
import { vectorHook, forwardExamples, inBatches, labelOf, modelInfo, openInputs, progressOf, rawOf, requireLabels, resultsDoc, rowOf, writeOutputs, type CommonOptions } from './common.js';
import type { ResultsDoc } from '../report/results.js';
import { overlapWithIndex } from './overlap.js';

export const EDGE_SETS = { eoi: '[EOI]', 'image-to-text': 'image->text' } as const;
export type EdgeSet = keyof typeof EDGE_SETS;

export interface ProgressiveKnockoutOptions extends CommonOptions {
  edgeSets?: EdgeSet[];
  /** Window step (default 1; L is always included). */
  step?: number;
  mode?: 'zero' | 'renormalize';
  labelField?: string;
  k?: number;
  exact?: boolean;
  /** Block hook read at the last layer (default resid_post). */
  hook?: string;
  /** Prompt after the image; its last token is the read-out position (default "a picture of a"). */
  prompt?: string;
}

export interface ProgressiveRecord {
  window: number;
  fraction: number;
  edgeSet: string;
  overlap: number;
  recall: number | null;
  specs: KnockoutSpec[];
}

export interface ProgressiveKnockoutResult {
  records: ProgressiveRecord[];
  curves: Record<string, SweepPoint[]>;
  chance: number;
  mode: 'zero' | 'renormalize';
  settings: Record<string, unknown>;
  doc: ResultsDoc;
}

/** The knockout spec of an edge set over some layers (none for an empty window). */
export function edgeSetSpecs(edgeSet: EdgeSet, layers: number[], mode: 'zero' | 'renormalize'): KnockoutSpec[] {
  if (layers.length === 0) return [];
  const raw = edgeSet === 'eoi'
    ? { type: 'knockout', queries: '@all', keys: '@eoi', layers, mode }
    : { type: 'knockout', queries: '@text-after-image', keys: '@all-image', layers, mode };
  return parseInterventions(raw) as KnockoutSpec[];
}

export async function runProgressiveKnockout(o: ProgressiveKnockoutOptions): Promise<ProgressiveKnockoutResult> {
  const edgeSets = o.edgeSets ?? (['eoi', 'image-to-text'] as EdgeSet[]);
  for (const e of edgeSets) if (!(e in EDGE_SETS)) throw new UserError(`Edge set "${e}" is unknown; expected ${Object.keys(EDGE_SETS).join(' or ')}.`);
  const mode = o.mode ?? 'zero';
  if (mode !== 'zero' && mode !== 'renormalize') throw new UserError(`--mode ${String(mode)} is invalid; expected zero or renormalize.`);
  const k = o.k ?? 30;
  const { p, ds, images, edit } = await openInputs(o);
  try {
    const field = o.labelField ?? (ds.labelFields.shape?.length ? 'shape' : 'label');
    requireLabels(ds, images, field);
    const labels = images.map((im) => labelOf(im, field));
    if (labels.length - 1 < k) throw new UserError(`E5 with k = ${k} needs more than ${k} examples, got ${labels.length}; raise --limit or lower --k.`);
    const L = p.model.config.decoder.nLayers;
    const D = p.model.config.decoder.dModel;
    const windows = knockoutWindows(L, o.step ?? 1);
    const prompt = o.prompt ?? 'a picture of a';
    const exs = await p.prepare(images.map((im) => ({ id: im.id, label: im.label, image: rawOf(im), prompt })));
    const name = `blocks.${L - 1}.${vectorHook(p, o.hook)}`;
    const finalVectors = async (specs: KnockoutSpec[], label: string): Promise<Float32Array> => {
      const exampleIds: number[] = [];
      const hooks = await compile(specs, p.model, { seed: o.seed, exampleIds });
      const x = new Float32Array(exs.length * D);
      await inBatches(exs, o.batchSize ?? 8, progressOf(o), label, async (batch, start) => {
        exampleIds.length = 0;
        exampleIds.push(...batch.map((e) => e.id));
        const r = await forwardExamples(p, batch, [name], hooks, { edit, rows: batch.map((e) => [e.ids.length - 1]) });
        batch.forEach((e, b) => x.set(rowOf(r.acts.get(name)!, b, e.ids.length - 1), (start + b) * D));
      });
      return x;
    };
    const records: ProgressiveRecord[] = [];
    const clean = await finalVectors([], 'knockout w=0');
    const cleanOverlap = await overlapWithIndex({ data: clean, n: exs.length, d: D }, labels, { ...o, k }, o.seed ?? 0);
    for (const e of edgeSets) {
      for (const win of windows) {
        const specs = edgeSetSpecs(e, win.layers, mode);
        const r = win.w === 0 ? cleanOverlap : await overlapWithIndex({ data: await finalVectors(specs, `knockout ${e} w=${win.w}`), n: exs.length, d: D }, labels, { ...o, k }, o.seed ?? 0);
        records.push({ window: win.w, fraction: win.w / L, edgeSet: EDGE_SETS[e], overlap: r.value, recall: r.recall, specs });
      }
    }
    const curves: Record<string, SweepPoint[]> = {};
    for (const e of edgeSets) {
      const rs = records.filter((r) => r.edgeSet === EDGE_SETS[e]);
      curves[EDGE_SETS[e]] = sweepCurve(L, windows, rs.map((r) => r.overlap));
    }
    const chance = 1 / new Set(labels).size;
    const settings = { readout: `${name} at the last prompt position`, prompt, labelField: field, k, method: o.exact ? 'exact' : 'hnsw', mode, step: o.step ?? 1, n: labels.length, split: o.split ?? 'all', interventions: edit.specs };
    const info = modelInfo(p, o);
    const doc = resultsDoc('analyze progressive-knockout', { checkpoint: o.checkpoint, data: o.data }, {
      ...info, e5: { settings, mode, chance, records: records.map((r) => ({ window: r.window, edgeSet: r.edgeSet, overlap: r.overlap, specs: r.specs, ...(r.recall !== null ? { recall: r.recall } : {}) })) },
    }, { name: ds.meta.name ?? ds.dir, images: labels.length, classes: new Set(labels).size });
    if (o.out) await writeOutputs(o.out, { 'results.json': doc, 'figure-e5.json': { model: info.name, mode, chance, numLayers: L, curves, recall: records.map((r) => ({ window: r.window, edgeSet: r.edgeSet, recall: r.recall })) } });
    return { records, curves, chance, mode, settings, doc };
  } finally {
    p.dispose();
  }
}
