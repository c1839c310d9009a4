import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NUM_SPECIALS, SPECIAL_IDS, SPECIAL_TOKENS, WordTokenizer, splitWords } from '../../src/tokenizers/word.js';
import { UserError } from '../../src/util/errors.js';

test('splitWords lower-cases and gives punctuation its own tokens', () => {
  assert.deepEqual(splitWords('A Red circle, left-of the BLUE square.'), ['a', 'red', 'circle', ',', 'left', '-', 'of', 'the', 'blue', 'square', '.']);
  assert.deepEqual(splitWords('  two  3d? '), ['two', '3d', '?']);
  assert.deepEqual(splitWords(''), []);
});

test('specials sit at their documented fixed ids', () => {
  assert.deepEqual([...SPECIAL_TOKENS], ['<pad>', '<bos>', '<eos>', '<boi>', '<eoi>', '<unk>', '<sep>', '<img>']);
  assert.deepEqual(SPECIAL_IDS, { pad: 0, bos: 1, eos: 2, boi: 3, eoi: 4, unk: 5, sep: 6, img: 7 });
  const tok = WordTokenizer.build(['x']);
  SPECIAL_TOKENS.forEach((s, i) => assert.equal(tok.tokenToId(s), i));
});

test('build orders words by count then alphabetically and honours minCount / maxSize', () => {
  const corpus = ['b a c a', 'a b d', 'e'];
  // counts: a 3, b 2, c 1, d 1, e 1
  const all = WordTokenizer.build(corpus);
  assert.deepEqual(all.words, ['a', 'b', 'c', 'd', 'e']);
  assert.equal(all.tokenToId('a'), NUM_SPECIALS);
  assert.equal(all.size, NUM_SPECIALS + 5);
  assert.deepEqual(WordTokenizer.build(corpus, { minCount: 2 }).words, ['a', 'b']);
  assert.deepEqual(WordTokenizer.build(corpus, { maxSize: 3 }).words, ['a', 'b', 'c']);
});

test('encode / decode round trip, <unk> for unknown words, optional bos/eos', () => {
  const tok = WordTokenizer.fromWords(['a', 'red', 'circle', '.', ',', 'blue']);
  const ids = tok.encode('A red circle, a BLUE circle.', { bos: true, eos: true });
  const w = (s: string): number => NUM_SPECIALS + ['a', 'red', 'circle', '.', ',', 'blue'].indexOf(s);
  assert.deepEqual(ids, [1, w('a'), w('red'), w('circle'), w(','), w('a'), w('blue'), w('circle'), w('.'), 2]);
  assert.equal(tok.decode(ids), 'a red circle, a blue circle.');
  assert.deepEqual(tok.encode('a green circle'), [w('a'), SPECIAL_IDS.unk, w('circle')]);
  assert.equal(tok.decode(tok.encode('a green circle')), 'a <unk> circle');
  // decoding stops at <eos> and skips ids outside the text vocabulary (image codes)
  assert.equal(tok.decode([w('red'), 999, w('circle'), 2, w('blue')]), 'red circle');
  assert.equal(tok.decode([1, w('red'), 2], { skipSpecials: false, stopAtEos: false }), '<bos> red <eos>');
  // "<eos>" typed in a text is not the special token
  assert.ok(!tok.encode('<eos>').includes(SPECIAL_IDS.eos));
});

test('save / load round trip and validation errors name the problem', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ng-tok-'));
  try {
    const tok = WordTokenizer.build(['the cat sat on the mat .']);
    const path = join(dir, 'tokenizer.json');
    await tok.save(path);
    const back = await WordTokenizer.load(path);
    assert.deepEqual(back.words, tok.words);
    assert.deepEqual(back.encode('the mat sat'), tok.encode('the mat sat'));

    const good = tok.toJSON();
    const cases: [unknown, RegExp][] = [
      [{ ...good, type: 'bpe' }, /"type" is "bpe", expected "narrowgate-word"/],
      [{ ...good, version: 2 }, /"version" is 2/],
      [{ ...good, specials: ['<bos>'] }, /"specials" must be exactly/],
      [{ ...good, words: ['a', 'a'] }, /appears twice/],
      [{ ...good, words: ['<eos>'] }, /clashes with a special/],
      [[1, 2], /expected a JSON object/],
    ];
    for (const [obj, re] of cases) {
      writeFileSync(path, JSON.stringify(obj));
      await assert.rejects(WordTokenizer.load(path), (e: unknown) => e instanceof UserError && re.test(e.message));
    }
    writeFileSync(path, '{not json');
    await assert.rejects(WordTokenizer.load(path), /not valid JSON/);
    await assert.rejects(WordTokenizer.load(join(dir, 'missing.json')), /does not exist/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
