/**
 * Fluency of generated outputs (E8): the mean log-probability per generated token that the unedited
 * model (with only the experiment's own edit, not the steer) assigns to the output, teacher-forced
 * after the same prompt. 0 is the maximum; an edit that derails the text lowers it.
 */
import * as tf from '@tensorflow/tfjs';
import type { DatasetImage } from '../data/open.js';
import { runWithHooks } from '../hooks/run.js';
import { imageTensors, type Pipeline } from '../interventions/pipeline.js';
import { rawOf, type Edit } from './common.js';

/** log softmax(row)[id] in float64. */
export function logProb(row: ArrayLike<number>, id: number): number {
  let m = -Infinity;
  for (let i = 0; i < row.length; i++) if ((row[i] as number) > m) m = row[i] as number;
  let s = 0;
  for (let i = 0; i < row.length; i++) s += Math.exp((row[i] as number) - m);
  return (row[id] as number) - m - Math.log(s);
}

/**
 * Mean over items (with at least one generated token) of the mean per-token log-probability of
 * `tokens[i]` after item i's prompt; null when no item generated anything.
 */
export async function meanLogProb(p: Pipeline, items: readonly { image: DatasetImage; prompt: string }[], tokens: readonly (readonly number[])[], batchSize: number, edit?: Edit): Promise<number | null> {
  const per: number[] = [];
  for (let s = 0; s < items.length; s += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, items.length - s) }, (_, i) => s + i).filter((i) => tokens[i]!.length > 0);
    if (idx.length === 0) continue;
    const exs = await p.prepare(idx.map((i) => ({ id: items[i]!.image.id, image: rawOf(items[i]!.image), prompt: items[i]!.prompt })));
    const seqs = exs.map((e, b) => [...Array.from(e.ids), ...tokens[idx[b]!]!]);
    const T = Math.max(...seqs.map((q) => q.length));
    const flat = new Int32Array(seqs.length * T).fill(p.model.config.special.pad);
    seqs.forEach((q, b) => flat.set(q, b * T));
    if (edit) {
      edit.exampleIds.length = 0;
      edit.exampleIds.push(...exs.map((e) => e.id));
    }
    const img = imageTensors(p, exs);
    const ids = tf.tensor2d(flat, [seqs.length, T], 'int32');
    let logits: tf.Tensor | undefined;
    try {
      logits = runWithHooks(p.model, { ids, attentionMask: seqs.map((q) => Array.from({ length: T }, (_, t) => (t < q.length ? 1 : 0))), spans: exs.map((e) => e.spans), ...img }, edit?.hooks ?? []);
      const V = logits.shape[2]!;
      const data = (await logits.data()) as Float32Array;
      exs.forEach((e, b) => {
        const P = e.ids.length;
        const gen = tokens[idx[b]!]!;
        let sum = 0;
        gen.forEach((tok, g) => {
          const t = P - 1 + g;
          sum += logProb(data.subarray((b * T + t) * V, (b * T + t + 1) * V), tok);
        });
        per.push(sum / gen.length);
      });
    } finally {
      logits?.dispose();
      ids.dispose();
      img.pixels?.dispose();
      img.features?.dispose();
    }
  }
  return per.length ? per.reduce((a, b) => a + b, 0) / per.length : null;
}
