import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';
import { adp, adpFromDensity } from '../../src/analysis/adp.js';
import type { Matrix, Neighbours } from '../../src/analysis/matrix.js';
import { gaussian, stack, useFastBackend } from '../helpers/analysis-data.js';

before(async () => {
  await useFastBackend();
});

/** Neighbour lists of 1-d points by distance (ties by index), self excluded. */
function lineLists(pos: number[], K: number): Neighbours {
  const n = pos.length;
  const indices = new Int32Array(n * K), distances = new Float64Array(n * K);
  for (let i = 0; i < n; i++) {
    const o = pos.map((p, j) => [j, Math.abs(p - pos[i]!)] as const).filter(([j]) => j !== i).sort((a, b) => a[1] - b[1] || a[0] - b[0]);
    for (let t = 0; t < K; t++) [indices[i * K + t], distances[i * K + t]] = o[t]!;
  }
  return { n, k: K, indices, distances, metric: 'euclidean', queryRows: null };
}

test('hand example on a chain: two peaks, one saddle, merge threshold Z = 5, survivor, halo', () => {
  const nb = lineLists([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 2);
  const logDen = Float64Array.from([1, 2, 3, 2, 1.5, 2, 4, 3, 2, 1]);
  const err = new Float64Array(10).fill(0.1);
  const r = adpFromDensity(nb, logDen, err, { k: 2, Z: 1.65 });
  assert.equal(r.nPutative, 2);
  assert.deepEqual(r.centers, [2, 6]);
  assert.deepEqual(Array.from(r.labels), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
  assert.equal(r.saddles.length, 1);
  // 4 and 5 are both border points (each is the nearest of its cluster to the other); the saddle is
  // the one with the higher g
  assert.deepEqual({ ...r.saddles[0] }, { a: 0, b: 1, point: 5, logDen: 2, logDenErr: 0.1 });
  // peak 0: 3 - 2 = 1 against Z (0.1 + 0.1): separate below Z = 5, merged above
  assert.equal(adpFromDensity(nb, logDen, err, { k: 2, Z: 4.9 }).nClusters, 2);
  const merged = adpFromDensity(nb, logDen, err, { k: 2, Z: 5.1 });
  assert.equal(merged.nClusters, 1);
  assert.deepEqual(merged.centers, [6]); // the more significant peak survives
  assert.deepEqual(merged.saddles, []);
  const halo = adpFromDensity(nb, logDen, err, { k: 2, Z: 1.65, halo: true });
  assert.deepEqual(Array.from(halo.labels), [-1, 0, 0, 0, -1, 1, 1, 1, 1, -1]);
});

test('hand example: a putative centre inside a denser point\'s neighbourhood is dropped and joins that point', () => {
  const nb = lineLists([0, 1, 3], 1); // lists: 0 -> 1, 1 -> 0, 2 -> 1
  const r = adpFromDensity(nb, Float64Array.from([1, 2, 3]), new Float64Array(3).fill(0.1), { k: 1, Z: 0 });
  assert.equal(r.nPutative, 1);
  assert.deepEqual(r.centers, [2]);
  assert.deepEqual(Array.from(r.labels), [0, 0, 0]);
});

function blobs(rng: Rng, centres: number[][], per: number): { x: Matrix; truth: number[] } {
  const d = centres[0]!.length;
  return { x: stack(...centres.map((c) => gaussian(rng, per, d, 1, c))), truth: centres.flatMap((_, b) => Array(per).fill(b)) };
}

/** Fraction of points in their cluster's majority class, and whether the majorities are distinct. */
function purity(labels: Int32Array, truth: number[], nClusters: number): { purity: number; distinct: boolean } {
  const counts = Array.from({ length: nClusters }, () => new Map<number, number>());
  labels.forEach((l, i) => counts[l]!.set(truth[i]!, (counts[l]!.get(truth[i]!) ?? 0) + 1));
  let good = 0;
  const maj = counts.map((m) => {
    let best = -1, bc = -1;
    for (const [t, c] of m) if (c > bc) [best, bc] = [t, c];
    good += bc;
    return best;
  });
  return { purity: good / labels.length, distinct: new Set(maj).size === nClusters };
}

function axisCentres(nBlobs: number, d: number, dist: number): number[][] {
  return Array.from({ length: nBlobs }, (_, b) => Array.from({ length: d }, (_, c) => (c === b % d ? (b < d ? dist : -dist) : 0)));
}

test('well-separated Gaussian blobs are recovered: 3 in 2-d, 5 in 5-d and 10-d (Euclidean), 5 in 10-d (cosine)', async () => {
  const rng = new Rng(7);
  const cases: [number, number, 'euclidean' | 'cosine'][] = [[3, 2, 'euclidean'], [5, 5, 'euclidean'], [5, 10, 'euclidean'], [5, 10, 'cosine']];
  for (const [nBlobs, d, metric] of cases) {
    const { x, truth } = blobs(rng, axisCentres(nBlobs, d, 10), 300);
    const r = await adp(x, { metric });
    assert.equal(r.nClusters, nBlobs, `${nBlobs} blobs in ${d}-d (${metric}): found ${r.nClusters}`);
    const p = purity(r.labels, truth, r.nClusters);
    assert.ok(p.purity > 0.98 && p.distinct, `${nBlobs} blobs ${d}-d ${metric}: purity ${p.purity}`);
  }
});

test('a single Gaussian gives one cluster', async () => {
  const rng = new Rng(8);
  for (const d of [2, 5, 10]) {
    const r = await adp(gaussian(rng, 1000, d), { metric: 'euclidean' });
    assert.equal(r.nClusters, 1, `single Gaussian in ${d}-d gave ${r.nClusters} clusters`);
    assert.ok(r.nPutative >= 1);
  }
});

test('two overlapping blobs (2-d, centres 4 sigma apart): separate at Z = 1.65, merged at Z = 8', async () => {
  // analytic peak-to-saddle log-density gap: log((1 + e^-8) / (2 e^-2)) = 1.31 against Z (sigma + sigma) = 0.5 Z
  const rng = new Rng(9);
  const { x, truth } = blobs(rng, [[0, 0], [4, 0]], 1000);
  const two = await adp(x, { metric: 'euclidean', Z: 1.65 });
  assert.equal(two.nClusters, 2);
  const p = purity(two.labels, truth, 2);
  assert.ok(p.purity > 0.9 && p.distinct, `purity ${p.purity}`);
  assert.equal(two.saddles.length, 1);
  assert.equal((await adp(x, { metric: 'euclidean', Z: 8 })).nClusters, 1);
});

test('bad inputs are UserErrors', () => {
  const nb = lineLists([0, 1, 2], 2);
  assert.throws(() => adpFromDensity(nb, new Float64Array(2), new Float64Array(3), { k: 2 }), { name: 'UserError' });
  assert.throws(() => adpFromDensity(nb, new Float64Array(3), new Float64Array(3), { k: 3 }), { name: 'UserError' });
});
