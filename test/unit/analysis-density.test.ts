import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/util/rng.js';
import { knnExact } from '../../src/analysis/knn.js';
import { knnLogDensity, logGamma, logUnitBallVolume } from '../../src/analysis/density.js';
import { gride } from '../../src/analysis/intrinsic-dim.js';
import { embed, gaussian, useFastBackend } from '../helpers/analysis-data.js';

before(async () => {
  await useFastBackend();
});

test('logGamma and unit-ball volumes against closed forms', () => {
  assert.ok(Math.abs(logGamma(5) - Math.log(24)) < 1e-12);
  assert.ok(Math.abs(logGamma(0.5) - 0.5 * Math.log(Math.PI)) < 1e-12);
  assert.ok(Math.abs(logGamma(1)) < 1e-12);
  assert.ok(Math.abs(logGamma(0.1) - Math.log(9.513507698668732)) < 1e-12);
  assert.ok(Math.abs(logGamma(101) - 363.73937555556347) < 1e-9);
  assert.ok(Math.abs(logUnitBallVolume(1) - Math.log(2)) < 1e-12);
  assert.ok(Math.abs(logUnitBallVolume(2) - Math.log(Math.PI)) < 1e-12);
  assert.ok(Math.abs(logUnitBallVolume(3) - Math.log((4 * Math.PI) / 3)) < 1e-12);
  assert.ok(Math.abs(logUnitBallVolume(4) - Math.log((Math.PI * Math.PI) / 2)) < 1e-12);
});

test('hand example: log rho = log k - log(V_d r^d) - log N', () => {
  const nb = { n: 3, k: 2, indices: new Int32Array(6), distances: Float64Array.from([1, 2, 0.5, 1, 1, 4]), metric: 'euclidean' as const, queryRows: null };
  const r = knnLogDensity(nb, { k: 2, id: 2 });
  const expect = [2, 1, 4].map((rk) => Math.log(2 / (Math.PI * rk * rk * 3)));
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(r.logDen[i]! - expect[i]!) < 1e-12);
  assert.equal(r.logDenErr[0], 1 / Math.sqrt(2));
  const dup = { ...nb, distances: Float64Array.from([0, 0, 1, 1, 1, 1]) };
  assert.throws(() => knnLogDensity(dup, { k: 2, id: 2 }), { name: 'UserError' });
});

test('standard normal in d = 2 (embedded in 10 dims): kNN log-density tracks the analytic log-density', async () => {
  const rng = new Rng(21);
  const n = 4000;
  const coords = gaussian(rng, n, 2);
  const x = embed(rng, Float64Array.from(coords.data), n, 2, 10);
  const nb = await knnExact(x, { k: 16 });
  const id = gride(nb, 8, 16).id;
  for (const d of [2, id]) {
    const { logDen } = knnLogDensity(nb, { k: 16, id: d });
    let mae = 0, lo = Infinity, hi = -Infinity, bias = 0;
    const t = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const a = coords.data[2 * i]!, b = coords.data[2 * i + 1]!;
      t[i] = -Math.log(2 * Math.PI) - (a * a + b * b) / 2;
      mae += Math.abs(logDen[i]! - t[i]!) / n;
      bias += (logDen[i]! - t[i]!) / n;
      lo = Math.min(lo, t[i]!);
      hi = Math.max(hi, t[i]!);
    }
    // the statistical error of one estimate is about 1/sqrt(16) = 0.25 (plus the smoothing bias in the tails)
    assert.ok(mae < 0.3 && mae / (hi - lo) < 0.05, `d=${d}: MAE ${mae} over range ${hi - lo}`);
    assert.ok(Math.abs(bias) < 0.15, `d=${d}: mean bias ${bias}`);
    const mean = (v: ArrayLike<number>) => Array.from(v).reduce((s, z) => s + z, 0) / n;
    const ma = mean(logDen), mb = mean(t);
    let sab = 0, saa = 0, sbb = 0;
    for (let i = 0; i < n; i++) {
      sab += (logDen[i]! - ma) * (t[i]! - mb);
      saa += (logDen[i]! - ma) ** 2;
      sbb += (t[i]! - mb) ** 2;
    }
    assert.ok(sab / Math.sqrt(saa * sbb) > 0.95, `correlation ${sab / Math.sqrt(saa * sbb)}`);
  }
});
