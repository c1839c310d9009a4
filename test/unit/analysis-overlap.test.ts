import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/util/rng.js';
import { neighbourhoodOverlap, overlapFromNeighbours } from '../../src/analysis/overlap.js';
import { knnExact } from '../../src/analysis/knn.js';
import { gaussian, stack, useFastBackend } from '../helpers/analysis-data.js';

before(async () => {
  await useFastBackend();
});

test('hand computation with k = 2 on five points of a line', async () => {
  // positions 0 1 2 10 11, labels a a b b a
  // neighbours (self excluded): 0:{1,2} 1:{0,2} 2:{1,0} 3:{4,2} 4:{3,2}
  // same-label fractions: 0: 1/2, 1: 1/2, 2: 0, 3: 1/2, 4: 0  -> class a: (1/2+1/2+0)/3 = 1/3, class b: 1/4
  const x = { data: new Float32Array([0, 1, 2, 10, 11]), n: 5, d: 1 };
  const labels = ['a', 'a', 'b', 'b', 'a'];
  const nb = await knnExact(x, { k: 2 });
  const r = overlapFromNeighbours(nb, labels, 2);
  assert.ok(Math.abs(r.value - (1 / 3 + 1 / 4) / 2) < 1e-15);
  assert.ok(Math.abs(r.unweighted - 3 / 10) < 1e-15);
  assert.equal(r.chance, 0.5);
  assert.deepEqual(r.perClass.map((p) => [p.label, p.count]), [['a', 3], ['b', 2]]);
  assert.equal(r.balanced, false);
});

test('class balancing by hand: 6 points of class 0 (all neighbours agree) and 2 of class 1 (none agree)', () => {
  const k = 2;
  const indices = new Int32Array([1, 2, 0, 2, 0, 1, 4, 5, 3, 5, 3, 4, 0, 1, 0, 1]);
  const nb = { n: 8, k, indices, distances: new Float64Array(16), metric: 'euclidean' as const, queryRows: null };
  const r = overlapFromNeighbours(nb, [0, 0, 0, 0, 0, 0, 1, 1]);
  assert.equal(r.unweighted, 6 / 8);
  assert.equal(r.value, (1 + 0) / 2); // each class counts once
});

test('perfectly separated classes give 1; random labels give about chance', async () => {
  const rng = new Rng(4);
  const x = stack(...[0, 1, 2, 3].map((c) => gaussian(rng, 150, 6, 1, Array.from({ length: 6 }, (_, i) => (i === c ? 20 : 0)))));
  const truth = [0, 1, 2, 3].flatMap((c) => Array(150).fill(c));
  const sep = await neighbourhoodOverlap(x, truth, { k: 30 });
  assert.equal(sep.value, 1);
  assert.equal(sep.balanced, true);
  assert.equal(sep.recall, null);
  const random = truth.map(() => rng.int(4));
  const r = await neighbourhoodOverlap(x, random, { k: 30 });
  // chance 0.25; the per-class estimate averages ~150 x 30 draws: sd about 0.005, allow 0.03
  assert.ok(Math.abs(r.value - 0.25) < 0.03, `random labels: ${r.value}`);
  assert.equal(r.chance, 0.25);
});

test('HNSW neighbours: the recall is returned beside the value and the value matches exact kNN', async () => {
  const rng = new Rng(5);
  const x = stack(...[0, 1, 2].map(() => gaussian(rng, 200, 16, 1, Array.from({ length: 16 }, () => 3 * rng.normal()))));
  const labels = [0, 1, 2].flatMap((c) => Array(200).fill(c));
  const exact = await neighbourhoodOverlap(x, labels, { k: 30 });
  const approx = await neighbourhoodOverlap(x, labels, { k: 30, method: 'hnsw', hnsw: { M: 16, efConstruction: 200, ef: 100 }, recallSample: 200 });
  assert.equal(approx.method, 'hnsw');
  assert.equal(approx.recallSample, 200);
  assert.ok(approx.recall !== null && approx.recall >= 0.95, `recall ${approx.recall}`);
  assert.ok(Math.abs(approx.value - exact.value) < 0.02);
});

test('mismatched labels are a UserError', async () => {
  await assert.rejects(neighbourhoodOverlap({ data: new Float32Array(4), n: 4, d: 1 }, [1, 2]), { name: 'UserError' });
});

test('neighbourhoodOverlap (exact and HNSW with sampled recall) leaks no tensors', async () => {
  const rng = new Rng(6);
  const x = gaussian(rng, 120, 6);
  const labels = Array.from({ length: 120 }, (_, i) => i % 3);
  await neighbourhoodOverlap(x, labels, { k: 5 });
  const before = tf.memory().numTensors;
  await neighbourhoodOverlap(x, labels, { k: 5 });
  await neighbourhoodOverlap(x, labels, { k: 5, method: 'hnsw', recallSample: 50 });
  assert.equal(tf.memory().numTensors, before);
});
