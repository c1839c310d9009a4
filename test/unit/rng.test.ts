import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';

test('the same seed gives the same stream; different seeds differ', () => {
  const a = new Rng(42), b = new Rng(42), c = new Rng(43);
  const xs = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b.next()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c.next()));
  for (const x of xs) assert.ok(x >= 0 && x < 1);
});

test('snapshot restores the stream exactly', () => {
  const a = new Rng(7);
  a.next();
  const b = Rng.fromSnapshot(a.snapshot);
  assert.equal(a.next(), b.next());
});

test('sample draws distinct values and shuffle is a permutation', () => {
  const r = new Rng(1);
  const s = r.sample(10, 10);
  assert.deepEqual([...s].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const arr = r.shuffle([1, 2, 3, 4, 5]);
  assert.deepEqual([...arr].sort(), [1, 2, 3, 4, 5]);
});

test('normal() has mean about 0 and variance about 1', () => {
  const r = new Rng(3);
  const n = 20000;
  let s = 0, s2 = 0;
  for (let i = 0; i < n; i++) { const x = r.normal(); s += x; s2 += x * x; }
  assert.ok(Math.abs(s / n) < 0.03);
  assert.ok(Math.abs(s2 / n - 1) < 0.05);
});
