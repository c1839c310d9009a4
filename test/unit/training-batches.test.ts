import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MixtureSampler, buildPools, corpusOf, makeBatch, type Pools, type Item } from '../../src/training/batches.js';
import { buildShapesDataset } from '../../src/data/shapes.js';
import { openDataset } from '../../src/data/open.js';
import { WordTokenizer } from '../../src/tokenizers/word.js';
import { VocabLayout } from '../../src/tokenizers/vocab.js';
import { Processor } from '../../src/tokenizers/processor.js';
import { UserError } from '../../src/util/errors.js';

function pools(nCap: number, nVqa: number): Pools {
  const mk = (kind: Item['kind'], n: number): Item[] => Array.from({ length: n }, (_, i) => ({ kind, image: i, target: `${kind} ${i}` }));
  return { caption: mk('caption', nCap), vqa: mk('vqa', nVqa), text_to_image: [], text: [] };
}

const W = { caption: 1, vqa: 3, text_to_image: 0, text: 0 };

test('the sampler is deterministic per seed and follows the mixture weights', () => {
  const a = new MixtureSampler(pools(50, 70), W, 5).take(4000);
  const b = new MixtureSampler(pools(50, 70), W, 5).take(4000);
  assert.deepEqual(a, b);
  const c = new MixtureSampler(pools(50, 70), W, 6).take(4000);
  assert.notDeepEqual(a, c);
  const vqaShare = a.filter((x) => x.kind === 'vqa').length / a.length;
  assert.ok(Math.abs(vqaShare - 0.75) < 0.03, `vqa share ${vqaShare}, expected about 3/4`);
});

test('each source is walked without repetition within an epoch, then reshuffled', () => {
  const s = new MixtureSampler(pools(10, 0), { caption: 1, vqa: 0, text_to_image: 0, text: 0 }, 1);
  const e1 = s.take(10).map((x) => x.image);
  const e2 = s.take(10).map((x) => x.image);
  assert.deepEqual([...e1].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual([...e2].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.notDeepEqual(e1, e2);
});

test('a restored sampler continues exactly where the saved one was (across epoch boundaries)', () => {
  const s = new MixtureSampler(pools(7, 5), W, 9);
  s.take(23);
  const saved = JSON.parse(JSON.stringify(s.state()));
  const rest = s.take(40);
  const r = new MixtureSampler(pools(7, 5), W, 12345);
  r.restore(saved);
  assert.deepEqual(r.take(40), rest);
});

test('a source with a weight but no items is a clear error', () => {
  assert.throws(() => new MixtureSampler(pools(3, 0), W, 0), (e: unknown) => e instanceof UserError && /"vqa"/.test(e.message) && /data\.mixture\.vqa/.test(e.message));
});

test('pools and batches from a real shapes dataset: layouts, loss masks and the length check', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ng-batches-'));
  try {
    await buildShapesDataset(join(dir, 'ds'), { n: 10, seed: 3 });
    const ds = await openDataset(join(dir, 'ds'));
    const p = buildPools(ds, 'train');
    const nTrain = ds.indices('train').length;
    assert.equal(p.caption.length, nTrain * 5);
    assert.equal(p.text.length, p.caption.length + p.vqa.length);
    assert.ok(p.vqa.every((q) => q.prompt && q.prompt.length > 0 && q.image >= 0));
    const tok = WordTokenizer.build(corpusOf(ds));
    const N = 64;
    const layout = new VocabLayout(tok.size, 16);
    const proc = new Processor({ family: 'native', tokenizer: tok, layout, numImageTokens: N });
    const codes = new Int32Array(N).fill(3);
    const items: Item[] = [p.caption[0]!, p.vqa[0]!, { ...p.text_to_image[0]! }, p.text[0]!];
    const tb = makeBatch(items, proc, { text: true, image: false }, 200, () => codes);
    assert.deepEqual(tb.kinds, ['caption', 'vqa', 'text_to_image', 'text']);
    assert.equal(tb.images[3], -1);
    const T = tb.batch.seqLen;
    const row = (b: number) => Array.from(tb.batch.lossMask.subarray(b * T, (b + 1) * T));
    // caption row: no loss on <bos>, <boi>, the 64 codes or <eoi> (image loss off); loss on the caption
    const cap = row(0);
    assert.equal(cap.slice(0, N + 3).reduce((a, x) => a + x, 0), 0);
    assert.ok(cap.slice(N + 3).some((x) => x === 1));
    // vqa row: the question (prompt) carries no loss, the answer does
    const q = row(1);
    const qLen = tok.encode(items[1]!.prompt!).length;
    assert.equal(q.slice(0, N + 3 + qLen).reduce((a, x) => a + x, 0), 0);
    assert.equal(q[N + 3 + qLen], 1);
    // text->image with image loss off: the codes carry no loss
    const gen = row(2);
    const spans = tb.batch.spans[2]!;
    assert.equal(gen.slice(spans.image![0], spans.image![1]).reduce((a, x) => a + x, 0), 0);
    // and with image loss on they do
    const tb2 = makeBatch([items[2]!], proc, { text: true, image: true }, 200, () => codes);
    const s2 = tb2.batch.spans[0]!;
    assert.ok(Array.from(tb2.batch.lossMask.subarray(s2.image![0], s2.image![1])).every((x) => x === 1));
    assert.throws(() => makeBatch(items, proc, { text: true, image: true }, 20, () => codes), /model\.max_seq/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
