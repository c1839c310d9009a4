import { test, before } from 'node:test';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';
import { knnExact } from '../../src/analysis/knn.js';
import { gride, grideScaling, twoNN } from '../../src/analysis/intrinsic-dim.js';
import type { Matrix, Neighbours } from '../../src/analysis/matrix.js';
import { embed, gaussian, uniformCube, useFastBackend } from '../helpers/analysis-data.js';

before(async () => {
  await useFastBackend();
});

/** Uniform on the unit d-sphere (a curved d-manifold without boundary) in d+1 coordinates. */
function sphere(rng: Rng, n: number, d: number): Float64Array {
  const s = new Float64Array(n * (d + 1));
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let c = 0; c <= d; c++) {
      const v = rng.normal();
      s[i * (d + 1) + c] = v;
      r += v * v;
    }
    for (let c = 0; c <= d; c++) s[i * (d + 1) + c]! /= Math.sqrt(r);
  }
  return s;
}

const D = 24;

async function ids(x: Matrix) {
  const nb = await knnExact(x, { k: 16 });
  return { mle: twoNN(nb), fit: twoNN(nb, { method: 'fit' }), gride: gride(nb, 8, 16) };
}

test('d = 2 and d = 5: flat (linear subspace) and curved manifolds in 24 dims give the ID within 6 % (or 4 sigma)', async () => {
  const rng = new Rng(11);
  const n = 2000;
  for (const d of [2, 5]) {
    const cases: [string, Matrix][] = [
      ['sphere', embed(rng, sphere(rng, n, d), n, d + 1, D)],
      ['gaussian subspace', embed(rng, Float64Array.from(gaussian(rng, n, d).data), n, d, D)],
    ];
    if (d === 2) cases.push(['cube subspace', embed(rng, uniformCube(rng, n, d), n, d, D)]);
    for (const [name, x] of cases) {
      const r = await ids(x);
      for (const [est, e] of Object.entries(r)) {
        const tol = Math.max(0.06 * d, 4 * e.err);
        assert.ok(Math.abs(e.id - d) < tol, `${name} d=${d} ${est}: ${e.id.toFixed(3)} (tol ${tol.toFixed(3)})`);
      }
    }
  }
});

test('d = 10, n = 2000: TwoNN within 6 % (10 % on the curved sphere); Gride(8,16) within 12 % and its finite-size bias shrinks with n', async () => {
  const rng = new Rng(5);
  const small = await ids(embed(rng, sphere(rng, 2000, 10), 2000, 11, D));
  assert.ok(Math.abs(small.mle.id - 10) < 1.0, `twoNN ${small.mle.id}`);
  assert.ok(Math.abs(small.gride.id - 10) < 1.2, `gride ${small.gride.id}`);
  const g2k = await ids(embed(rng, Float64Array.from(gaussian(rng, 2000, 10).data), 2000, 10, D));
  const g8k = await ids(embed(rng, Float64Array.from(gaussian(rng, 8000, 10).data), 8000, 10, D));
  assert.ok(Math.abs(g2k.mle.id - 10) < 0.6, `twoNN gaussian ${g2k.mle.id}`);
  assert.ok(g8k.gride.id > g2k.gride.id && Math.abs(g8k.gride.id - 10) < 0.7, `gride 2k ${g2k.gride.id}, 8k ${g8k.gride.id}`);
});

test('isotropic Gaussian noise in D = 2, 3, 5 gives about D', async () => {
  const rng = new Rng(3);
  for (const d of [2, 3, 5]) {
    const r = await ids(gaussian(rng, 2000, d));
    for (const [est, e] of Object.entries(r)) assert.ok(Math.abs(e.id - d) < Math.max(0.06 * d, 4 * e.err), `noise D=${d} ${est}: ${e.id}`);
  }
});

/** Lists with given r_1..r_k per point (indices unused by the estimators). */
function lists(rows: number[][]): Neighbours {
  const k = rows[0]!.length;
  return { n: rows.length, k, indices: new Int32Array(rows.length * k), distances: Float64Array.from(rows.flat()), metric: 'euclidean', queryRows: null };
}

test('TwoNN by hand: d = (N - 1) / sum log(r2/r1); duplicates are skipped', () => {
  const nb = lists([[1, 2], [1, 3], [2, 2.5], [0, 1]]);
  const e = twoNN(nb);
  assert.equal(e.count, 3);
  assert.equal(e.skipped, 1);
  const expect = 2 / (Math.log(2) + Math.log(3) + Math.log(1.25));
  assert.ok(Math.abs(e.id - expect) < 1e-12);
  assert.ok(Math.abs(e.err - expect / Math.sqrt(3)) < 1e-12); // Fisher: N / d^2
});

test('TwoNN fit by hand: slope through the origin of -log(1 - i/N) on sorted log mu, largest ratios discarded', () => {
  const mus = [1.5, 1.2, 2.0, 1.1, 3.0];
  const nb = lists(mus.map((m) => [1, m]));
  const sorted = mus.map(Math.log).sort((a, b) => a - b);
  let sxy = 0, sxx = 0;
  for (let i = 0; i < 4; i++) {
    sxy += sorted[i]! * -Math.log(1 - (i + 1) / 5);
    sxx += sorted[i]! ** 2;
  }
  assert.ok(Math.abs(twoNN(nb, { method: 'fit', fraction: 0.8 }).id - sxy / sxx) < 1e-12);
});

test('Gride maximises its log-likelihood, with (N - 1) log d as DADApy (checked on a grid of d, independent of the root finder)', () => {
  const rng = new Rng(9);
  const rows: number[][] = [];
  for (let i = 0; i < 300; i++) {
    const r = Array.from({ length: 16 }, () => 0.1 + rng.next());
    rows.push(r.sort((a, b) => a - b));
  }
  const nb = lists(rows);
  for (const [n1, n2] of [[2, 4], [4, 8], [8, 16], [3, 5]] as const) {
    const mus = rows.map((r) => r[n2 - 1]! / r[n1 - 1]!);
    const ll = (d: number) => mus.reduce((s, m) => s + (n2 - n1 - 1) * Math.log(m ** d - 1) - ((n2 - 1) * d + 1) * Math.log(m), 0) + (mus.length - 1) * Math.log(d);
    let best = 0, bestL = -Infinity;
    for (let d = 0.05; d < 40; d += 0.001) {
      const l = ll(d);
      if (l > bestL) [best, bestL] = [d, l];
    }
    const e = gride(nb, n1, n2);
    assert.ok(Math.abs(e.id - best) < 2e-3, `(${n1},${n2}): ${e.id} vs grid ${best}`);
  }
  assert.deepEqual(grideScaling(nb).map((e) => e.n1), [1, 2, 4, 8]);
  assert.throws(() => gride(nb, 16, 32), { name: 'UserError' });
});

interface IdCase {
  name: string;
  n: number;
  d: number;
  data: number[];
  twoNNfit: number;
  twoNNml: number;
  gride: { n1: number; n2: number; id: number; err: number }[];
}

test('parity with DADApy: TwoNN (base fit and ml) and Gride at scales 1..8 with their errors', async () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const file = here.includes(join('dist', 'test')) ? join(here, '..', '..', '..', 'test', 'fixtures', 'analysis-id-dadapy.json') : join(here, '..', 'fixtures', 'analysis-id-dadapy.json');
  const { cases } = JSON.parse(readFileSync(file, 'utf8')) as { cases: IdCase[] };
  for (const c of cases) {
    const nb = await knnExact({ data: Float32Array.from(c.data), n: c.n, d: c.d }, { k: 16 });
    assert.ok(Math.abs(twoNN(nb, { method: 'fit' }).id - c.twoNNfit) < 1e-9, `${c.name} fit`);
    assert.ok(Math.abs(twoNN(nb).id - c.twoNNml) < 1e-9, `${c.name} ml`);
    for (const g of c.gride) {
      const e = gride(nb, g.n1, g.n2);
      // DADApy bisects to 1e-7 in d
      assert.ok(Math.abs(e.id - g.id) < 1e-6, `${c.name} gride(${g.n1},${g.n2}): ${e.id} vs ${g.id}`);
      assert.ok(Math.abs(e.err - g.err) < 1e-6, `${c.name} gride err`);
    }
  }
});
