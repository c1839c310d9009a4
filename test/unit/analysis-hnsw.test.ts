import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/util/rng.js';
import { buildHnsw, hnswKnn, loadHnsw, sampledRecall, saveHnsw } from '../../src/analysis/hnsw.js';
import { knnExact, knnRecall } from '../../src/analysis/knn.js';
import { gaussian, stack, useFastBackend } from '../helpers/analysis-data.js';

before(async () => {
  await useFastBackend();
});

function clustered(seed: number, nBlobs: number, per: number, d: number) {
  const rng = new Rng(seed);
  return stack(...Array.from({ length: nBlobs }, () => gaussian(rng, per, d, 1, Array.from({ length: d }, () => 6 * rng.normal()))));
}

test('HNSW on clustered data: recall@30 >= 0.95 at ef = 100 (euclidean and cosine), on a sample and on all rows', async () => {
  const x = clustered(1, 20, 100, 32);
  for (const metric of ['euclidean', 'cosine'] as const) {
    const idx = buildHnsw(x, { metric, M: 16, efConstruction: 200 });
    const nb = hnswKnn(idx, x, { k: 30, ef: 100 });
    const { recall, sample } = await sampledRecall(x, nb, { sample: 300, seed: 2 });
    assert.equal(sample, 300);
    assert.ok(recall >= 0.95, `${metric} sampled recall ${recall}`);
    const exact = await knnExact(x, { k: 30, metric });
    const full = knnRecall(nb, exact);
    assert.ok(full >= 0.95 && Math.abs(full - recall) < 0.03, `${metric} full recall ${full}`);
    // the distances HNSW reports are the metric's (sqrt of hnswlib's squared l2; 1 - cos)
    for (let t = 0; t < 30; t++) {
      const j = nb.indices[t]!;
      const e = Array.from(exact.indices.subarray(0, 30)).indexOf(j);
      if (e >= 0) assert.ok(Math.abs(nb.distances[t]! - exact.distances[e]!) < 1e-4);
    }
    for (let r = 0; r < x.n; r++) for (let t = 0; t < 30; t++) assert.notEqual(nb.indices[r * 30 + t], r);
  }
});

test('save and load next to the activations: same neighbours; an index built on other vectors is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ng-hnsw-'));
  try {
    const x = clustered(3, 5, 60, 8);
    const idx = buildHnsw(x, { M: 8, efConstruction: 50 });
    const path = join(dir, 'layer3.hnsw');
    saveHnsw(idx, path);
    const again = loadHnsw(path, x);
    assert.equal(again.n, x.n);
    assert.equal(again.M, 8);
    const a = hnswKnn(idx, x, { k: 5, ef: 50 }), b = hnswKnn(again, x, { k: 5, ef: 50 });
    assert.deepEqual(Array.from(b.indices), Array.from(a.indices));
    const other = clustered(4, 5, 60, 8);
    assert.throws(() => loadHnsw(path, other), { name: 'UserError' });
    assert.throws(() => loadHnsw(join(dir, 'missing.hnsw')), { name: 'UserError' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('query rows and bad inputs', () => {
  const x = clustered(5, 3, 40, 4);
  const idx = buildHnsw(x);
  const nb = hnswKnn(idx, x, { k: 3, queryRows: [7, 0] });
  assert.equal(nb.n, 2);
  assert.deepEqual(Array.from(nb.queryRows!), [7, 0]);
  assert.throws(() => hnswKnn(idx, x, { k: 120 }), { name: 'UserError' });
  assert.throws(() => hnswKnn(idx, clustered(5, 3, 40, 5), { k: 3 }), { name: 'UserError' });
});
