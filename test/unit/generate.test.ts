import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { generate, generateImageCodes, choose } from '../../src/model/generate.js';
import { knockoutHooks } from '../../src/hooks/knockout.js';
import type { VLModel } from '../../src/model/model.js';
import type { NamedHook } from '../../src/hooks/types.js';
import { Rng } from '../../src/util/rng.js';
import { maxAbsDiff, tinyAdapter, tinyNative, useBackend } from '../helpers/tiny.js';

await useBackend('cpu');

/** Last-row logits of a full forward pass without cache. */
function fullLast(m: VLModel, ids: number[], hooks?: NamedHook[]): Float32Array {
  return tf.tidy(() => {
    const l = m.forward({ ids: tf.tensor2d([ids], [1, ids.length], 'int32') }, { hooks });
    return l.slice([0, ids.length - 1, 0], [1, 1, -1]).dataSync() as Float32Array;
  });
}

test('cached greedy generation equals recomputing the full sequence (logits within 1e-5, same tokens), ragged batch', async () => {
  const m = tinyNative({ nKvHeads: 2, qkNorm: true, qkvBias: true }, 31);
  const prompts = [[0, 3, 7, 9, 4, 25], [0, 30, 31]];
  const res = await generate(m, { prompts }, { maxNewTokens: 6, eos: null, returnScores: true });
  for (let b = 0; b < 2; b++) {
    const seq = [...prompts[b]!];
    for (let step = 0; step < 6; step++) {
      const full = fullLast(m, seq);
      const cached = res.scores![step]![b]!;
      assert.ok(maxAbsDiff(full, cached) < 1e-5, `example ${b} step ${step}: ${maxAbsDiff(full, cached)}`);
      let arg = 0;
      for (let i = 1; i < full.length; i++) if (full[i]! > full[arg]!) arg = i;
      assert.equal(res.tokens[b]![step], arg);
      seq.push(arg);
    }
  }
  m.dispose();
});

test('hooks stay active during cached generation with ctx.offset (knockout of the <eoi> key)', async () => {
  const m = tinyNative({ nKvHeads: 2 }, 32);
  const prompt = [0, 3, 7, 9, 4, 25];
  const hooks = knockoutHooks({ layers: [0, 1], query: (_b, q) => q >= 4, key: (_b, k) => k === 4, mode: 'zero' });
  const offsets: number[] = [];
  const spy: NamedHook = { name: 'blocks.0.hook_resid_pre', fn: (_a, ctx) => void offsets.push(ctx.offset) };
  const res = await generate(m, { prompts: [prompt] }, { maxNewTokens: 4, eos: null, returnScores: true, hooks: [...hooks, spy] });
  assert.deepEqual(offsets, [0, 6, 7, 8]);
  const seq = [...prompt];
  for (let step = 0; step < 4; step++) {
    const full = fullLast(m, seq, hooks);
    assert.ok(maxAbsDiff(full, res.scores![step]![0]!) < 1e-5);
    seq.push(res.tokens[0]![step]!);
  }
  const plain = await generate(m, { prompts: [prompt] }, { maxNewTokens: 1, eos: null, returnScores: true });
  assert.ok(maxAbsDiff(plain.scores![0]![0]!, res.scores![0]![0]!) > 1e-4, 'the knockout changes the logits');
  m.dispose();
});

test('adapter generation: the image enters the prompt pass only; cached steps equal the full forward', async () => {
  const m = tinyAdapter(false, { nLayers: 2 }, 33);
  const prompt = [0, 3, 2, 2, 2, 2, 4, 25];
  const spans = [{ length: 8, bos: 0, boi: 1, image: [2, 6] as [number, number], eoi: 6 }];
  const features = tf.tensor3d(Array.from({ length: 48 }, (_, i) => Math.sin(i)), [1, 4, 12]);
  const res = await generate(m, { prompts: [prompt], spans, features }, { maxNewTokens: 3, eos: null, returnScores: true });
  const seq = [...prompt];
  for (let step = 0; step < 3; step++) {
    const full = tf.tidy(() => {
      const l = m.forward({ ids: tf.tensor2d([seq], [1, seq.length], 'int32'), features, spans });
      return l.slice([0, seq.length - 1, 0], [1, 1, -1]).dataSync() as Float32Array;
    });
    assert.ok(maxAbsDiff(full, res.scores![step]![0]!) < 1e-5);
    seq.push(res.tokens[0]![step]!);
  }
  features.dispose();
  m.dispose();
});

test('stop at eos, allowed ids, sampling is seeded, native image-code generation', async () => {
  const m = tinyNative({}, 34);
  const textIds = Array.from({ length: 19 }, (_, i) => 21 + i);
  const a = await generate(m, { prompts: [[0, 25]] }, { maxNewTokens: 8, strategy: 'sample', temperature: 1.5, topK: 5, seed: 7, allowedIds: [...textIds, 1] });
  const b = await generate(m, { prompts: [[0, 25]] }, { maxNewTokens: 8, strategy: 'sample', temperature: 1.5, topK: 5, seed: 7, allowedIds: [...textIds, 1] });
  assert.deepEqual(a.tokens, b.tokens);
  for (const id of a.tokens[0]!) assert.ok(id === 1 || id >= 21);
  const eosAt = a.tokens[0]!.indexOf(1);
  if (eosAt >= 0) assert.equal(a.tokens[0]!.length, eosAt + 1);
  // force eos via a constraint: generation stops right there
  const s = await generate(m, { prompts: [[0, 25]] }, { maxNewTokens: 8, constrain: (step) => (step === 2 ? { forced: 1 } : null) });
  assert.equal(s.tokens[0]!.length, 3);
  assert.equal(s.stopped[0], true);
  // a per-step forbidden set removes the greedy choice at that step only
  const g = await generate(m, { prompts: [[0, 25]] }, { maxNewTokens: 2, eos: null });
  const f = await generate(m, { prompts: [[0, 25]] }, { maxNewTokens: 2, eos: null, constrain: (step) => (step === 0 ? { forbidden: [g.tokens[0]![0]!] } : null) });
  assert.notEqual(f.tokens[0]![0], g.tokens[0]![0]);
  const img = await generateImageCodes(m, { prompts: [[0, 25, 26], [0, 25, 3]] }, { nCodes: 4 });
  assert.equal(img.tokens[0]![0], 3); // <boi> added
  assert.equal(img.tokens[0]!.length, 6);
  assert.equal(img.tokens[1]!.length, 5);
  for (const t of img.tokens) assert.equal(t[t.length - 1], 4); // <eoi>
  for (const c of img.codes) {
    assert.equal(c.length, 4);
    for (const v of c) assert.ok(v >= 0 && v < 16);
  }
  m.dispose();
});

test('top-k sampling never picks outside the k best; temperature -> 0 behaves like greedy', () => {
  const row = Float32Array.from([0.1, 2.0, -1, 1.9, 0.5]);
  const rng = new Rng(3);
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) seen.add(choose(row, { strategy: 'sample', topK: 2, temperature: 1 }, rng));
  assert.deepEqual([...seen].sort(), [1, 3]);
  for (let i = 0; i < 20; i++) assert.equal(choose(row, { strategy: 'sample', temperature: 1e-4 }, rng), 1);
});

test('generation leaks no tensors', async () => {
  const m = tinyNative({ nKvHeads: 2 }, 35);
  const before = tf.memory().numTensors;
  await generate(m, { prompts: [[0, 25], [0, 26, 27]] }, { maxNewTokens: 4, hooks: knockoutHooks({ layers: [1], query: () => true, key: (_b, k) => k === 1, mode: 'renormalize' }) });
  await generateImageCodes(m, { prompts: [[0, 3]] }, { nCodes: 3 });
  assert.equal(tf.memory().numTensors, before);
  m.dispose();
});
