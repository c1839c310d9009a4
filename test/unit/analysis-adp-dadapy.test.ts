/**
 * ADP against DADApy (DESIGN rule 10). The fixture holds, for five data sets, the kNN log-density and
 * the ADP labels produced by DADApy's clustering routine (cython_clustering._compute_clustering, run as
 * plain Python) with DADApy's kNN density, k = 16, the neighbour lists of 32 exact neighbours and the ID
 * given. The same vectors go through knnExact, knnLogDensity and adpFromDensity here.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { knnExact } from '../../src/analysis/knn.js';
import { knnLogDensity } from '../../src/analysis/density.js';
import { adpFromDensity } from '../../src/analysis/adp.js';
import { useFastBackend } from '../helpers/analysis-data.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = here.includes(join('dist', 'test')) ? join(here, '..', '..', '..', 'test', 'fixtures', 'analysis-adp-dadapy.json') : join(here, '..', 'fixtures', 'analysis-adp-dadapy.json');

interface Case {
  name: string;
  metric: 'euclidean' | 'cosine';
  k: number;
  Z: number;
  maxk: number;
  id: number;
  n: number;
  d: number;
  data: number[];
  logDen: number[];
  labels: number[];
  centers: number[];
  nPutative: number;
}

before(async () => {
  await useFastBackend();
});

const cases = (JSON.parse(readFileSync(fixture, 'utf8')) as { cases: Case[] }).cases;

for (const c of cases) {
  test(`DADApy parity: ${c.name}`, async () => {
    const x = { data: Float32Array.from(c.data), n: c.n, d: c.d };
    const nb = await knnExact(x, { k: c.maxk, metric: c.metric });
    const dens = knnLogDensity(nb, { k: c.k, id: c.id });
    for (let i = 0; i < c.n; i++) assert.ok(Math.abs(dens.logDen[i]! - c.logDen[i]!) < 1e-6, `log density of point ${i}: ${dens.logDen[i]} vs ${c.logDen[i]}`);
    const r = adpFromDensity(nb, dens.logDen, dens.logDenErr, { k: c.k, Z: c.Z });
    assert.equal(r.nPutative, c.nPutative);
    assert.deepEqual(r.centers, c.centers);
    assert.equal(r.nClusters, c.centers.length);
    assert.deepEqual(Array.from(r.labels), c.labels);
  });
}
