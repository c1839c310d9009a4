/**
 * `narrowgate patch` (E7): activation patching through [EOI]. Pairs (base image of class a, target
 * image of class b) come from the dataset's single-object contrast pairs (differing in one attribute)
 * or, without such scenes, from two images of different labels. Three passes per pair: the target run
 * (its cache is the donor), the clean base run, and for every layer l a patched base run:
 *   resid:      the [EOI] residual entering block l (blocks.{l}.hook_resid_pre) <- the target's;
 *   attn-input: the [EOI] attention input after the norm (blocks.{m}.ln1.hook_normalized) <- the
 *               target's, in every layer m = l..L-1.
 * Read at the last prompt position: similarity sum_v min(p_v, q_v) patched vs target (baseline clean vs
 * target) and flip accuracy between the two class tokens (first tokens of the class names).
 */
import { patchingSummary, type PatchPair, type PatchingSummary } from '../analysis/index.js';
import { contrastPairs, PAIR_ATTRIBUTES, type PairAttribute } from '../data/pairs.js';
import type { DatasetImage } from '../data/open.js';
import { fillPrompt } from '../eval/suite-schema.js';
import { labelVars } from '../eval/generation.js';
import { compile } from '../interventions/compile.js';
import { parseInterventions, type PatchSpec } from '../interventions/spec.js';
import { SPECIAL_IDS } from '../tokenizers/word.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { classToken, forwardExamples, inBatches, labelOf, modelInfo, openInputs, progressOf, rawOf, requireLabels, resultsDoc, writeOutputs, type CommonOptions } from './common.js';
import type { ResultsDoc } from '../report/results.js';

export const PATCH_VARIANTS = ['resid', 'attn-input'] as const;
export type PatchVariant = (typeof PATCH_VARIANTS)[number];

/** Prompts whose next token is the attribute's value (the shapes question forms). */
export const DEFAULT_PROMPTS: Record<string, string> = {
  shape: 'what shape is in the {position}?',
  color: 'what color is the {shape} in the {position}?',
  size: 'what size is the {color} {shape}?',
  position: 'where is the {color} {shape}?',
};

export interface PatchingOptions extends CommonOptions {
  /** Attribute of the contrast pairs (shapes datasets; default "shape"), or the label field of label pairs. */
  attribute?: string;
  /** At most this many pairs (default 50). */
  pairs?: number;
  /** Explicit pairs of dataset row indices (overrides the pair choice). */
  pairList?: { base: number; target: number }[];
  /** Prompt template after the image ({color}, {shape}, ... of the base image); default by attribute. */
  prompt?: string;
  variants?: PatchVariant[];
  layers?: 'all' | number[];
  /** Control: patch the base with its own activations (must give similarity = baseline and flip 0). */
  selfDonor?: boolean;
}

export interface PatchingRecord extends PatchingSummary {
  layer: number;
  variant: PatchVariant;
  specs: PatchSpec[];
}

export interface PatchingResult {
  records: PatchingRecord[];
  pairs: { base: number; target: number; baseValue: string; targetValue: string; tokenA: number; tokenB: number }[];
  settings: Record<string, unknown>;
  doc: ResultsDoc;
}

/** The patch specs of one variant at layer l (donor run "target"). */
export function patchSpecs(variant: PatchVariant, layer: number, nLayers: number): PatchSpec[] {
  const hooks = variant === 'resid' ? [`blocks.${layer}.hook_resid_pre`] : Array.from({ length: nLayers - layer }, (_, i) => `blocks.${layer + i}.ln1.hook_normalized`);
  return parseInterventions(hooks.map((hook) => ({ type: 'patch', hook, positions: '@eoi', donor: { run: 'target' } }))) as PatchSpec[];
}

function choosePairs(o: PatchingOptions, ds: Awaited<ReturnType<typeof openInputs>>['ds'], images: DatasetImage[], attribute: string) {
  const nameOf = (im: DatasetImage) => ds.labelFields[attribute]?.[labelOf(im, attribute)] ?? '';
  if (o.pairList) {
    return o.pairList.map(({ base, target }) => {
      for (const i of [base, target]) if (!(Number.isInteger(i) && i >= 0 && i < ds.length)) throw new UserError(`Pair image ${i} is outside the dataset's rows 0..${ds.length - 1}.`);
      return { base, target, baseValue: nameOf(ds.get(base)), targetValue: nameOf(ds.get(target)) };
    });
  }
  const n = o.pairs ?? 50;
  const single = images.some((im) => Array.isArray((im.scene as { objects?: unknown[] } | undefined)?.objects) && (im.scene as { objects: unknown[] }).objects.length === 1);
  if (single && (PAIR_ATTRIBUTES as readonly string[]).includes(attribute)) {
    const pairs = contrastPairs(ds, { attribute: attribute as PairAttribute, n, seed: o.seed, split: o.split });
    if (pairs.length === 0) throw new UserError(`Dataset ${ds.dir} has no single-object pairs differing only in ${attribute}; expected a larger single-object dataset.`);
    return pairs.map((q) => ({ base: q.base, target: q.target, baseValue: q.baseValue, targetValue: q.targetValue }));
  }
  requireLabels(ds, images, attribute);
  const rng = new Rng(o.seed ?? 0);
  const out: { base: number; target: number; baseValue: string; targetValue: string }[] = [];
  for (const b of rng.shuffle([...images])) {
    if (out.length >= n) break;
    const cands = images.filter((t) => labelOf(t, attribute) !== labelOf(b, attribute));
    if (cands.length === 0) continue;
    const t = rng.pick(cands);
    out.push({ base: b.index, target: t.index, baseValue: nameOf(b), targetValue: nameOf(t) });
  }
  if (out.length === 0) throw new UserError(`The chosen images of ${ds.dir} all share one "${attribute}" label; patching needs pairs of two classes.`);
  return out;
}

export async function runPatching(o: PatchingOptions): Promise<PatchingResult> {
  const attribute = o.attribute ?? 'shape';
  const variants = o.variants ?? [...PATCH_VARIANTS];
  for (const v of variants) if (!(PATCH_VARIANTS as readonly string[]).includes(v)) throw new UserError(`Patch variant "${v}" is unknown; expected ${PATCH_VARIANTS.join(' or ')}.`);
  const { p, ds, images, edit } = await openInputs(o);
  try {
    const L = p.model.config.decoder.nLayers;
    const layers = o.layers === undefined || o.layers === 'all' ? Array.from({ length: L }, (_, l) => l) : o.layers;
    for (const l of layers) if (!(Number.isInteger(l) && l >= 0 && l < L)) throw new UserError(`--layers: layer ${l} is out of range 0..${L - 1} for this model.`);
    const template = o.prompt ?? DEFAULT_PROMPTS[attribute] ?? '';
    const chosen = choosePairs(o, ds, images, attribute);
    const unk = p.processor ? SPECIAL_IDS.unk : undefined;
    const tokenCache = new Map<string, number>();
    const tok = async (name: string) => tokenCache.get(name) ?? (tokenCache.set(name, await classToken(p, name, unk)), tokenCache.get(name)!);
    const pairs = [];
    for (const q of chosen) {
      const tokenA = await tok(q.baseValue), tokenB = await tok(q.targetValue);
      if (tokenA === tokenB) throw new UserError(`Class names "${q.baseValue}" and "${q.targetValue}" start with the same token; flip accuracy needs distinct first tokens.`);
      pairs.push({ ...q, tokenA, tokenB });
    }
    const donorNames = [...new Set(layers.flatMap((l) => variants.flatMap((v) => patchSpecs(v, l, L).map((s) => s.hook))))];
    const perCell = new Map<string, PatchPair[]>();
    const key = (v: PatchVariant, l: number) => `${v}:${l}`;
    await inBatches(pairs, o.batchSize ?? 8, progressOf(o), 'patch', async (batch) => {
      const item = (row: number, vars: DatasetImage) => {
        const im = ds.get(row);
        return { id: im.id, image: rawOf(im), prompt: fillPrompt(template, labelVars(vars, ds.labelFields), 'patch') };
      };
      const bases = await p.prepare(batch.map((q) => item(q.base, ds.get(q.base))));
      const targets = await p.prepare(batch.map((q) => item(q.target, ds.get(q.base))));
      const clean = await forwardExamples(p, bases, o.selfDonor ? donorNames : [], [], { keepCache: o.selfDonor, edit });
      const tgt = await forwardExamples(p, targets, o.selfDonor ? [] : donorNames, [], { keepCache: !o.selfDonor, edit });
      try {
        const donor = o.selfDonor ? { cache: clean.cache!, spans: bases.map((e) => e.spans) } : { cache: tgt.cache!, spans: targets.map((e) => e.spans) };
        const donors = { target: donor };
        for (const v of variants) for (const l of layers) {
          const hooks = await compile(patchSpecs(v, l, L), p.model, { donors, seed: o.seed });
          const patched = await forwardExamples(p, bases, [], hooks, { edit });
          const list = perCell.get(key(v, l)) ?? [];
          batch.forEach((q, b) => list.push({ clean: clean.last[b]!, patched: patched.last[b]!, target: tgt.last[b]!, tokenA: q.tokenA, tokenB: q.tokenB }));
          perCell.set(key(v, l), list);
        }
      } finally {
        tgt.cache?.dispose();
        clean.cache?.dispose();
      }
    });
    const records: PatchingRecord[] = [];
    for (const v of variants) for (const l of layers) records.push({ layer: l, variant: v, specs: patchSpecs(v, l, L), ...patchingSummary(perCell.get(key(v, l))!) });
    const settings = { attribute, prompt: template, pairs: pairs.length, pairSource: o.pairList ? 'explicit' : 'dataset', donor: o.selfDonor ? 'the base itself (control)' : 'the target image', readout: 'next-token logits at the last prompt position', classTokens: 'first token of each class name', variants, split: o.split ?? 'all', interventions: edit.specs };
    const info = modelInfo(p, o);
    const doc = resultsDoc('patch', { checkpoint: o.checkpoint, data: o.data }, {
      ...info, e7: { settings, pairs: pairs.length, records: records.map((r) => ({ layer: r.layer, variant: r.variant, similarity: r.similarity, baseline: r.baseline, flipAccuracy: r.flipAccuracy, specs: r.specs })) },
    }, { name: ds.meta.name ?? ds.dir, images: images.length });
    if (o.out) await writeOutputs(o.out, { 'results.json': doc, 'figure-e7.json': { model: info.name, numLayers: L, records: records.map(({ specs: _s, ...r }) => ({ ...r, depth: L > 1 ? r.layer / (L - 1) : 0 })), pairs } });
    return { records, pairs, settings, doc };
  } finally {
    p.dispose();
  }
}
