/**
 * `narrowgate steer` (E8): edit the [EOI] residual (blocks.{l}.hook_resid_post at @eoi) to move an
 * image from class a to class b of one attribute, and read what the model then says.
 *   add:         h + alpha (mean_b - mean_a), class means of [EOI] vectors at layer l, read from an
 *                activation store (extract --positions @eoi) or from a model run over the dataset;
 *   replace / interpolate: towards a donor image's [EOI] vector at layer l (strength alpha).
 * runSteering: one image, one (layer, alpha), greedy output before and after. runSteeringSweep: every
 * image of class a (up to --limit) over layers x alphas; success = the generated answer or caption
 * names class b; side effects = VQA accuracy on the same images' questions about other attributes
 * (edited minus clean), with src/eval's generation and the official VQA accuracy.
 */
import sharp from 'sharp';
import type { Dataset, DatasetImage } from '../data/open.js';
import { decodeText, generateItems, labelVars, type RunContext } from '../eval/generation.js';
import { fillPrompt } from '../eval/suite-schema.js';
import { compile } from '../interventions/compile.js';
import type { Pipeline } from '../interventions/pipeline.js';
import { parseInterventions, type SteerSpec } from '../interventions/spec.js';
import { evaluateVqa } from '../metrics/index.js';
import { openStore } from '../store/index.js';
import { UserError } from '../util/errors.js';
import type { ProgressFactory } from '../util/progress.js';
import { forwardExamples, labelOf, rawOf, readImageFile, rowOf, writeOutputs, type Edit } from './common.js';
import { DEFAULT_PROMPTS } from './patching.js';

export type SteerOp = 'add' | 'replace' | 'interpolate';

export interface SteerSource {
  /** Attribute (label field) edited, e.g. "shape"; classes by name. */
  attribute: string;
  from: string;
  to: string;
  op?: SteerOp;
  /** add: class means from this store (hook resid_post at eoi rows; labels by example id). */
  store?: string;
  /** replace / interpolate: a donor dataset row, or an image file. */
  donor?: number;
  donorImage?: string;
  /** Images per class for class means from a model run (default 64). */
  meanImages?: number;
}

/** Class indices of `from` and `to` in the attribute's names. */
export function classPair(ds: Dataset, s: SteerSource): { a: number; b: number } {
  const names = ds.labelFields[s.attribute];
  if (!names?.length) throw new UserError(`Dataset ${ds.dir} has no label field "${s.attribute}"; expected one of ${Object.keys(ds.labelFields).join(', ') || '(none)'}.`);
  const a = names.indexOf(s.from), b = names.indexOf(s.to);
  for (const [flag, v, i] of [['--from', s.from, a], ['--to', s.to, b]] as const) if (i < 0) throw new UserError(`${flag} "${v}" is not a class of "${s.attribute}"; expected one of ${names.join(', ')}.`);
  if (a === b) throw new UserError(`--from and --to are both "${s.from}"; expected two different classes.`);
  return { a, b };
}

/** Mean [EOI] vector of class c per layer, from a model run over the dataset's images of that class. */
async function classMeansFromRun(p: Pipeline, ds: Dataset, attribute: string, classes: number[], layers: number[], perClass: number, batchSize: number, edit?: Edit): Promise<Map<number, Map<number, Float64Array>>> {
  const D = p.model.config.decoder.dModel;
  const names = layers.map((l) => `blocks.${l}.hook_resid_post`);
  const out = new Map<number, Map<number, Float64Array>>();
  for (const c of classes) {
    const imgs = [...ds.images()].filter((im) => labelOf(im, attribute) === c).slice(0, perClass);
    if (imgs.length === 0) throw new UserError(`Dataset ${ds.dir} has no image of "${attribute}" = ${ds.labelFields[attribute]![c]}; class means need examples of both classes.`);
    const sums = new Map(layers.map((l) => [l, new Float64Array(D)]));
    for (let s = 0; s < imgs.length; s += batchSize) {
      const exs = await p.prepare(imgs.slice(s, s + batchSize).map((im) => ({ id: im.id, image: rawOf(im) })));
      const r = await forwardExamples(p, exs, names, [], { edit, rows: exs.map((e) => (e.spans.eoi === null ? [] : [e.spans.eoi])) });
      exs.forEach((e, b) => layers.forEach((l, i) => rowOf(r.acts.get(names[i]!)!, b, e.spans.eoi!).forEach((v, j) => (sums.get(l)![j]! += v / imgs.length))));
    }
    out.set(c, sums);
  }
  return out;
}

/** Mean [EOI] vector of classes a and b per layer from a store (labels of the dataset's attribute, by example id). */
async function classMeansFromStore(path: string, ds: Dataset, attribute: string, classes: number[], layers: number[]): Promise<Map<number, Map<number, Float64Array>>> {
  const store = await openStore(path);
  const hook = store.hooks().find((h) => h === 'resid_post' || h.endsWith('hook_resid_post'));
  if (!hook) throw new UserError(`Store ${path} has no resid_post rows; expected "narrowgate extract --hooks resid_post --positions @eoi".`);
  const out = new Map(classes.map((c) => [c, new Map<number, Float64Array>()]));
  for (const l of layers) {
    const s = await store.slice(hook, l, 'eoi');
    for (const c of classes) {
      const acc = new Float64Array(s.d);
      let n = 0;
      for (let i = 0; i < s.n; i++) {
        let lab: number;
        try {
          lab = labelOf(ds.byId(s.exampleIds[i]!), attribute);
        } catch {
          throw new UserError(`Store ${path} has example ${s.exampleIds[i]}, which is not an image of ${ds.dir}; expected the store extracted from this dataset.`);
        }
        if (lab !== c) continue;
        n++;
        for (let j = 0; j < s.d; j++) acc[j]! += s.values[i * s.d + j]!;
      }
      if (n === 0) throw new UserError(`Store ${path} has no [EOI] rows of "${attribute}" = ${ds.labelFields[attribute]![c]} at layer ${l}; expected both classes extracted.`);
      out.get(c)!.set(l, acc.map((v) => v / n));
    }
  }
  return out;
}

/** The steering vector per layer: mean_b - mean_a (add) or the donor's [EOI] vector (replace / interpolate). */
export async function steeringVectors(p: Pipeline, ds: Dataset, s: SteerSource, layers: number[], batchSize = 8, edit?: Edit): Promise<{ vectors: Map<number, Float32Array>; source: string }> {
  const op = s.op ?? 'add';
  const { a, b } = classPair(ds, s);
  if (op === 'add') {
    const means = s.store ? await classMeansFromStore(s.store, ds, s.attribute, [a, b], layers) : await classMeansFromRun(p, ds, s.attribute, [a, b], layers, s.meanImages ?? 64, batchSize, edit);
    const vectors = new Map(layers.map((l) => [l, Float32Array.from(means.get(b)!.get(l)!, (v, j) => v - means.get(a)!.get(l)![j]!)] as const));
    return { vectors, source: s.store ? `class means of [EOI] rows in store ${s.store}` : `class means of [EOI] over up to ${s.meanImages ?? 64} dataset images per class` };
  }
  if (s.donor === undefined && !s.donorImage) throw new UserError(`--op ${op} needs a donor: --donor ROW (a dataset image) or --donor-image FILE.`);
  let raw;
  if (s.donorImage) raw = await readImageFile(p, s.donorImage);
  else {
    if (!(Number.isInteger(s.donor) && s.donor! >= 0 && s.donor! < ds.length)) throw new UserError(`--donor ${s.donor} is outside the dataset's rows 0..${ds.length - 1}.`);
    raw = rawOf(ds.get(s.donor!));
  }
  const [ex] = await p.prepare([{ id: 0, image: raw }]);
  const names = layers.map((l) => `blocks.${l}.hook_resid_post`);
  if (ex!.spans.eoi === null) throw new UserError('The donor image has no [EOI] position; expected an image input.');
  const r = await forwardExamples(p, [ex!], names, [], { edit, rows: [[ex!.spans.eoi]] });
  return { vectors: new Map(layers.map((l, i) => [l, rowOf(r.acts.get(names[i]!)!, 0, ex!.spans.eoi!)] as const)), source: s.donorImage ? `donor image ${s.donorImage}` : `donor dataset row ${s.donor}` };
}

/** The steer spec (vector given inline, or by the file it is written to). */
export function steerSpec(layer: number, op: SteerOp, alpha: number, vector: Float32Array | string): SteerSpec {
  const v = typeof vector === 'string' ? { file: vector } : { values: Array.from(vector) };
  return parseInterventions({ type: 'steer', layer, hook: 'resid_post', position: '@eoi', op, vector: v, strength: alpha })[0] as SteerSpec;
}

/** Whether `text` names `cls` as whole words (case-insensitive). */
export function namesClass(text: string, cls: string): boolean {
  const esc = cls.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+');
  return new RegExp(`(^|[^a-z0-9])${esc}($|[^a-z0-9])`).test(text.toLowerCase());
}

export interface GenEnv {
  p: Pipeline;
  ds: Dataset;
  batchSize: number;
  maxNewTokens: number;
  progress: ProgressFactory;
  cache: RunContext['cache'];
  /** Interventions active in every generation (beside the steer spec). */
  edit?: Edit;
}

/** Greedy texts of (image, prompt) items under a steer spec (none: clean). */
export async function generateTexts(env: GenEnv, items: { image: DatasetImage; prompt: string }[], spec: SteerSpec | null, label: string): Promise<string[]> {
  return (await generateOutputs(env, items, spec, label)).texts;
}

/** Greedy texts and generated ids (the stop id included when produced) under a steer spec (none: clean). */
export async function generateOutputs(env: GenEnv, items: { image: DatasetImage; prompt: string }[], spec: SteerSpec | null, label: string): Promise<{ texts: string[]; tokens: number[][] }> {
  const exampleIds: number[] = [];
  const specs = [...(env.edit?.specs ?? []), ...(spec ? [spec] : [])];
  const hooks = specs.length ? await compile(specs, env.p.model, { exampleIds, baseDir: env.edit?.baseDir, seed: env.edit?.seed }) : [];
  const ctx: RunContext = { p: env.p, hooks, exampleIds, batchSize: env.batchSize, textOnly: true, progress: env.progress, label, cache: env.cache };
  const tokens = await generateItems(ctx, items, { maxNewTokens: env.maxNewTokens });
  return { texts: tokens.map((t) => decodeText(env.p, t)), tokens };
}

/** VQA accuracy of the images' questions about attributes other than `attribute` (null when there are none). */
export async function sideEffectAccuracy(env: GenEnv, images: DatasetImage[], attribute: string, spec: SteerSpec | null): Promise<{ accuracy: number; questions: number } | null> {
  const qs = images.flatMap((image) => env.ds.questions(image.id).filter((q) => q.attribute !== undefined && q.attribute !== attribute).map((q) => ({ image, q })));
  if (qs.length === 0) return null;
  const texts = await generateTexts({ ...env, maxNewTokens: Math.min(env.maxNewTokens, 4) }, qs.map(({ image, q }) => ({ image, prompt: q.question })), spec, 'side effects');
  const ev = evaluateVqa(
    qs.map(({ q }) => ({ question_id: q.questionId, question_type: q.questionType, answer_type: q.answerType, answers: q.answers.map((answer, k) => ({ answer, answer_id: k + 1 })) })),
    qs.map(({ q }, i) => ({ question_id: q.questionId, answer: texts[i]! })),
  );
  return { accuracy: ev.overall, questions: qs.length };
}

/** The prompt of the success test: --prompt, else the attribute's question form; filled with the image's labels. */
export function steerPrompt(ds: Dataset, image: DatasetImage, attribute: string, prompt?: string): string {
  return fillPrompt(prompt ?? DEFAULT_PROMPTS[attribute] ?? '', labelVars(image, ds.labelFields), 'steer');
}

/** An image (dataset row) as PNG base64, for the report's before/after examples. */
export async function pngBase64(im: { width: number; height: number; channels: number; pixels: Uint8Array }): Promise<string> {
  const buf = await sharp(Buffer.from(im.pixels), { raw: { width: im.width, height: im.height, channels: im.channels as 1 | 3 | 4 } }).png().toBuffer();
  return buf.toString('base64');
}

/** Writes each layer's vector to DIR/vectors/steer-L{l}.json; returns the spec-relative file names. */
export async function writeVectors(dir: string, vectors: Map<number, Float32Array>): Promise<Map<number, string>> {
  const files = new Map<number, string>();
  const docs: Record<string, unknown> = {};
  for (const [l, v] of vectors) {
    const name = `vectors/steer-L${l}.json`;
    files.set(l, name);
    docs[name] = { vector: Array.from(v) };
  }
  await writeOutputs(dir, docs);
  return files;
}

