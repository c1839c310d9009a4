/**
 * The PTB-style caption tokeniser against what Stanford's PTBTokenizer (-lowerCase) followed by
 * coco-caption's punctuation filter gives for these sentences (PTB conventions: clitics split off,
 * "n't" kept whole, abbreviations keep their period, hyphenated words and numbers stay whole).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ptbRawTokens, ptbTokenize, tokenizeCaption, whitespaceTokenize } from '../../src/metrics/index.js';

const cases: [string, string][] = [
  ["A man's hat.", "a man 's hat"],
  ["They don't know.", "they do n't know"],
  ["I can't, won't!", "i ca n't wo n't"],
  ['A "red" car (parked) near St. Louis.', 'a red car parked near st. louis'],
  ['A black-and-white photo of a T-shirt', 'a black-and-white photo of a t-shirt'],
  ['It costs $5.50, about 1,000 yen', 'it costs $ 5.50 about 1,000 yen'],
  ['Cannot see; gonna go', 'can not see gon na go'],
  ['Wait... what -- now?', 'wait what now'],
  ["The dogs' bowls", 'the dogs bowls'],
  ['at 10:30 a.m. in the U.S.', 'at 10:30 a.m. in the u.s.'],
  ['Two\ndogs\tplaying   outside ', 'two dogs playing outside'],
  ['“Smart” quotes and it’s fine', "smart quotes and it 's fine"],
  ['constructor toString __proto__', 'constructor tostring __proto__'],
  ['', ''],
];

test('ptb tokenisation follows PTB conventions and drops coco-caption punctuation', () => {
  for (const [input, want] of cases) assert.equal(ptbTokenize(input), want, JSON.stringify(input));
});

test('ptb raw tokens keep the dropped punctuation as PTB tokens', () => {
  assert.deepEqual(ptbRawTokens('Hi (there), "you".'), ['hi', '-lrb-', 'there', '-rrb-', ',', '``', 'you', "''", '.']);
  assert.deepEqual(ptbRawTokens('("ok")'), ['-lrb-', '``', 'ok', "''", '-rrb-']);
  assert.deepEqual(ptbRawTokens('see [1]'), ['see', '-lsb-', '1', '-rsb-'], 'coco-caption keeps -LSB- / -RSB-');
});

test('ptb is the identity on lower-case, single-spaced, punctuation-free text', () => {
  for (const s of ['a dog runs in the park', 'there is a bird looking at the camera', 'two 3 its dogs']) {
    assert.equal(ptbTokenize(s), s);
  }
});

test('whitespace tokenisation keeps case and punctuation and only normalises spacing', () => {
  assert.equal(whitespaceTokenize('  A Dog,  runs.\n'), 'A Dog, runs.');
  assert.equal(tokenizeCaption('A Dog,  runs.', 'whitespace'), 'A Dog, runs.');
  assert.equal(tokenizeCaption('A Dog,  runs.', 'ptb'), 'a dog runs');
});
