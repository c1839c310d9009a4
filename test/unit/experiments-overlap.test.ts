/**
 * E4 runner: exact overlap equals a brute-force hand computation (Euclidean kNN without self, same-label
 * fraction, class means averaged) on vectors from independent forward passes; HNSW on a small set has
 * recall 1 and the exact values; indexes are saved and reused (and rebuilt when stale); a store made by
 * extract gives the same numbers as the model run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { experimentsFixture } from '../helpers/experiments-tiny.js';
import { runOverlap } from '../../src/experiments/index.js';
import { loadPipeline } from '../../src/interventions/pipeline.js';
import { extractDataset } from '../../src/interventions/commands.js';
import { runWithCache } from '../../src/hooks/run.js';
import { validateResults } from '../../src/report/results.js';
import { noProgress } from '../../src/util/progress.js';

function handOverlap(x: number[][], labels: number[], k: number): number {
  const per = new Map<number, number[]>();
  x.forEach((xi, i) => {
    const d = x.map((xj, j) => ({ j, d: Math.hypot(...xi.map((v, c) => v - xj[c]!)) })).filter((e) => e.j !== i).sort((a, b) => a.d - b.d || a.j - b.j);
    const same = d.slice(0, k).filter((e) => labels[e.j] === labels[i]).length / k;
    per.set(labels[i]!, [...(per.get(labels[i]!) ?? []), same]);
  });
  const means = [...per.values()].map((v) => v.reduce((a, b) => a + b, 0) / v.length);
  return means.reduce((a, b) => a + b, 0) / means.length;
}

test('E4 exact overlap on the tiny native checkpoint equals a brute-force hand computation', async () => {
  const f = await experimentsFixture();
  const before = tf.memory().numTensors;
  const r = await runOverlap({ checkpoint: f.native, data: f.data, k: 5, exact: true, imageOffsets: [0] });
  assert.equal(tf.memory().numTensors, before);
  const p = await loadPipeline(f.native);
  const imgs = [...f.ds.images()];
  const labels = imgs.map((im) => im.labels.shape!);
  const vec: Record<string, number[][]> = { '[EOI]': [], 'last image': [], 'mean image': [], 'pos 0': [] };
  try {
    for (const im of imgs) {
      const [ex] = await p.prepare([{ id: im.id, image: { width: im.width, height: im.height, channels: im.channels, pixels: im.pixels } }]);
      const ids = tf.tensor2d([Array.from(ex!.ids)], [1, ex!.ids.length], 'int32');
      const { logits, cache } = runWithCache(p.model, { ids, spans: [ex!.spans] }, { names: ['blocks.1.hook_resid_post'] });
      const a = Array.from(await cache.get('blocks.1.hook_resid_post').data());
      logits.dispose(); cache.dispose(); ids.dispose();
      const row = (t: number) => a.slice(t * 16, (t + 1) * 16);
      const [s, e] = ex!.spans.image!;
      vec['[EOI]']!.push(row(ex!.spans.eoi!));
      vec['last image']!.push(row(e - 1));
      vec['pos 0']!.push(row(s));
      const m = new Array(16).fill(0);
      for (let t = s; t < e; t++) row(t).forEach((v, c) => (m[c] += v / (e - s)));
      vec['mean image']!.push(m);
    }
  } finally {
    p.dispose();
  }
  assert.equal(r.chance, 1 / new Set(labels).size);
  for (const kind of Object.keys(vec)) {
    const got = r.records.find((x) => x.layer === 1 && x.positionKind === kind)!;
    assert.ok(Math.abs(got.overlap - handOverlap(vec[kind]!, labels, 5)) < 1e-9, `${kind}: ${got.overlap}`);
    assert.equal(got.recall, null);
  }
});

test('E4 HNSW: recall beside every value, indexes saved and reused, store input = model run', async () => {
  const f = await experimentsFixture();
  const out = mkdtempSync(join(tmpdir(), 'ng-e4-'));
  const exact = await runOverlap({ checkpoint: f.native, data: f.data, k: 5, exact: true });
  const a = await runOverlap({ checkpoint: f.native, data: f.data, k: 5, out });
  for (const r of a.records) {
    assert.equal(r.recall, 1);
    assert.equal(r.index, 'built');
    assert.ok(Math.abs(r.overlap - exact.records.find((x) => x.layer === r.layer && x.positionKind === r.positionKind)!.overlap) < 1e-12);
  }
  assert.equal(readdirSync(join(out, 'hnsw')).filter((n) => n.endsWith('.hnsw')).length, 6);
  const b = await runOverlap({ checkpoint: f.native, data: f.data, k: 5, out });
  assert.ok(b.records.every((r) => r.index === 'reused'));
  const doc = validateResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')));
  assert.ok(doc.models[0]!.e4!.records.every((x) => x.recall === 1));
  // a stale index (other vectors: 8 images) is rebuilt, not trusted
  const c = await runOverlap({ checkpoint: f.native, data: f.data, k: 5, limit: 8, out });
  assert.ok(c.records.every((r) => r.index === 'built'));

  const store = join(out, 'acts.arrow');
  await extractDataset({ checkpoint: f.native, data: f.data, hooks: ['resid_post'], layers: 'all', positions: '@eoi,@all-image', out: store, backend: 'cpu', progress: noProgress });
  const s = await runOverlap({ checkpoint: f.native, data: f.data, k: 5, store, exact: false });
  assert.ok(existsSync(`${store}.hnsw`));
  for (const r of s.records) {
    const e = exact.records.find((x) => x.layer === r.layer && x.positionKind === r.positionKind)!;
    assert.ok(Math.abs(r.overlap - e.overlap) < 1e-12, `${r.positionKind} L${r.layer}`);
  }
});

test('E4: bad inputs are UserErrors', async () => {
  const f = await experimentsFixture();
  await assert.rejects(runOverlap({ checkpoint: f.native, data: f.data }), /E4 with k = 30 needs more than 30 examples/);
  await assert.rejects(runOverlap({ checkpoint: f.native, data: f.data, k: 3, labelField: 'mood' }), /no label field "mood"/);
  await assert.rejects(runOverlap({ checkpoint: f.native, data: f.data, k: 3, layers: [7] }), /layer 7 is out of range 0\.\.1/);
  await assert.rejects(runOverlap({ checkpoint: f.native, data: f.data, k: 3, imageOffsets: [99] }), /--image-offsets 99/);
  await assert.rejects(runOverlap({ checkpoint: f.native, data: f.data, k: 3, hook: 'attn.pattern' }), /--hook attn\.pattern has no d_model vector per position/);
  await assert.rejects(runOverlap({ checkpoint: f.native, data: f.data, k: 3, hook: 'resid_psot' }), /Unknown hook "resid_psot"/);
  const mlp = await runOverlap({ checkpoint: f.native, data: f.data, k: 3, exact: true, hook: 'mlp_out', layers: [1] });
  assert.equal(mlp.settings.hook, 'blocks.{l}.hook_mlp_out');
});

test('E4 --from-attention reads the positions E3 singled out', async () => {
  const f = await experimentsFixture();
  const { runAttentionFlow } = await import('../../src/experiments/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'ng-e3e4-'));
  const a = await runAttentionFlow({ checkpoint: f.native, data: f.data, limit: 4, threshold: 0.02, out: dir });
  const r = await runOverlap({ checkpoint: f.native, data: f.data, k: 3, exact: true, fromAttention: dir, imageOffsets: [0] });
  const kinds = [...new Set(r.records.map((x) => x.positionKind))];
  assert.deepEqual(kinds, ['[EOI]', 'last image', 'mean image', ...[...new Set([0, ...a.stack.outliers])].sort((x, y) => x - y).map((j) => `pos ${j}`)]);
  await assert.rejects(runOverlap({ checkpoint: f.native, data: f.data, k: 3, fromAttention: join(dir, 'results.json') }), /has no outliers list/);
});
