import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/util/rng.js';
import { knnExact, knnRecall, truncateNeighbours } from '../../src/analysis/knn.js';
import { bruteKnn, gaussian, useFastBackend } from '../helpers/analysis-data.js';

before(async () => {
  await useFastBackend();
});

test('exact kNN agrees with a brute-force float64 loop (euclidean and cosine)', async () => {
  const x = gaussian(new Rng(1), 300, 12);
  for (const metric of ['euclidean', 'cosine'] as const) {
    const nb = await knnExact(x, { k: 7, metric, blockSize: 64 });
    const ref = bruteKnn(x, 7, metric === 'cosine');
    assert.equal(nb.n, 300);
    for (let i = 0; i < x.n; i++) {
      assert.deepEqual(Array.from(nb.indices.subarray(i * 7, i * 7 + 7)), ref.idx[i], `row ${i} ${metric}`);
      for (let t = 0; t < 7; t++) assert.ok(Math.abs(nb.distances[i * 7 + t]! - ref.dist[i]![t]!) < 1e-6);
    }
  }
});

test('hand example: four points on a line, self excluded', async () => {
  const x = { data: new Float32Array([0, 1, 3, 7]), n: 4, d: 1 };
  const nb = await knnExact(x, { k: 2 });
  assert.deepEqual(Array.from(nb.indices), [1, 2, 0, 2, 1, 0, 2, 1]);
  assert.deepEqual(Array.from(nb.distances), [1, 3, 1, 2, 2, 3, 4, 6]);
});

test('query rows: a sample gets the same lists as the full run; duplicates of a point still exclude only itself', async () => {
  const x = gaussian(new Rng(2), 200, 5);
  x.data.set(x.data.subarray(0, 5), 5); // row 1 duplicates row 0
  const all = await knnExact(x, { k: 4 });
  const some = await knnExact(x, { k: 4, queryRows: [0, 1, 57] });
  assert.equal(some.indices[0], 1);
  assert.equal(some.distances[0], 0);
  assert.equal(some.indices[4], 0);
  for (const [r, row] of [[0, 0], [1, 1], [2, 57]] as const) {
    assert.deepEqual(Array.from(some.indices.subarray(r * 4, r * 4 + 4)), Array.from(all.indices.subarray(row * 4, row * 4 + 4)));
  }
  assert.equal(knnRecall(all, some), 1);
});

test('recall and truncation by hand', () => {
  const approx = { n: 2, k: 2, indices: new Int32Array([1, 2, 0, 3]), distances: new Float64Array(4), metric: 'euclidean' as const, queryRows: null };
  const exact = { n: 2, k: 2, indices: new Int32Array([2, 3, 0, 2]), distances: new Float64Array(4), metric: 'euclidean' as const, queryRows: null };
  assert.equal(knnRecall(approx, exact), 0.5);
  assert.deepEqual(Array.from(truncateNeighbours(approx, 1).indices), [1, 0]);
});

test('bad k is a UserError', async () => {
  const x = gaussian(new Rng(3), 5, 2);
  await assert.rejects(knnExact(x, { k: 5 }), { name: 'UserError' });
});

test('knnExact leaks no tensors', async () => {
  const x = gaussian(new Rng(4), 150, 8);
  await knnExact(x, { k: 3 });
  const before = tf.memory().numTensors;
  await knnExact(x, { k: 3, blockSize: 40 });
  await knnExact(x, { k: 3, metric: 'cosine', queryRows: [1, 2] });
  assert.equal(tf.memory().numTensors, before);
});
