/**
 * `narrowgate analyze attention` (E3): per layer, the share of the text -> image attention that each
 * image position and [EOI] receive, from queries after [EOI] (prompt, teacher-forced caption), summed
 * over heads and examples first and normalised last (a ratio of means; BOS/BOI sinks left out).
 * Reported as a stack: [EOI], the last image token, every image position above the threshold (1 %)
 * in some layer, and the rest ("internal image"). Layer 0 is marked: there [EOI] is only its
 * embedding and carries no image information.
 */
import * as tf from '@tensorflow/tfjs';
import { stackedShares, type FlowResult, type StackedShares } from '../analysis/index.js';
import type { NamedHook } from '../hooks/types.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { forwardExamples, inBatches, modelInfo, openInputs, progressOf, rawOf, resultsDoc, writeOutputs, type CommonOptions } from './common.js';
import type { ResultsDoc } from '../report/results.js';

export interface AttentionOptions extends CommonOptions {
  /** Text after the image (default none). */
  prompt?: string;
  /** Append a caption of each image after the prompt (teacher-forced queries; default true). */
  withCaption?: boolean;
  /** Single positions above this share in some layer are reported on their own (default 0.01). */
  threshold?: number;
}

export interface AttentionResult {
  flow: FlowResult;
  stack: StackedShares;
  /** Query positions summed over (all examples, all heads counted once per head). */
  queries: number;
  settings: Record<string, unknown>;
  doc: ResultsDoc;
}

/** The E3 stack as report records: one per (layer, label). */
export function attentionRecords(stack: StackedShares): { layer: number; label: string; share: number }[] {
  const out: { layer: number; label: string; share: number }[] = [];
  stack.eoi.forEach((_, l) => {
    out.push({ layer: l, label: '[EOI]', share: stack.eoi[l]! });
    out.push({ layer: l, label: 'last image', share: stack.lastImage[l]! });
    stack.outliers.forEach((j, t) => out.push({ layer: l, label: `pos ${j}`, share: stack.outlierShares[l]![t]! }));
    out.push({ layer: l, label: 'internal image', share: stack.internal[l]! });
  });
  return out;
}

export async function runAttentionFlow(o: AttentionOptions): Promise<AttentionResult> {
  const threshold = o.threshold ?? 0.01;
  if (!(threshold > 0 && threshold < 1)) throw new UserError(`--threshold ${threshold} is invalid; expected a share between 0 and 1, e.g. 0.01.`);
  const { p, ds, images, edit } = await openInputs(o);
  try {
    const L = p.model.config.decoder.nLayers;
    const names = Array.from({ length: L }, (_, l) => `blocks.${l}.attn.hook_pattern`);
    const rng = new Rng(o.seed ?? 0);
    const withCaption = o.withCaption ?? true;
    let total: Float64Array[] | null = null;
    let nImage = -1;
    let queries = 0;
    await inBatches(images, o.batchSize ?? 8, progressOf(o), 'attention', async (batch) => {
      const exs = await p.prepare(batch.map((im) => {
        const caps = ds.captions(im.id);
        return { id: im.id, image: rawOf(im), prompt: o.prompt, target: withCaption && caps.length ? caps[rng.int(caps.length)] : undefined };
      }));
      for (const e of exs) {
        if (!e.spans.image || e.spans.eoi === null) throw new UserError(`Example ${e.id} has no image or [EOI]; E3 needs images.`);
        if (e.spans.eoi + 1 >= e.ids.length) throw new UserError(`Example ${e.id} has no text after [EOI]; give --prompt or keep the captions (--with-caption).`);
        const n = e.spans.image[1] - e.spans.image[0];
        if (nImage < 0) nImage = n;
        if (n !== nImage) throw new UserError(`Example ${e.id} has ${n} image positions, others ${nImage}; E3 needs images of one size.`);
      }
      // each layer's pattern is reduced inside the forward pass to sum_h sum_{queries after [EOI]} A[b, h, i, :]
      // ([B, S] per layer), so no [B, H, T, T] pattern is ever kept or read back
      const kept: (tf.Tensor | null)[] = new Array<tf.Tensor | null>(L).fill(null);
      let heads = 0;
      const reducers: NamedHook[] = names.map((name, l) => ({
        name,
        fn: (act: tf.Tensor) => {
          const [B, H, T] = act.shape as [number, number, number, number];
          heads = H;
          const m = new Float32Array(B * T);
          exs.forEach((e, b) => {
            for (let t = e.spans.eoi! + 1; t < e.ids.length; t++) m[b * T + t] = 1;
          });
          kept[l] = tf.keep(tf.sum(tf.mul(act, tf.tensor4d(m, [B, 1, T, 1])), [1, 2]));
        },
      }));
      try {
        await forwardExamples(p, exs, [], reducers, { edit });
        total ??= Array.from({ length: L }, () => new Float64Array(nImage + 1));
        for (let l = 0; l < L; l++) {
          const sums = kept[l]!;
          const S = sums.shape[1]!;
          const data = (await sums.data()) as Float32Array;
          exs.forEach((e, b) => {
            const img0 = e.spans.image![0];
            for (let j = 0; j < nImage; j++) total![l]![j]! += data[b * S + img0 + j]!;
            total![l]![nImage]! += data[b * S + e.spans.eoi!]!;
          });
        }
        for (const e of exs) queries += (e.ids.length - e.spans.eoi! - 1) * heads;
      } finally {
        for (const k of kept) k?.dispose();
      }
    });
    const t = total as Float64Array[] | null;
    if (!t) throw new UserError('E3 got no examples; expected at least one image.');
    const shares: Float64Array[] = [], imageMass: number[] = [];
    for (const s of t) {
      const c = s.reduce((a, b) => a + b, 0);
      imageMass.push(c / queries);
      shares.push(s.map((v) => (c > 0 ? v / c : 0)));
    }
    const flow: FlowResult = { layers: L, nImage, shares, imageMass, examples: images.length };
    const stack = stackedShares(flow, threshold);
    const settings = {
      hook: 'blocks.{l}.attn.hook_pattern', queries: 'text after [EOI]', aggregation: 'ratio of means (sum over examples, heads and queries, then normalise)',
      threshold, prompt: o.prompt ?? '', withCaption, interventions: edit.specs, examples: images.length, split: o.split ?? 'all',
      layer0: 'at layer 0 [EOI] is only its embedding: its share carries no image information',
    };
    const info = modelInfo(p, o);
    const records = attentionRecords(stack);
    const doc = resultsDoc('analyze attention', { checkpoint: o.checkpoint, data: o.data }, { ...info, e3: { settings, records } }, { name: ds.meta.name ?? ds.dir, images: images.length });
    if (o.out) {
      await writeOutputs(o.out, {
        'results.json': doc,
        'figure-e3.json': {
          model: info.name, threshold, nImage, outliers: stack.outliers,
          layers: stack.eoi.map((_, l) => ({ layer: l, depth: L > 1 ? l / (L - 1) : 0, imageInformation: l > 0, eoi: stack.eoi[l], lastImage: stack.lastImage[l], outliers: stack.outlierShares[l], internal: stack.internal[l], imageMass: imageMass[l] })),
          shares: shares.map((s) => Array.from(s)),
        },
      });
    }
    return { flow, stack, queries, settings, doc };
  } finally {
    p.dispose();
  }
}
