/**
 * `narrowgate analyze attention` (E3): per layer, the share of the text -> image attention that each
 * image position and [EOI] receive, from queries after [EOI] (prompt, teacher-forced caption), summed
 * over heads and examples first and normalised last (a ratio of means; BOS/BOI sinks left out).
 * Reported as a stack: [EOI], the last image token, every image position above the threshold (1 %)
 * in some layer, and the rest ("internal image"). Layer 0 is marked: there [EOI] is only its
 * embedding and carries no image information.
 */
import { flowSums, stackedShares, type FlowResult, type StackedShares } from '../analysis/index.js';
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
      const r = await forwardExamples(p, exs, names, [], { edit });
      exs.forEach((e, b) => {
        const T = e.ids.length;
        const first = r.acts.get(names[0]!)!;
        const [, H, Tpad] = first.shape as [number, number, number, number];
        // this example's [L, H, T, T] pattern without the padding rows and columns
        const pattern = new Float32Array(L * H * T * T);
        for (let l = 0; l < L; l++) {
          const src = r.acts.get(names[l]!)!.data;
          for (let h = 0; h < H; h++) for (let i = 0; i < T; i++) {
            const from = ((b * H + h) * Tpad + i) * Tpad;
            pattern.set(src.subarray(from, from + T), ((l * H + h) * T + i) * T);
          }
        }
        const { sums, queries: q } = flowSums({ pattern, layers: L, heads: H, seq: T, spans: e.spans });
        if (q === 0) throw new UserError(`Example ${e.id} has no text after [EOI]; give --prompt or keep the captions (--with-caption).`);
        if (nImage < 0) nImage = sums[0]!.length - 1;
        if (sums[0]!.length - 1 !== nImage) throw new UserError(`Example ${e.id} has ${sums[0]!.length - 1} image positions, others ${nImage}; E3 needs images of one size.`);
        total ??= Array.from({ length: L }, () => new Float64Array(nImage + 1));
        for (let l = 0; l < L; l++) for (let j = 0; j <= nImage; j++) total[l]![j]! += sums[l]![j]!;
        queries += q * H;
      });
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
