import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { runWithCache } from '../../src/hooks/run.js';
import type { Spans } from '../../src/model/spans.js';
import { referenceForward, type Weights } from '../helpers/ref-decoder.js';
import { maxAbsDiff, randomArray, tinyAdapter, useBackend, weightsOf } from '../helpers/tiny.js';

await useBackend('cpu');

// <bos> <boi> img img img img <eoi> text text
const IDS = [0, 3, 2, 2, 2, 2, 4, 25, 30];
const SPANS: Spans = { length: 9, bos: 0, boi: 1, image: [2, 6], eoi: 6 };

function vecMat(x: number[], M: { shape: number[]; data: Float64Array }, b?: Float64Array): number[] {
  const [n, m] = M.shape as [number, number];
  return Array.from({ length: m }, (_, j) => {
    let s = b ? (b[j] as number) : 0;
    for (let i = 0; i < n; i++) s += (x[i] as number) * (M.data[i * m + j] as number);
    return s;
  });
}
const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
function project(w: Weights, feats: number[][]): number[][] {
  return feats.map((f) => vecMat(vecMat(f, w.get('projector.W_1')!, w.get('projector.b_1')!.data).map(gelu), w.get('projector.W_2')!, w.get('projector.b_2')!.data));
}
function embedsWith(w: Weights, img: number[][], D: number): number[][] {
  const E = w.get('embed.W_E')!;
  return IDS.map((id, t) => (t >= 2 && t < 6 ? img[t - 2]! : Array.from(E.data.subarray(id * D, (id + 1) * D))));
}

test('adapter with backbone features: projector + splice + decoder match the plain-JS reference', () => {
  const m = tinyAdapter(false, { nKvHeads: 2 }, 21);
  const w = weightsOf(m.namedParameters());
  const featsJs = Array.from({ length: 4 }, (_, i) => randomArray(12, 300 + i));
  const ref = referenceForward(m.config.decoder, w, IDS, { embeds: embedsWith(w, project(w, featsJs), 16) });
  const ids = tf.tensor2d([IDS], [1, IDS.length], 'int32');
  const features = tf.tensor3d([featsJs], [1, 4, 12]);
  const logits = m.forward({ ids, features, spans: [SPANS] });
  assert.ok(maxAbsDiff(logits.dataSync(), ref.logits.flat()) < 2e-4);
  tf.dispose([logits, ids, features]);
  m.dispose();
});

test('adapter with the ViT: patchify, bidirectional blocks, projector and splice match the reference', () => {
  const m = tinyAdapter(true, {}, 22);
  const w = weightsOf(m.namedParameters());
  const px = randomArray(8 * 8 * 3, 400);
  // patches by hand: patch (gy, gx) row = pixels[(gy*4+py), (gx*4+px), c] in (py, px, c) order
  const patches: number[][] = [];
  for (let gy = 0; gy < 2; gy++)
    for (let gx = 0; gx < 2; gx++) {
      const row: number[] = [];
      for (let py = 0; py < 4; py++) for (let pxi = 0; pxi < 4; pxi++) for (let c = 0; c < 3; c++) row.push(px[((gy * 4 + py) * 8 + gx * 4 + pxi) * 3 + c]!);
      patches.push(row);
    }
  const pos = w.get('vision.pos.W_pos')!;
  const emb = patches.map((p, i) => vecMat(p, w.get('vision.patch.W')!, w.get('vision.patch.b')!.data).map((v, j) => v + pos.data[i * 16 + j]!));
  const vcfg = { ...m.config.decoder, dModel: 16, nLayers: 1, nHeads: 2, nKvHeads: 2, headDim: 8, dMlp: 24, rmsNormEps: 1e-6 };
  const vis = referenceForward(vcfg, w, [], { embeds: emb, prefix: 'vision.', causal: false, rope: false });
  const ref = referenceForward(m.config.decoder, w, IDS, { embeds: embedsWith(w, project(w, vis.hidden), 16) });
  const ids = tf.tensor2d([IDS], [1, IDS.length], 'int32');
  const pixels = tf.tensor4d(px, [1, 8, 8, 3]);
  const { logits, cache } = runWithCache(m, { ids, pixels, spans: [SPANS] }, { names: ['vision.ln_final.hook_normalized', 'vision.blocks.0.attn.hook_pattern'] });
  assert.ok(maxAbsDiff(cache.get('vision.ln_final.hook_normalized').dataSync(), vis.hidden.flat()) < 1e-4);
  const pat = cache.get('vision.blocks.0.attn.hook_pattern').arraySync() as number[][][][];
  assert.ok(pat[0]![0]![0]![3]! > 0, 'vision attention is bidirectional');
  assert.ok(maxAbsDiff(logits.dataSync(), ref.logits.flat()) < 2e-4);
  logits.dispose();
  cache.dispose();
  tf.dispose([ids, pixels]);
  m.dispose();
});

test('a batch mixing an image example and a text-only example; bad spans are UserErrors; no leaks', () => {
  const m = tinyAdapter(false, {}, 23);
  const before = tf.memory().numTensors;
  const ids = tf.tensor2d([IDS, [0, 25, 26, 27, 28, 29, 30, 31, 32]], [2, 9], 'int32');
  const features = tf.tensor3d(randomArray(2 * 4 * 12, 9), [2, 4, 12]);
  const textOnly: Spans = { length: 9, bos: 0, boi: null, image: null, eoi: null };
  const both = m.forward({ ids, features, spans: [SPANS, textOnly] });
  const one = ids.slice([1, 0], [1, 9]);
  const alone = m.forward({ ids: one, spans: [textOnly] });
  assert.ok(maxAbsDiff((both.arraySync() as number[][][])[1]!.flat(), alone.dataSync()) < 1e-5);
  assert.throws(() => m.forward({ ids, features, spans: [{ ...SPANS, image: [2, 5] }, textOnly] }), /image span holds 3 positions/);
  assert.throws(() => m.forward({ ids, features }), /needs spans/);
  tf.dispose([both, alone, one, ids, features]);
  assert.equal(tf.memory().numTensors, before);
  m.dispose();
});

test('creating and disposing adapter models (ViT and features) leaves no tensors behind', () => {
  const before = tf.memory().numTensors;
  tinyAdapter(true, {}, 24).dispose();
  tinyAdapter(false, { tieEmbeddings: true }, 25).dispose();
  assert.equal(tf.memory().numTensors, before);
});
