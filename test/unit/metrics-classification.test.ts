import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classificationAccuracy, probabilitySimilarity } from '../../src/metrics/index.js';
import { UserError } from '../../src/util/errors.js';

test('classification accuracy is the fraction of matching positions', () => {
  assert.equal(classificationAccuracy([1, 2, 3, 4], [1, 2, 0, 4]), 0.75);
  assert.equal(classificationAccuracy(['cat', 'dog'], ['cat', 'dog']), 1);
  assert.equal(classificationAccuracy(Int32Array.from([0, 1]), Int32Array.from([1, 0])), 0);
});

test('classification accuracy of an empty set or mismatched lengths is a clear UserError', () => {
  assert.throws(() => classificationAccuracy([], []), (e: unknown) => e instanceof UserError && /empty set/.test(e.message));
  assert.throws(() => classificationAccuracy([1], [1, 2]), (e: unknown) => e instanceof UserError && /1 predictions but 2 labels/.test(e.message));
});

test('probability similarity: 1 for identical, 0 for disjoint, sum of minima otherwise', () => {
  const p = Float32Array.from([0.25, 0.25, 0.5]);
  assert.ok(Math.abs(probabilitySimilarity(p, p) - 1) < 1e-7);
  assert.equal(probabilitySimilarity([0.5, 0.5, 0, 0], [0, 0, 0.3, 0.7]), 0);
  // min(0.7, 0.2) + min(0.3, 0.8) = 0.2 + 0.3 = 0.5 = 1 - total variation distance (0.5)
  assert.ok(Math.abs(probabilitySimilarity([0.7, 0.3], [0.2, 0.8]) - 0.5) < 1e-15);
});

test('probability similarity rejects mismatched, empty or invalid distributions', () => {
  assert.throws(() => probabilitySimilarity([1], [0.5, 0.5]), UserError);
  assert.throws(() => probabilitySimilarity([], []), UserError);
  assert.throws(() => probabilitySimilarity([-0.1, 1.1], [0.5, 0.5]), /index 0/);
  assert.throws(() => probabilitySimilarity([NaN], [1]), UserError);
});
