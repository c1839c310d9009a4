import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readMetricFixture, FIXTURE_KEYS } from '../helpers/metrics-fixtures.js';
import {
  evaluateCocoCaptions, parseCaptionAnnotations, parseCaptionResults, ptbTokenize, whitespaceTokenize,
  TOKENIZATIONS, type CaptionEvaluation,
} from '../../src/metrics/index.js';

const TOL = 1e-9;
const expected = readMetricFixture('caption-expected.json');
const annJson = readMetricFixture('caption-annotations.json');
const resJson = readMetricFixture('caption-results.json');

function evaluate(tok: (typeof TOKENIZATIONS)[number]): CaptionEvaluation & { imageIds: (number | string)[] } {
  return evaluateCocoCaptions(parseCaptionResults(resJson, 'results'), parseCaptionAnnotations(annJson, 'annotations'), tok);
}

function close(actual: number, want: number, what: string): number {
  const d = Math.abs(actual - want);
  assert.ok(d <= TOL, `${what}: ${actual} vs reference ${want} (|d| = ${d})`);
  return d;
}

for (const tok of TOKENIZATIONS) {
  test(`caption metrics match pycocoevalcap / vrama91 CIDEr on the fixture (${tok} tokens)`, () => {
    const ev = evaluate(tok);
    assert.equal(ev.nImages, expected.n_images);
    let maxDev = 0;
    for (const [fk, ours] of Object.entries(FIXTURE_KEYS)) {
      maxDev = Math.max(maxDev, close(ev.corpus[ours], expected.corpus[fk], `corpus ${fk}`));
    }
    assert.equal(ev.perImage.length, expected.per_image.length);
    expected.per_image.forEach((p: Record<string, number>, i: number) => {
      assert.equal(ev.imageIds[i], p.image_id, 'images in the order of "images"');
      for (const [fk, ours] of Object.entries(FIXTURE_KEYS)) {
        maxDev = Math.max(maxDev, close(ev.perImage[i]![ours], p[fk]!, `image ${p.image_id} ${fk}`));
      }
    });
    assert.equal(ev.bleuLengths.testlen, expected.bleu_lengths.testlen);
    assert.equal(ev.bleuLengths.reflen, expected.bleu_lengths.reflen);
    close(ev.bleuLengths.ratio, expected.bleu_lengths.ratio, 'bleu ratio');
    assert.ok(maxDev < 1e-12, `max deviation ${maxDev}`);
  });
}

test('both tokenisations are the identity on the fixture text', () => {
  const captions = [...annJson.annotations.map((a: { caption: string }) => a.caption), ...resJson.map((r: { caption: string }) => r.caption)];
  for (const c of captions) {
    assert.equal(ptbTokenize(c), c);
    assert.equal(whitespaceTokenize(c), c);
  }
});

test('the fixture exercises what it says: a one-word candidate with a tiny non-zero BLEU-2', () => {
  const ev = evaluate('ptb');
  const i = expected.per_image.findIndex((p: { candidate_kind: string }) => p.candidate_kind === 'one_word');
  assert.ok(i >= 0);
  assert.ok(ev.perImage[i]!['BLEU-2'] > 0 && ev.perImage[i]!['BLEU-2'] < 1e-5);
});

test('all caption metrics on 5,000 images x 5 references finish in seconds (no quadratic work)', () => {
  const words = 'a the dog cat man woman red blue sits runs on in near park street table ball with two small large'.split(' ');
  let seed = 1;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const sentence = () => Array.from({ length: 8 + Math.floor(rnd() * 6) }, () => words[Math.floor(rnd() * words.length)]).join(' ');
  const images = Array.from({ length: 5000 }, (_, i) => ({ id: i }));
  const annotations = images.flatMap((im) => Array.from({ length: 5 }, () => ({ image_id: im.id, caption: sentence() })));
  const results = images.map((im) => ({ image_id: im.id, caption: sentence() }));
  const t0 = performance.now();
  const ev = evaluateCocoCaptions(results, { imageIds: images.map((im) => im.id), annotations }, 'whitespace');
  const ms = performance.now() - t0;
  assert.equal(ev.nImages, 5000);
  assert.ok(Number.isFinite(ev.corpus['CIDEr-D']));
  assert.ok(ms < 10000, `all caption metrics took ${ms.toFixed(0)} ms`);
});
