import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attentionFlow, stackedShares, type PatternInput } from '../../src/analysis/attention-flow.js';
import type { Spans } from '../../src/model/spans.js';

// layout: 0 BOS, 1 BOI, 2 3 4 image, 5 EOI, 6.. text
const spans = (T: number): Spans => ({ length: T, bos: 0, boi: 1, image: [2, 5], eoi: 5 });

/** A [L, H, T, T] pattern from rows given for some (l, h, i); other rows stay 0. */
function pattern(L: number, H: number, T: number, rows: [number, number, number, number[]][]): PatternInput {
  const p = new Float32Array(L * H * T * T);
  for (const [l, h, i, r] of rows) p.set(r, ((l * H + h) * T + i) * T);
  return { pattern: p, layers: L, heads: H, seq: T, spans: spans(T) };
}

const close = (a: ArrayLike<number>, b: number[], tol = 1e-6) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < tol, `index ${i}: ${a[i]} vs ${b[i]}`);
};

test('hand pattern: shares over image + [EOI]; BOS/BOI sinks and text keys are left out of the denominator', () => {
  const p = pattern(1, 2, 7, [
    [0, 0, 6, [0.5, 0.1, 0.1, 0.1, 0.0, 0.1, 0.1]],
    [0, 1, 6, [0.2, 0.0, 0.0, 0.2, 0.2, 0.4, 0.0]],
    // rows before and at [EOI] are not queries after the image
    [0, 0, 5, [0, 0, 0.9, 0, 0, 0.1, 0]],
    [0, 1, 3, [0, 0, 0.5, 0.5, 0, 0, 0]],
  ]);
  const f = attentionFlow(p);
  // image: 0.1, 0.3, 0.2; EOI 0.5; C = 1.1
  close(f.shares[0]!, [1 / 11, 3 / 11, 2 / 11, 5 / 11]);
  close(f.imageMass, [1.1 / 2]); // one query, two heads
  const s = stackedShares(f);
  close(s.eoi, [5 / 11]);
  close(s.lastImage, [2 / 11]);
  assert.deepEqual(s.outliers, [0, 1]); // both internal positions are above 1 %
  close(s.internal, [0]);
});

test('ratio of means, not mean of ratios: two examples where the two differ', () => {
  // example A: one query, one head; image mass 0.1, all on [EOI]  -> A alone: EOI share 1
  const a = pattern(1, 1, 7, [[0, 0, 6, [0.9, 0, 0, 0, 0, 0.1, 0]]]);
  // example B: image mass 0.9, on image offset 0 (0.6) and [EOI] (0.3) -> B alone: 2/3, 0, 0, 1/3
  const b = pattern(1, 1, 7, [[0, 0, 6, [0.1, 0, 0.6, 0, 0, 0.3, 0]]]);
  const both = attentionFlow([a, b]);
  // ratio of means: (0.6 on offset 0, 0.4 on EOI) / 1.0
  close(both.shares[0]!, [0.6, 0, 0, 0.4]);
  // the mean of the per-example ratios would be (1/3, 0, 0, 2/3): different
  const ra = attentionFlow(a).shares[0]!, rb = attentionFlow(b).shares[0]!;
  close(ra.map((v, j) => (v + rb[j]!) / 2), [1 / 3, 0, 0, 2 / 3]);
  // the same as one mean pattern of the two
  const mean = { ...a, pattern: a.pattern.map((v, i) => (v + b.pattern[i]!) / 2) };
  close(attentionFlow(mean).shares[0]!, [0.6, 0, 0, 0.4]);
  assert.equal(both.examples, 2);
});

test('several layers and queries; a position above the threshold in one layer is singled out in every layer', () => {
  const T = 8;
  const p = pattern(2, 1, T, [
    [0, 0, 6, [0, 0, 0.25, 0.25, 0.25, 0.25, 0, 0]],
    [0, 0, 7, [0, 0, 0.25, 0.25, 0.25, 0.25, 0, 0]],
    [1, 0, 6, [0.5, 0, 0.001, 0.2, 0.099, 0.2, 0, 0]],
    [1, 0, 7, [0.5, 0, 0.001, 0.0, 0.099, 0.4, 0, 0]],
  ]);
  const f = attentionFlow(p);
  close(f.shares[0]!, [0.25, 0.25, 0.25, 0.25]);
  close(f.shares[1]!, [0.002, 0.2, 0.198, 0.6]);
  const s = stackedShares(f, 0.01);
  assert.deepEqual(s.outliers, [0, 1]); // offset 0 is 0.2 % in layer 1 but 25 % in layer 0
  close(s.eoi, [0.25, 0.6]);
  close(s.lastImage, [0.25, 0.198]);
  close(s.internal, [0, 0]);
  const s2 = stackedShares(attentionFlow({ ...p, pattern: p.pattern.slice(64) , layers: 1 }), 0.01);
  assert.deepEqual(s2.outliers, [1]);
  close(s2.internal, [0.002]);
});

test('bad inputs are UserErrors', () => {
  const p = pattern(1, 1, 7, [[0, 0, 6, [0, 0, 0, 0, 0, 1, 0]]]);
  assert.throws(() => attentionFlow({ ...p, pattern: new Float32Array(10) }), { name: 'UserError' });
  assert.throws(() => attentionFlow({ ...p, spans: { ...p.spans, eoi: null } }), { name: 'UserError' });
  assert.throws(() => attentionFlow([p, { ...p, spans: { ...p.spans, image: [2, 4], eoi: 4 } }]), { name: 'UserError' });
  assert.throws(() => attentionFlow({ ...p, spans: { ...p.spans, eoi: 6 } }), { name: 'UserError' });
});
