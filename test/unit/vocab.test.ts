import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VocabLayout } from '../../src/tokenizers/vocab.js';
import { NUM_SPECIALS, SPECIAL_IDS } from '../../src/tokenizers/word.js';

test('native layout: specials, then words, then K image codes', () => {
  const L = new VocabLayout(NUM_SPECIALS + 10, 16); // 8 specials + 10 words + 16 codes
  assert.equal(L.size, 34);
  assert.deepEqual(L.textRange, [8, 18]);
  assert.deepEqual(L.imageRange, [18, 34]);
  assert.equal(L.codeToId(0), 18);
  assert.equal(L.codeToId(15), 33);
  assert.equal(L.idToCode(20), 2);
  assert.throws(() => L.codeToId(16), /outside \[0, 16\)/);
  assert.throws(() => L.idToCode(17), /not an image code id/);
  assert.ok(L.isImageId(18) && !L.isImageId(17) && !L.isImageId(34));
  assert.ok(L.isTextId(8) && L.isTextId(17) && !L.isTextId(7) && !L.isTextId(18));
  assert.deepEqual([...L.idsToCodes(L.codesToIds([3, 0, 15]))], [3, 0, 15]);
  assert.deepEqual(L.modelFields(), { vocabSize: 34, special: { bos: 1, eos: 2, pad: 0, boi: 3, eoi: 4 }, imageCodeStart: 18, imageCodeCount: 16 });
});

test('allowed ids and logit bias restrict generation to text or image codes', () => {
  const L = new VocabLayout(NUM_SPECIALS + 3, 4);
  assert.deepEqual([...L.textIds()], [SPECIAL_IDS.eos, SPECIAL_IDS.unk, 8, 9, 10]);
  assert.deepEqual([...L.imageIds()], [11, 12, 13, 14]);
  const bias = L.logitBias('image');
  assert.equal(bias.length, 15);
  for (let id = 0; id < 15; id++) assert.equal(bias[id], id >= 11 ? 0 : -1e9);
  const tb = L.logitBias('text');
  assert.deepEqual([...tb].map((v, i) => (v === 0 ? i : -1)).filter((i) => i >= 0), [2, 5, 8, 9, 10]);
});

test('adapter layout has no image codes; JSON round trip; bad sizes rejected', () => {
  const A = new VocabLayout(20, 0);
  assert.equal(A.size, 20);
  assert.equal(A.imageIds().length, 0);
  assert.deepEqual(VocabLayout.fromJSON(A.toJSON()), A);
  assert.throws(() => new VocabLayout(3, 0), /expected an integer >= 8/);
  assert.throws(() => new VocabLayout(10, -1), /expected an integer >= 0/);
});

test('checkModelConfig accepts a config built from modelFields and names every mismatch', () => {
  const L = new VocabLayout(NUM_SPECIALS + 10, 16);
  const f = L.modelFields();
  L.checkModelConfig({ decoder: { vocabSize: f.vocabSize }, special: f.special, imageCodeStart: f.imageCodeStart, imageCodeCount: f.imageCodeCount });
  assert.throws(
    () => L.checkModelConfig({ decoder: { vocabSize: 40 }, special: { bos: 0, eos: 1, pad: 2, boi: 3, eoi: 4 }, imageCodeStart: 5, imageCodeCount: 16 }),
    /decoder\.vocabSize is 40, expected 34; special\.bos is 0, expected 1; special\.eos is 1, expected 2; special\.pad is 2, expected 0; imageCodeStart is 5, expected 18\./,
  );
  // adapter: no image codes
  const A = new VocabLayout(20, 0);
  assert.throws(() => A.checkModelConfig({ decoder: { vocabSize: 20 }, special: A.modelFields().special, imageCodeCount: 4 }), /imageCodeCount is 4, expected 0/);
});
