import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Processor } from '../../src/tokenizers/processor.js';
import { collate } from '../../src/tokenizers/collate.js';
import { VocabLayout } from '../../src/tokenizers/vocab.js';
import { WordTokenizer } from '../../src/tokenizers/word.js';
import { positionKind } from '../../src/model/spans.js';
import { KMeansImageTokenizer } from '../../src/tokenizers/kmeans.js';
import * as tf from '@tensorflow/tfjs';

// words get ids 8.. in this order
const tok = WordTokenizer.fromWords(['a', 'red', 'circle', 'what', 'colour', '?']);
const [A, RED, CIRCLE, WHAT, COLOUR, Q] = [8, 9, 10, 11, 12, 13];
const [PAD, BOS, EOS, BOI, EOI, IMG] = [0, 1, 2, 3, 4, 7];
const N = 4;
const native = new Processor({ family: 'native', tokenizer: tok, layout: new VocabLayout(tok.size, 16), numImageTokens: N });
const adapter = new Processor({ family: 'adapter', tokenizer: tok, layout: new VocabLayout(tok.size, 0), numImageTokens: N });
// image code c has id 14 + c
const codes = [5, 0, 15, 2];

test('native understanding: <bos> <boi> codes <eoi> caption <eos>, loss on caption only by default', () => {
  const ex = native.understanding({ codes, target: 'a red circle' });
  assert.deepEqual([...ex.ids], [BOS, BOI, 19, 14, 29, 16, EOI, A, RED, CIRCLE, EOS]);
  assert.deepEqual(ex.spans, { length: 11, bos: 0, boi: 1, image: [2, 6], eoi: 6 });
  assert.deepEqual([...ex.lossMask], [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
  assert.deepEqual([0, 1, 2, 5, 6, 7, 10].map((p) => positionKind(ex.spans, p)), ['bos', 'boi', 'image', 'image', 'eoi', 'text', 'text']);
  // image loss on: <boi>, codes and <eoi> become targets too
  const full = native.understanding({ codes, target: 'a red circle' }, { loss: { image: true } });
  assert.deepEqual([...full.lossMask], [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
});

test('VQA: prompt carries no loss unless asked; an inference prompt has no <eos>', () => {
  const ex = native.understanding({ codes, prompt: 'what colour?', target: 'red' });
  assert.deepEqual([...ex.ids].slice(7), [WHAT, COLOUR, Q, RED, EOS]);
  assert.deepEqual([...ex.lossMask].slice(7), [0, 0, 0, 1, 1]);
  const p = native.understanding({ codes, prompt: 'what colour?' });
  assert.deepEqual([...p.ids].slice(7), [WHAT, COLOUR, Q]);
  assert.equal(p.spans.length, 10);
  assert.ok(p.lossMask.every((v) => v === 0));
});

test('adapter understanding: N <img> placeholders between <boi> and <eoi>, same spans as native', () => {
  const ex = adapter.understanding({ image: true, target: 'a circle' });
  assert.deepEqual([...ex.ids], [BOS, BOI, IMG, IMG, IMG, IMG, EOI, A, CIRCLE, EOS]);
  assert.deepEqual(ex.spans, { length: 10, bos: 0, boi: 1, image: [2, 6], eoi: 6 });
  // image loss never applies to placeholders
  const withImageLoss = adapter.understanding({ image: true, target: 'a circle' }, { loss: { image: true } });
  assert.deepEqual([...withImageLoss.lossMask], [0, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
});

test('native text -> image: <bos> text <boi> codes <eoi> <eos>, and the generation prompt', () => {
  const ex = native.generation({ text: 'a red circle', codes });
  assert.deepEqual([...ex.ids], [BOS, A, RED, CIRCLE, BOI, 19, 14, 29, 16, EOI, EOS]);
  assert.deepEqual(ex.spans, { length: 11, bos: 0, boi: 4, image: [5, 9], eoi: 9 });
  assert.deepEqual([...ex.lossMask], [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  assert.equal(positionKind(ex.spans, 2), 'text');
  const textOff = native.generation({ text: 'a red circle', codes }, { loss: { prompt: false } });
  assert.deepEqual([...textOff.lossMask], [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1]);
  const prompt = native.generation({ text: 'a red circle' });
  assert.deepEqual([...prompt.ids], [BOS, A, RED, CIRCLE, BOI]);
  assert.deepEqual(prompt.spans, { length: 5, bos: 0, boi: 4, image: null, eoi: null });
  assert.throws(() => adapter.generation({ text: 'a' }), /native model/);
});

test('text only, wrong code counts and mismatched layouts are rejected', () => {
  const t = native.textOnly('a circle');
  assert.deepEqual([...t.ids], [BOS, A, CIRCLE, EOS]);
  assert.deepEqual(t.spans, { length: 4, bos: 0, boi: null, image: null, eoi: null });
  assert.deepEqual([...t.lossMask], [0, 1, 1, 1]);
  assert.throws(() => native.understanding({ codes: [1, 2], target: 'a' }), /has 2 codes but this processor expects 4/);
  assert.throws(() => native.understanding({ codes: [1, 2, 3, 16] }), /outside \[0, 16\)/);
  assert.throws(() => new Processor({ family: 'adapter', tokenizer: tok, layout: new VocabLayout(tok.size, 4), numImageTokens: 2 }), /expected 0/);
  assert.throws(() => new Processor({ family: 'native', tokenizer: tok, layout: new VocabLayout(20, 4), numImageTokens: 2 }), /must match/);
  assert.deepEqual(native.splitCodes(Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), 2).map((c) => [...c]), [[1, 2, 3, 4], [5, 6, 7, 8]]);
});

test('collate pads on the right by default and shifts spans when padding on the left', () => {
  const e1 = adapter.understanding({ image: true, target: 'a' }); // 9 tokens
  const e2 = adapter.understanding({ image: true, target: 'a red circle' }); // 11 tokens
  const r = collate([e1, e2]);
  assert.equal(r.seqLen, 11);
  assert.deepEqual([...r.ids.subarray(0, 11)], [BOS, BOI, IMG, IMG, IMG, IMG, EOI, A, EOS, PAD, PAD]);
  assert.deepEqual([...r.attentionMask.subarray(0, 11)], [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
  assert.deepEqual([...r.lossMask.subarray(0, 11)], [0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0]);
  assert.deepEqual([...r.lengths], [9, 11]);
  assert.deepEqual(r.spans[0], e1.spans);

  const l = collate([e1, e2], { padSide: 'left', padTo: 12 });
  assert.equal(l.seqLen, 12);
  assert.deepEqual([...l.ids.subarray(0, 12)], [PAD, PAD, PAD, BOS, BOI, IMG, IMG, IMG, IMG, EOI, A, EOS]);
  assert.deepEqual(l.spans[0], { length: 12, bos: 3, boi: 4, image: [5, 9], eoi: 9 });
  assert.deepEqual(l.spans[1], { length: 12, bos: 1, boi: 2, image: [3, 7], eoi: 7 });
  assert.equal(l.ids[l.spans[1]!.eoi! + 12], EOI);

  assert.throws(() => collate([e2], { padTo: 5 }), /more than padTo 5/);
  const cut = collate([e2], { padTo: 8, truncate: true });
  assert.deepEqual([...cut.ids], [BOS, BOI, IMG, IMG, IMG, IMG, EOI, A]);
  assert.throws(() => collate([e2], { padTo: 6, truncate: true }), /cut into its image span/);
  assert.throws(() => collate([]), /empty batch/);
});

test('imageCodes runs the image tokenizer and feeds understanding()', async () => {
  assert.ok(await tf.setBackend('cpu'));
  // 1-channel 4x4 images, 2x2 patches: 4 codes per image; code k's patch is all k/16
  const codebook = Float32Array.from({ length: 16 * 4 }, (_, i) => Math.floor(i / 4) / 16);
  const imgTok = new KMeansImageTokenizer({ imageSize: 4, channels: 1, patchSize: 2, numCodes: 16 }, codebook);
  const images = await imgTok.decode([5, 0, 15, 2, 1, 1, 1, 1]);
  const perImage = await native.imageCodes(imgTok, images);
  assert.deepEqual(perImage.map((c) => [...c]), [[5, 0, 15, 2], [1, 1, 1, 1]]);
  const ex = native.understanding({ codes: perImage[0], target: 'a red circle' });
  assert.deepEqual([...ex.ids].slice(2, 6), [19, 14, 29, 16]);
  const wrong = new KMeansImageTokenizer({ imageSize: 2, channels: 1, patchSize: 2, numCodes: 16 }, codebook);
  await assert.rejects(native.imageCodes(wrong, { data: new Float32Array(4), shape: [1, 2, 2, 1] }), /gives 1 codes per image but this processor expects 4/);
});
