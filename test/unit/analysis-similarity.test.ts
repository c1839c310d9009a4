import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logitSimilarity, patchingSummary, softmax } from '../../src/analysis/similarity.js';

test('softmax by hand, stable for large logits', () => {
  const p = softmax([0, Math.log(3)]);
  assert.ok(Math.abs(p[0]! - 0.25) < 1e-15 && Math.abs(p[1]! - 0.75) < 1e-15);
  const q = softmax([1000, 1000 + Math.log(3), -Infinity]);
  assert.ok(Math.abs(q[1]! - 0.75) < 1e-12);
  assert.equal(q[2], 0);
  assert.throws(() => softmax([NaN]), { name: 'UserError' });
});

test('similarity sum min(p, q) by hand', () => {
  // p = (1/4, 3/4), q = (1/2, 1/2): min = 1/4 + 1/2
  assert.ok(Math.abs(logitSimilarity([0, Math.log(3)], [5, 5]) - 0.75) < 1e-12);
  assert.ok(Math.abs(logitSimilarity([1, 2, 3], [11, 12, 13]) - 1) < 1e-12); // shift-invariant
  assert.ok(logitSimilarity([100, 0], [0, 100]) < 1e-40);
});

test('patching summary by hand: three pairs, flips and similarities', () => {
  const L3 = Math.log(3);
  const pairs = [
    // clean prefers a (token 0), patched prefers b (token 1): a flip; patched equals target
    { clean: [2, 0, 0], patched: [0, 2, 0], target: [0, 2, 0], tokenA: 0, tokenB: 1 },
    // clean prefers a, patched still prefers a: no flip
    { clean: [0, L3, 0], patched: [0, L3, 0], target: [0, 0, 0], tokenA: 1, tokenB: 2 },
    // clean already prefers b; patched prefers a: the order flips (towards a)
    { clean: [0, 1, 2], patched: [0, 3, 2], target: [0, 1, 2], tokenA: 1, tokenB: 2 },
  ];
  const s = patchingSummary(pairs);
  assert.equal(s.pairs, 3);
  assert.ok(Math.abs(s.flipAccuracy - 2 / 3) < 1e-15);
  assert.ok(Math.abs(s.patchedPrefersTarget - 1 / 3) < 1e-15);
  assert.ok(Math.abs(s.cleanPrefersBase - 2 / 3) < 1e-15);
  // similarities: pair 1 patched = target -> 1; pair 2: p = (1/5, 3/5, 1/5) vs uniform -> 1/5 + 1/3 + 1/5
  const sm = (x: number[]) => { const e = x.map(Math.exp); const z = e.reduce((a, b) => a + b); return e.map((v) => v / z); };
  const mn = (a: number[], b: number[]) => a.reduce((s2, v, i) => s2 + Math.min(v, b[i]!), 0);
  const want = (1 + (1 / 5 + 1 / 3 + 1 / 5) + mn(sm([0, 3, 2]), sm([0, 1, 2]))) / 3;
  assert.ok(Math.abs(s.similarity - want) < 1e-12);
  const wantBase = (mn(sm([2, 0, 0]), sm([0, 2, 0])) + (1 / 5 + 1 / 3 + 1 / 5) + 1) / 3;
  assert.ok(Math.abs(s.baseline - wantBase) < 1e-12);
});

test('bad pairs are UserErrors', () => {
  assert.throws(() => patchingSummary([]), { name: 'UserError' });
  assert.throws(() => patchingSummary([{ clean: [0, 1], patched: [0, 1], target: [0], tokenA: 0, tokenB: 1 }]), { name: 'UserError' });
  assert.throws(() => patchingSummary([{ clean: [0, 1], patched: [0, 1], target: [0, 1], tokenA: 0, tokenB: 2 }]), { name: 'UserError' });
});
