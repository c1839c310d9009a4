import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/util/rng.js';
import { modalityClusters } from '../../src/analysis/modality-clusters.js';
import { gaussian, useFastBackend } from '../helpers/analysis-data.js';

before(async () => {
  await useFastBackend();
});

test('separate modalities (different directions) give homogeneity 1; one shared distribution gives about 0', async () => {
  const rng = new Rng(12);
  const d = 12;
  const ct = Array.from({ length: d }, (_, c) => (c === 0 ? 8 : 0));
  const ci = Array.from({ length: d }, (_, c) => (c === 1 ? 8 : 0));
  const sep = await modalityClusters(gaussian(rng, 300, d, 1, ct), gaussian(rng, 300, d, 1, ci));
  assert.equal(sep.homogeneity, 1);
  assert.ok(sep.nClusters >= 2);
  for (const c of sep.composition) assert.ok(c.text === 0 || c.image === 0);
  // text and image drawn from the same two blobs: every cluster mixes them
  const mix = () => {
    const a = gaussian(rng, 150, d, 1, ct), b = gaussian(rng, 150, d, 1, ci);
    const data = new Float32Array(300 * d);
    data.set(a.data);
    data.set(b.data, a.data.length);
    return { data, n: 300, d };
  };
  const same = await modalityClusters(mix(), mix());
  assert.equal(same.nClusters, 2);
  assert.ok(same.homogeneity < 0.02, `mixed: ${same.homogeneity}`);
});

test('width mismatch is a UserError; no tensors leak (adp runs exact kNN)', async () => {
  const rng = new Rng(13);
  await assert.rejects(modalityClusters(gaussian(rng, 10, 3), gaussian(rng, 10, 4)), { name: 'UserError' });
  const t = gaussian(rng, 60, 6, 1, [5, 0, 0, 0, 0, 0]), im = gaussian(rng, 60, 6, 1, [0, 5, 0, 0, 0, 0]);
  await modalityClusters(t, im);
  const before = tf.memory().numTensors;
  await modalityClusters(t, im);
  assert.equal(tf.memory().numTensors, before);
});
