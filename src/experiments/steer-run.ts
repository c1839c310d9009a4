/**
 * The E8 runners: runSteering (one image, one layer and strength; outputs before and after) and
 * runSteeringSweep (images of class a over layers x strengths: success rate, outputs changed, side
 * effects on questions about other attributes). Vectors and specs: steering.ts.
 */
import type { DatasetImage } from '../data/open.js';
import type { SteerSpec } from '../interventions/spec.js';
import { UserError } from '../util/errors.js';
import { labelOf, layerList, readImageFile, modelInfo, openInputs, progressOf, resultsDoc, writeOutputs, type CommonOptions } from './common.js';
import type { ResultsDoc } from '../report/results.js';
import { meanLogProb } from './fluency.js';
import { classPair, generateOutputs, generateTexts, namesClass, pngBase64, sideEffectAccuracy, steerPrompt, steerSpec, steeringVectors, writeVectors, type GenEnv, type SteerOp, type SteerSource } from './steering.js';

interface SteerCommon extends CommonOptions, SteerSource {
  prompt?: string;
  maxNewTokens?: number;
}

export interface SteeringOptions extends SteerCommon {
  /** Dataset row of the image (default: the first image of class `from`), or an image file. */
  image?: number;
  imageFile?: string;
  layer: number;
  alpha: number;
}

export interface SteeringResult {
  prompt: string;
  before: string;
  after: string;
  success: boolean;
  spec: SteerSpec;
  settings: Record<string, unknown>;
  doc: ResultsDoc;
}

function checkOp(op: SteerOp | undefined): SteerOp {
  const o = op ?? 'add';
  if (!['add', 'replace', 'interpolate'].includes(o)) throw new UserError(`--op ${o} is invalid; expected add, replace or interpolate.`);
  return o;
}

const editText = (s: SteerSource, op: SteerOp, source: string) => `${op === 'add' ? 'add alpha * (mean_b - mean_a)' : `${op} with a donor's vector`} at [EOI]; ${s.attribute}: ${s.from} -> ${s.to} (${source})`;

export async function runSteering(o: SteeringOptions): Promise<SteeringResult> {
  const op = checkOp(o.op);
  if (!Number.isFinite(o.alpha)) throw new UserError(`--alpha ${o.alpha} is invalid; expected a finite number.`);
  const { p, ds, edit } = await openInputs(o);
  try {
    const [layer] = layerList([o.layer], p.model.config.decoder.nLayers, '--layer');
    const { a } = classPair(ds, o);
    let image: DatasetImage;
    if (o.imageFile) {
      const raw = await readImageFile(p, o.imageFile);
      image = { index: -1, id: -1, fileName: o.imageFile, split: '', ...raw, label: -1, labelName: null, labels: {} };
    } else if (o.image !== undefined) {
      if (!(Number.isInteger(o.image) && o.image >= 0 && o.image < ds.length)) throw new UserError(`--image ${o.image} is outside the dataset's rows 0..${ds.length - 1}.`);
      image = ds.get(o.image);
    } else {
      const first = [...ds.images(o.split)].find((im) => labelOf(im, o.attribute) === a);
      if (!first) throw new UserError(`Dataset ${ds.dir} has no image of ${o.attribute} "${o.from}"; pass --image ROW or --image-file FILE.`);
      image = first;
    }
    const { vectors, source } = await steeringVectors(p, ds, { ...o, op }, [layer!], o.batchSize ?? 8, edit);
    const spec = steerSpec(layer!, op, o.alpha, vectors.get(layer!)!);
    const prompt = image.index >= 0 ? steerPrompt(ds, image, o.attribute, o.prompt) : (o.prompt ?? '');
    const env: GenEnv = { p, ds, batchSize: 1, maxNewTokens: o.maxNewTokens ?? 8, progress: progressOf(o), cache: new Map(), edit };
    const [before] = await generateTexts(env, [{ image, prompt }], null, 'clean');
    const [after] = await generateTexts(env, [{ image, prompt }], spec, 'steered');
    const success = namesClass(after!, o.to);
    const files = o.out ? await writeVectors(o.out, vectors) : null;
    const recorded = files ? steerSpec(layer!, op, o.alpha, files.get(layer!)!) : spec;
    const editLabel = editText(o, op, source);
    const settings = { attribute: o.attribute, from: o.from, to: o.to, op, vectorSource: source, prompt, image: o.imageFile ?? image.index, maxNewTokens: env.maxNewTokens, decoding: 'greedy, text vocabulary', interventions: edit.specs };
    const info = modelInfo(p, o);
    const doc = resultsDoc('steer', { checkpoint: o.checkpoint, data: o.data }, {
      ...info,
      e8: {
        settings, edit: editLabel, records: [{ layer: layer!, alpha: o.alpha, successRate: success ? 1 : 0, specs: [recorded] }],
        examples: [{ imagePngBase64: await pngBase64(image), captionBefore: before!, captionAfter: after!, edit: `layer ${layer}, alpha ${o.alpha}: ${editLabel}` }],
      },
    });
    // steer-spec.json: the edit as an intervention spec file (its vector file is relative to it), e.g. for eval robustness --edit
    if (o.out) await writeOutputs(o.out, { 'results.json': doc, 'figure-e8.json': { model: info.name, prompt, before, after, success, layer, alpha: o.alpha }, 'steer-spec.json': [...edit.specs, recorded] });
    return { prompt, before: before!, after: after!, success, spec: recorded, settings, doc };
  } finally {
    p.dispose();
  }
}

export interface SweepOptions extends SteerCommon {
  layers?: 'all' | number[];
  alphas: number[];
  /** Measure side effects on questions about other attributes (default true). */
  sideEffects?: boolean;
}

export interface SweepRecord {
  layer: number;
  alpha: number;
  /** Fraction of outputs naming class b, and still naming class a. */
  successRate: number;
  namesFrom: number;
  /** Fraction of outputs that differ from the clean output. */
  changed: number;
  /** Unrelated-question VQA accuracy under the edit, and its change from clean (null: no such questions). */
  unrelatedAccuracy: number | null;
  sideEffect: number | null;
  /** Mean log-probability per generated token under the unedited model (fluency; clean outputs: clean.fluency). */
  fluency: number | null;
  spec: SteerSpec;
}

export interface SweepResult {
  records: SweepRecord[];
  clean: { successRate: number; namesFrom: number; unrelatedAccuracy: number | null; questions: number; fluency: number | null };
  images: number;
  settings: Record<string, unknown>;
  doc: ResultsDoc;
}

export async function runSteeringSweep(o: SweepOptions): Promise<SweepResult> {
  const op = checkOp(o.op);
  if (o.alphas.length === 0 || o.alphas.some((x) => !Number.isFinite(x))) throw new UserError(`--alphas ${o.alphas.join(',')} is invalid; expected a comma-separated list of numbers, e.g. 0,1,2,4.`);
  const { p, ds, images: all, edit } = await openInputs({ ...o, limit: undefined });
  try {
    const layers = layerList(o.layers, p.model.config.decoder.nLayers);
    const { a } = classPair(ds, o);
    let images = all.filter((im) => labelOf(im, o.attribute) === a);
    if (o.limit !== undefined) images = images.slice(0, o.limit);
    if (images.length === 0) throw new UserError(`The chosen images of ${ds.dir} include none of ${o.attribute} "${o.from}"; expected images of the class to steer from.`);
    const { vectors, source } = await steeringVectors(p, ds, { ...o, op }, layers, o.batchSize ?? 8, edit);
    const env: GenEnv = { p, ds, batchSize: o.batchSize ?? 8, maxNewTokens: o.maxNewTokens ?? 8, progress: progressOf(o), cache: new Map(), edit };
    const items = images.map((image) => ({ image, prompt: steerPrompt(ds, image, o.attribute, o.prompt) }));
    const rate = (texts: string[], cls: string) => texts.filter((t) => namesClass(t, cls)).length / texts.length;
    const cleanOut = await generateOutputs(env, items, null, 'clean');
    const cleanTexts = cleanOut.texts;
    const fluencyOf = (tokens: number[][]) => meanLogProb(p, items, tokens, env.batchSize, edit);
    const side = o.sideEffects ?? true;
    const cleanSide = side ? await sideEffectAccuracy(env, images, o.attribute, null) : null;
    const files = o.out ? await writeVectors(o.out, vectors) : null;
    const records: SweepRecord[] = [];
    for (const l of layers) {
      for (const alpha of o.alphas) {
        const spec = steerSpec(l, op, alpha, vectors.get(l)!);
        const { texts, tokens } = await generateOutputs(env, items, spec, `steer L${l} alpha ${alpha}`);
        const s = side && cleanSide ? await sideEffectAccuracy(env, images, o.attribute, spec) : null;
        records.push({
          layer: l, alpha, successRate: rate(texts, o.to), namesFrom: rate(texts, o.from), changed: texts.filter((t, i) => t !== cleanTexts[i]).length / texts.length,
          unrelatedAccuracy: s?.accuracy ?? null, sideEffect: s && cleanSide ? s.accuracy - cleanSide.accuracy : null, fluency: await fluencyOf(tokens),
          spec: files ? steerSpec(l, op, alpha, files.get(l)!) : spec,
        });
      }
    }
    const clean = { successRate: rate(cleanTexts, o.to), namesFrom: rate(cleanTexts, o.from), unrelatedAccuracy: cleanSide?.accuracy ?? null, questions: cleanSide?.questions ?? 0, fluency: await fluencyOf(cleanOut.tokens) };
    const editLabel = editText(o, op, source);
    const settings = { attribute: o.attribute, from: o.from, to: o.to, op, vectorSource: source, prompt: o.prompt ?? DEFAULT_PROMPT_NOTE, images: images.length, alphas: o.alphas, layers, sideEffects: side ? 'VQA accuracy on questions about other attributes, edited - clean' : 'off', clean, maxNewTokens: env.maxNewTokens, interventions: edit.specs };
    const info = modelInfo(p, o);
    const doc = resultsDoc('steer --sweep', { checkpoint: o.checkpoint, data: o.data }, {
      ...info,
      e8: { settings, edit: editLabel, records: records.map((r) => ({ layer: r.layer, alpha: r.alpha, successRate: r.successRate, ...(r.sideEffect !== null ? { sideEffect: r.sideEffect } : {}), fluency: r.fluency, specs: [r.spec] })) },
    }, { name: ds.meta.name ?? ds.dir, images: images.length });
    if (o.out) await writeOutputs(o.out, { 'results.json': doc, 'figure-e8.json': { model: info.name, clean, records: records.map(({ spec: _s, ...r }) => r), outputs: { clean: cleanTexts } } });
    return { records, clean, images: images.length, settings, doc };
  } finally {
    p.dispose();
  }
}

const DEFAULT_PROMPT_NOTE = "the attribute's question form, filled with each image's labels";
