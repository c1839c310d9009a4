import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/util/rng.js';
import { crossCosines, modalityGap, quantilesInPlace } from '../../src/analysis/modality-gap.js';
import { gaussian, useFastBackend } from '../helpers/analysis-data.js';

before(async () => {
  await useFastBackend();
});

const m = (rows: number[][]) => ({ data: Float32Array.from(rows.flat()), n: rows.length, d: rows[0]!.length });

test('hand computation on three items: the lower triangle pairs (1,0), (2,0), (2,1), matched pairs dropped', async () => {
  const text = m([[1, 0], [0, 2], [3, 4]]);
  const image = m([[1, 0], [1, 1], [0, -1]]);
  // cos(t1, i0) = 0; cos(t2, i0) = 3/5; cos(t2, i1) = 7/(5 sqrt 2)
  const want = [0, 0.6, 7 / (5 * Math.SQRT2)];
  const c = await crossCosines(text, image);
  assert.equal(c.length, 3);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(c[i]! - want[i]!) < 1e-6);
  const g = await modalityGap(text, image);
  assert.ok(Math.abs(g.median - 0.6) < 1e-6);
  assert.ok(Math.abs(g.p25 - 0.3) < 1e-6); // numpy linear: halfway between 0 and 0.6
  assert.ok(Math.abs(g.p75 - (0.6 + want[2]!) / 2) < 1e-6);
  assert.equal(g.count, 3);
});

test('matched pairs do not count: identical text and image vectors, orthogonal across items -> 0', async () => {
  const v = m([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]);
  const g = await modalityGap(v, v);
  assert.equal(g.median, 0);
  assert.equal(g.p75, 0);
  assert.equal(g.count, 6);
});

test('orthogonal modality subspaces give 0 everywhere', async () => {
  const rng = new Rng(1);
  const t = gaussian(rng, 50, 8), im = gaussian(rng, 50, 8);
  for (let i = 0; i < 50; i++) for (let c = 0; c < 4; c++) {
    t.data[i * 8 + 4 + c] = 0;
    im.data[i * 8 + c] = 0;
  }
  const g = await modalityGap(t, im, { blockSize: 7 });
  assert.equal(g.median, 0);
  assert.equal(g.p25, 0);
  assert.equal(g.p75, 0);
});

test('blocked tfjs cosines and selection quantiles agree with a plain loop and a full sort', async () => {
  const rng = new Rng(2);
  const t = gaussian(rng, 120, 10, 1, Array(10).fill(0.5)), im = gaussian(rng, 120, 10, 1, Array(10).fill(0.5));
  const vals: number[] = [];
  const norm = (x: Float32Array, i: number) => Math.sqrt(Array.from(x.subarray(i * 10, i * 10 + 10)).reduce((s, v) => s + v * v, 0));
  for (let i = 1; i < 120; i++) for (let j = 0; j < i; j++) {
    let dot = 0;
    for (let c = 0; c < 10; c++) dot += t.data[i * 10 + c]! * im.data[j * 10 + c]!;
    vals.push(dot / (norm(t.data, i) * norm(im.data, j)));
  }
  const c = await crossCosines(t, im, 13);
  for (let i = 0; i < vals.length; i++) assert.ok(Math.abs(c[i]! - vals[i]!) < 1e-5);
  const sorted = Float64Array.from(c).sort();
  const q = (p: number) => {
    const h = (sorted.length - 1) * p, f = Math.floor(h);
    return sorted[f]! + (h - f) * ((sorted[Math.min(f + 1, sorted.length - 1)] ?? 0) - sorted[f]!);
  };
  const got = quantilesInPlace(Float32Array.from(c), [0.75, 0.25, 0.5, 0, 1]);
  const want = [q(0.75), q(0.25), q(0.5), sorted[0]!, sorted[sorted.length - 1]!];
  for (let i = 0; i < 5; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-7, `quantile ${i}`);
  // a shared offset direction makes unmatched pairs similar: the median rises above 0
  assert.ok((await modalityGap(t, im)).median > 0.05);
});

test('bad shapes are UserErrors; modalityGap leaks no tensors', async () => {
  await assert.rejects(modalityGap(m([[1, 0], [0, 1]]), m([[1, 0]])), { name: 'UserError' });
  await assert.rejects(modalityGap(m([[1, 0], [0, 0]]), m([[1, 0], [0, 1]])), { name: 'UserError' });
  const rng = new Rng(3);
  const t = gaussian(rng, 40, 5), im = gaussian(rng, 40, 5);
  await modalityGap(t, im);
  const before = tf.memory().numTensors;
  await modalityGap(t, im, { blockSize: 9 });
  assert.equal(tf.memory().numTensors, before);
});
