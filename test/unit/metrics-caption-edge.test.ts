/**
 * Caption metrics on tiny inputs, against values worked out by hand from the definitions in
 * eval/fixtures/metrics/README.md (pycocoevalcap's CIDEr-D / BLEU / ROUGE-L, vrama91's plain CIDEr).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bleu, cider, evaluateCaptions, lcsLength, rougeL, rougeLSentence } from '../../src/metrics/index.js';

const close = (a: number, b: number, what = '') => assert.ok(Math.abs(a - b) <= 1e-12, `${what}: ${a} vs ${b}`);

test('CIDEr: an n-gram found in every image has idf 0, so even an exact copy scores 0', () => {
  // N = 2 images; every n-gram of "a b" occurs in both reference sets: log 2 - log 2 = 0.
  const r = cider(['a b', 'a b'], [['a b'], ['a b']]);
  assert.deepEqual(r.perImage, [0, 0]);
  assert.equal(cider(['a b', 'a b'], [['a b'], ['a b']], { variant: 'plain' }).score, 0);
});

test('CIDEr-D clips repeated words; plain CIDEr does not', () => {
  // image 1: candidate "x x", reference "x y"; image 2 only makes N = 2 (idf = log 2 for df = 1).
  // unigrams: h = {x: 2L}, r = {x: L, y: L}, |h| = 2L, |r| = sqrt(2) L (L = log 2)
  //   CIDEr-D: min(2L, L) L / (2L sqrt2 L) = 1 / (2 sqrt2);  plain: 2L L / (2L sqrt2 L) = 1 / sqrt2
  // bigrams: "x x" is not in the reference: 0. Orders 3, 4: empty: 0. Lengths 1 and 1: no penalty.
  const refs = [['x y'], ['z w']];
  close(cider(['x x', 'z w'], refs).perImage[0]!, (10 * (1 / (2 * Math.SQRT2))) / 4, 'CIDEr-D');
  close(cider(['x x', 'z w'], refs, { variant: 'plain' }).perImage[0]!, (10 * (1 / Math.SQRT2)) / 4, 'CIDEr');
});

test('CIDEr-D one-word candidate: cosine on unigrams only, Gaussian penalty on the bigram-count difference', () => {
  // candidate "a" vs "a b c": cosine L^2 / (L * sqrt3 L) = 1/sqrt3; bigram counts 0 vs 2 -> exp(-4/72)
  const refs = [['a b c'], ['d e f']];
  close(cider(['a', 'd e f'], refs).perImage[0]!, (10 * (Math.exp(-4 / 72) / Math.sqrt(3))) / 4, 'CIDEr-D');
  close(cider(['a', 'd e f'], refs, { variant: 'plain' }).perImage[0]!, (10 / Math.sqrt(3)) / 4, 'CIDEr');
});

test('CIDEr-D with identical references: each counts, the mean over references is unchanged', () => {
  // "a b" vs ["a b", "a b"]: per reference orders 1, 2 give cosine 1, orders 3, 4 give 0 -> mean 0.5;
  // sum over the two references 1.0, divided by 2 references, times 10 = 5.
  close(cider(['a b', 'c d'], [['a b', 'a b'], ['c d']]).perImage[0]!, 5, 'identical refs');
});

test('CIDEr and BLEU of an empty candidate are 0; ROUGE-L too', () => {
  const refs = [['a b c'], ['d e f']];
  assert.equal(cider(['', 'd e f'], refs).perImage[0], 0);
  assert.equal(cider(['', 'd e f'], refs, { variant: 'plain' }).perImage[0], 0);
  assert.deepEqual(bleu(['', 'd e f'], refs).perImage[0], [0, 0, 0, 0]);
  assert.equal(rougeL(['', 'd e f'], refs).perImage[0], 0);
});

test('BLEU clips counts at the maximum count in any one reference', () => {
  // "the the the" vs "the cat": correct_1 = min(1, 3) = 1 of guess 3; length 3 >= 2: no brevity penalty
  const r = bleu(['the the the'], [['the cat']]);
  close(r.perImage[0]![0]!, (1 + 1e-15) / (3 + 1e-9), 'BLEU-1');
  // maximum over references, not the sum: with two references holding "the" once each, still 1
  close(bleu(['the the the'], [['the cat', 'the dog']]).perImage[0]![0]!, (1 + 1e-15) / (3 + 1e-9), 'max over refs');
});

test('BLEU of a one-word candidate: smoothing constants and the brevity penalty', () => {
  // "cat" vs "the cat sat": p1 = (1+1e-15)/(1+1e-9), p2 = 1e-15/1e-9, ratio (1+1e-15)/(3+1e-9) < 1
  const p1 = (1 + 1e-15) / (1 + 1e-9), p0 = 1e-15 / 1e-9;
  const bp = Math.exp(1 - 1 / ((1 + 1e-15) / (3 + 1e-9)));
  const r = bleu(['cat'], [['the cat sat']]);
  close(r.perImage[0]![0]!, p1 * bp, 'BLEU-1');
  close(r.perImage[0]![1]!, Math.pow(p1 * p0, 1 / 2) * bp, 'BLEU-2');
  close(r.perImage[0]![3]!, Math.pow(p1 * p0 ** 3, 1 / 4) * bp, 'BLEU-4');
  assert.ok(r.perImage[0]![1]! > 0);
});

test('BLEU takes the closest reference length, the shorter one on a tie; corpus pools the counts', () => {
  // candidate of 3 words, references of 2 and 4 words: both at distance 1 -> 2 (no penalty)
  const r = bleu(['a b c', 'x y'], [['a b', 'a b c d'], ['x y z']]);
  assert.equal(r.testlen, 5);
  assert.equal(r.reflen, 2 + 3);
  // corpus BLEU-1: correct (3 + 2) of guess (3 + 2); equal lengths still give ratio (5+1e-15)/(5+1e-9) < 1,
  // so the reference code applies a tiny brevity penalty exp(1 - 1/ratio) ~ 1 - 2e-10
  const bp = Math.exp(1 - 1 / ((5 + 1e-15) / (5 + 1e-9)));
  close(r.bleu[0]!, ((5 + 1e-15) / (5 + 1e-9)) * bp, 'corpus BLEU-1');
  // image 2 alone is short (2 vs 3): its own penalty exp(1 - 3/2) applies per image only
  close(r.perImage[1]![0]!, ((2 + 1e-15) / (2 + 1e-9)) * Math.exp(1 - 1 / ((2 + 1e-15) / (3 + 1e-9))), 'per-image BLEU-1');
});

test('ROUGE-L: LCS-based F with beta 1.2; P and R maximised separately over references', () => {
  assert.equal(lcsLength('a b c d'.split(' '), 'a c d e f'.split(' ')), 3);
  // P = 3/4, R = 3/5: F = 2.44 * 0.45 / (0.6 + 1.44 * 0.75)
  close(rougeLSentence('a b c d', ['a c d e f']), (2.44 * 0.75 * 0.6) / (0.6 + 1.44 * 0.75), 'F');
  // ref 1 gives R = 1 (P = 2/3), ref 2 gives P = 1 (R = 3/8): maxima P = 1, R = 1 -> F = 1
  close(rougeLSentence('a b c', ['a b', 'a b c d e f g h']), 1, 'separate maxima');
});

test('evaluateCaptions: exact copies score the maximum BLEU and ROUGE-L; PTB tokens fold case and punctuation', () => {
  const refs = [['A dog runs in the park.', 'a brown dog is running'], ['Two cats sleep on a sofa!', 'cats on a couch']];
  const ev = evaluateCaptions(['a dog runs in the park', 'two cats sleep on a sofa'], refs, 'ptb');
  assert.ok(Math.abs(ev.corpus['BLEU-4'] - 1) < 1e-9, 'BLEU-4 is 1 up to the smoothing constants');
  close(ev.corpus['ROUGE-L'], 1, 'ROUGE-L');
  const raw = evaluateCaptions(['a dog runs in the park', 'two cats sleep on a sofa'], refs, 'whitespace');
  assert.ok(raw.corpus['BLEU-4'] < 1, 'case and punctuation count as differences in whitespace mode');
});
