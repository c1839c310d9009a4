import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Spans } from '../../src/model/spans.js';
import {
  NAMED_SELECTORS,
  formatSelector,
  parseSelector,
  parseSelectorList,
  resolve,
  resolveAll,
} from '../../src/interventions/selectors.js';
import { UserError } from '../../src/util/errors.js';

// native (early fusion): <bos> <boi> img*4 <eoi> t t t  -> 10 positions
const native: Spans = { length: 10, bos: 0, boi: 1, image: [2, 6], eoi: 6 };
// adapter (LLaVA-OneVision-like): no <boi>/<eoi> token; a system-prompt text token before the image;
// position 5 is an image_newline marker; the last image position plays the role of [EOI].
const adapter: Spans = { length: 10, bos: 0, boi: null, image: [2, 7], eoi: 6, imageMarkers: [5] };
const textOnly: Spans = { length: 5, bos: 0, boi: null, image: null, eoi: null };

test('named selectors on the native layout', () => {
  assert.deepEqual(resolve('@bos', native), [0]);
  assert.deepEqual(resolve('@boi', native), [1]);
  assert.deepEqual(resolve('@eoi', native), [6]);
  assert.deepEqual(resolve('@first-image', native), [2]);
  assert.deepEqual(resolve('@last-image', native), [5]);
  assert.deepEqual(resolve('@all-image', native), [2, 3, 4, 5]);
  assert.deepEqual(resolve('@all-text', native), [7, 8, 9]);
  assert.deepEqual(resolve('@text-after-image', native), [7, 8, 9]);
  assert.deepEqual(resolve('@all', native), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('named selectors on the adapter layout (markers skipped, text before the image is not after it)', () => {
  const a: Spans = { ...adapter, length: 11 };
  // positions: 0 bos, 1 text, 2..6 image (5 = marker, 6 = eoi role), 7..10 text
  assert.deepEqual(resolve('@bos', a), [0]);
  assert.deepEqual(resolve('@boi', a), []);
  assert.deepEqual(resolve('@eoi', a), [6]);
  assert.deepEqual(resolve('@first-image', a), [2]);
  assert.deepEqual(resolve('@last-image', a), [6]);
  assert.deepEqual(resolve('@all-image', a), [2, 3, 4, 6]);
  assert.deepEqual(resolve('@all-text', a), [1, 7, 8, 9, 10]);
  assert.deepEqual(resolve('@text-after-image', a), [7, 8, 9, 10]);
  assert.equal(resolve('@all', a).length, 11);
});

test('generated tokens count as text after the image', () => {
  assert.deepEqual(resolve('@text-after-image', native, { generatedLength: 2 }), [7, 8, 9, 10, 11]);
  assert.deepEqual(resolve('@all-text', native, { generatedLength: 1 }), [7, 8, 9, 10]);
  assert.deepEqual(resolve('-1', native, { generatedLength: 3 }), [12]);
  assert.deepEqual(resolve('@all', textOnly, { generatedLength: 1 }), [0, 1, 2, 3, 4, 5]);
});

test('image selectors are empty for a text-only example', () => {
  for (const s of ['@boi', '@eoi', '@first-image', '@last-image', '@all-image', '@text-after-image', '@random-image:3']) {
    assert.deepEqual(resolve(s, textOnly), [], s);
  }
  assert.deepEqual(resolve('@all-text', textOnly), [1, 2, 3, 4]);
});

test('indices and ranges, Python-style', () => {
  assert.deepEqual(resolve('5', native), [5]);
  assert.deepEqual(resolve('-1', native), [9]);
  assert.deepEqual(resolve('3:7', native), [3, 4, 5, 6]);
  assert.deepEqual(resolve('8:', native), [8, 9]);
  assert.deepEqual(resolve(':2', native), [0, 1]);
  assert.deepEqual(resolve('-2:', native), [8, 9]);
  assert.deepEqual(resolve('7:3', native), []);
  assert.deepEqual(resolve('5:100', native), [5, 6, 7, 8, 9]);
  assert.throws(() => resolve('10', native), (e: unknown) => e instanceof UserError && /outside the sequence of 10/.test(e.message));
  assert.throws(() => resolve('-11', native), UserError);
});

test('@random-image:N is seeded by (seed, example id), inside the image, distinct and sorted', () => {
  const big: Spans = { length: 70, bos: 0, boi: 1, image: [2, 66], eoi: 66 };
  const a = resolve('@random-image:8', big, { seed: 1, exampleId: 3 });
  assert.deepEqual(a, resolve('@random-image:8', big, { seed: 1, exampleId: 3 }));
  assert.equal(new Set(a).size, 8);
  assert.deepEqual(a, [...a].sort((x, y) => x - y));
  for (const p of a) assert.ok(p >= 2 && p < 66);
  assert.notDeepEqual(a, resolve('@random-image:8', big, { seed: 1, exampleId: 4 }));
  assert.notDeepEqual(a, resolve('@random-image:8', big, { seed: 2, exampleId: 3 }));
  // all image patches when N equals their number; markers never drawn
  assert.deepEqual(resolve('@random-image:4', adapter, { seed: 9 }), [2, 3, 4, 6]);
  assert.throws(() => resolve('@random-image:5', adapter), /more positions than the 4 image positions/);
});

test('unknown selectors are UserErrors listing the valid ones', () => {
  for (const bad of ['@eos', 'eoi', '@random-image', '@random-image:0', '1.5', '', '3:4:5']) {
    assert.throws(
      () => parseSelector(bad),
      (e: unknown) => e instanceof UserError && (/@bos @boi @eoi/.test(e.message) || /N >= 1/.test(e.message)),
      bad,
    );
  }
  assert.throws(() => parseSelectorList('@eoi,,@bos'), /empty entry/);
});

test('formatSelector round-trips every form; lists resolve to a sorted union', () => {
  for (const s of [...NAMED_SELECTORS, '@random-image:3', '4', '-2', '3:7', '3:', ':7', '-4:']) {
    assert.equal(formatSelector(parseSelector(s)), s);
  }
  assert.deepEqual(resolveAll(parseSelectorList('@eoi, @last-image,@eoi'), native), [5, 6]);
});

test('selectors on spans from the processor, both families, with and without an image', async () => {
  const { Processor } = await import('../../src/tokenizers/processor.js');
  const { VocabLayout } = await import('../../src/tokenizers/vocab.js');
  const { WordTokenizer } = await import('../../src/tokenizers/word.js');
  const tok = WordTokenizer.fromWords(['a', 'red', 'circle', 'what', 'colour', '?']);
  const [BOS, BOI, EOI, IMG, A, RED, CIRCLE] = [1, 3, 4, 7, 8, 9, 10];
  const make = (family: 'native' | 'adapter') =>
    new Processor({ family, tokenizer: tok, layout: new VocabLayout(tok.size, family === 'native' ? 16 : 0), numImageTokens: 4 });
  for (const family of ['native', 'adapter'] as const) {
    const p = make(family);
    const ex = p.understanding(family === 'native' ? { codes: [5, 0, 15, 2], prompt: 'what colour?' } : { image: true, prompt: 'what colour?' });
    const at = (sel: string, generatedLength = 0) => resolve(sel, ex.spans, { generatedLength }).map((i) => (i < ex.ids.length ? ex.ids[i] : -1));
    assert.deepEqual(at('@bos'), [BOS], family);
    assert.deepEqual(at('@boi'), [BOI], family);
    assert.deepEqual(at('@eoi'), [EOI], family);
    const img = at('@all-image');
    assert.equal(img.length, 4);
    if (family === 'adapter') assert.deepEqual(img, [IMG, IMG, IMG, IMG]);
    else assert.deepEqual(img, [14 + 5, 14 + 0, 14 + 15, 14 + 2]);
    assert.deepEqual(at('@first-image'), img.slice(0, 1));
    assert.deepEqual(at('@last-image'), img.slice(-1));
    assert.deepEqual(at('@text-after-image'), [...tok.encode('what colour?')]);
    assert.deepEqual(at('@text-after-image', 2), [...tok.encode('what colour?'), -1, -1], 'generated tokens follow');
    assert.deepEqual(at('@all'), [...ex.ids]);
    const noImage = p.understanding({ target: 'a red circle' });
    assert.deepEqual(resolve('@all-image', noImage.spans), []);
    assert.deepEqual(resolve('@eoi', noImage.spans), []);
    assert.deepEqual(resolve('@all-text', noImage.spans).map((i) => noImage.ids[i]), [A, RED, CIRCLE, 2]);
  }
});
