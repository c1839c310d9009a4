import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { runWithCache, runWithHooks } from '../../src/hooks/run.js';
import { knockoutHooks } from '../../src/hooks/knockout.js';
import { UserError } from '../../src/util/errors.js';
import { referenceForward } from '../helpers/ref-decoder.js';
import { maxAbsDiff, tinyNative, useBackend, weightsOf } from '../helpers/tiny.js';

await useBackend('cpu');

const IDS = [0, 3, 7, 9, 4, 25, 30, 22];
const EOI = 4;
const ids = () => tf.tensor2d([IDS], [1, IDS.length], 'int32');

test('knockout by zeroing hook_pattern equals the hand computation (no renormalisation)', () => {
  const m = tinyNative({ nLayers: 1, nKvHeads: 2 }, 11);
  const knock = (_l: number, _h: number, q: number, k: number) => k === EOI && q >= EOI;
  const ref = referenceForward(m.config.decoder, weightsOf(m.namedParameters()), IDS, { knock, mode: 'zero' });
  const plain = referenceForward(m.config.decoder, weightsOf(m.namedParameters()), IDS);
  const x = ids();
  const hooks = knockoutHooks({ layers: [0], query: (_b, q) => q >= EOI, key: (_b, k) => k === EOI, mode: 'zero' });
  const logits = runWithHooks(m, { ids: x }, hooks);
  const d = maxAbsDiff(logits.dataSync(), ref.logits.flat());
  assert.ok(d < 2e-4, `zero knockout differs from the hand computation by ${d}`);
  // the knockout really changed something after the EOI, and nothing before it
  assert.ok(maxAbsDiff(ref.logits.slice(EOI).flat(), plain.logits.slice(EOI).flat()) > 1e-3);
  assert.ok(maxAbsDiff((logits.arraySync() as number[][][])[0]!.slice(0, EOI).flat(), plain.logits.slice(0, EOI).flat()) < 2e-4);
  logits.dispose();
  x.dispose();
  m.dispose();
});

test('knockout with -inf on hook_attn_scores equals the renormalised hand computation', () => {
  const m = tinyNative({ nLayers: 2, nKvHeads: 2, qkNorm: true }, 12);
  const knock = (l: number, h: number, q: number, k: number) => l === 1 && h === 2 && k === EOI && q > EOI;
  const ref = referenceForward(m.config.decoder, weightsOf(m.namedParameters()), IDS, { knock, mode: 'renormalize' });
  const x = ids();
  const hooks = knockoutHooks({ layers: [1], heads: [2], query: (_b, q) => q > EOI, key: (_b, k) => k === EOI, mode: 'renormalize' });
  const { logits, cache } = runWithCache(m, { ids: x }, { names: ['blocks.1.attn.hook_pattern'] }, { hooks });
  assert.ok(maxAbsDiff(logits.dataSync(), ref.logits.flat()) < 2e-4);
  const pat = cache.get('blocks.1.attn.hook_pattern').arraySync() as number[][][][];
  assert.ok(maxAbsDiff(pat[0]![2]!.flat(), ref.patterns[1]![2]!.flat()) < 1e-5);
  assert.equal(pat[0]![2]![6]![EOI], 0);
  const rowSum = pat[0]![2]![6]!.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(rowSum - 1) < 1e-5, 'renormalised row sums to 1');
  logits.dispose();
  cache.dispose();
  x.dispose();
  m.dispose();
});

test('runWithCache returns every activation with the documented layouts', () => {
  const m = tinyNative({ nKvHeads: 2 }, 13);
  const x = ids();
  const { logits, cache } = runWithCache(m, { ids: x });
  assert.deepEqual(cache.names(), m.hookNames());
  const T = IDS.length, D = 16, H = 4, Hkv = 2, Dh = 4, V = 40;
  assert.deepEqual(cache.get('hook_embed').shape, [1, T, D]);
  assert.deepEqual(cache.get('blocks.0.attn.hook_q').shape, [1, T, H, Dh]);
  assert.deepEqual(cache.get('blocks.0.attn.hook_k').shape, [1, T, Hkv, Dh]);
  assert.deepEqual(cache.get('blocks.1.attn.hook_pattern').shape, [1, H, T, T]);
  assert.deepEqual(cache.get('blocks.1.attn.hook_z').shape, [1, T, H, Dh]);
  assert.deepEqual(cache.get('unembed.hook_out').shape, [1, T, V]);
  // invariants: resid_post of block 0 is resid_pre of block 1; resid_mid = resid_pre + attn_out
  assert.ok(maxAbsDiff(cache.get('blocks.0.hook_resid_post').dataSync(), cache.get('blocks.1.hook_resid_pre').dataSync()) === 0);
  const sum = tf.add(cache.get('blocks.0.hook_resid_pre'), cache.get('blocks.0.hook_attn_out'));
  assert.ok(maxAbsDiff(sum.dataSync(), cache.get('blocks.0.hook_resid_mid').dataSync()) < 1e-6);
  sum.dispose();
  assert.ok(maxAbsDiff(cache.get('unembed.hook_out').dataSync(), logits.dataSync()) === 0);
  logits.dispose();
  cache.dispose();
  x.dispose();
  m.dispose();
});

test('a hook that returns a tensor replaces the activation; unknown names are a UserError with close matches', () => {
  const m = tinyNative({}, 14);
  const x = ids();
  const zeroMlp = [0, 1].map((l) => ({ name: `blocks.${l}.hook_mlp_out`, fn: (a: tf.Tensor) => tf.zerosLike(a) }));
  const { logits, cache } = runWithCache(m, { ids: x }, { filter: (n) => n.endsWith('hook_resid_mid') || n.endsWith('hook_resid_post') }, { hooks: zeroMlp });
  assert.equal(maxAbsDiff(cache.get('blocks.0.hook_resid_mid').dataSync(), cache.get('blocks.0.hook_resid_post').dataSync()), 0);
  logits.dispose();
  cache.dispose();
  assert.throws(
    () => runWithHooks(m, { ids: x }, [{ name: 'blocks.0.attn.hook_patern', fn: () => undefined }]),
    (e: unknown) => e instanceof UserError && /blocks\.0\.attn\.hook_pattern/.test(e.message),
  );
  x.dispose();
  m.dispose();
});

test('runWithHooks and runWithCache leak no tensors (hooks removed even when a hook throws)', () => {
  const m = tinyNative({ nKvHeads: 2 }, 15);
  const x = ids();
  const before = tf.memory().numTensors;
  runWithHooks(m, { ids: x }, knockoutHooks({ layers: [0, 1], query: () => true, key: (_b, k) => k === 1, mode: 'zero' })).dispose();
  const r = runWithCache(m, { ids: x }, { filter: (n) => n.includes('attn') });
  r.logits.dispose();
  r.cache.dispose();
  assert.throws(() => runWithHooks(m, { ids: x }, [{ name: 'blocks.1.hook_resid_pre', fn: () => { throw new Error('boom'); } }]), /boom/);
  assert.equal(tf.memory().numTensors, before);
  // a later plain run sees no hook
  const a = m.forward({ ids: x });
  const b = runWithHooks(m, { ids: x }, []);
  assert.equal(maxAbsDiff(a.dataSync(), b.dataSync()), 0);
  a.dispose();
  b.dispose();
  x.dispose();
  m.dispose();
});
