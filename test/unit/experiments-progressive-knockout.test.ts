/**
 * E5 runner: w = 0 equals the clean overlap of the final-layer vector at the last prompt position
 * (hand computation on independent runs); a knocked-out window equals the same hand computation on
 * vectors from runs with knockoutHooks built directly (not through specs); windows and specs are
 * recorded; both modes run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { experimentsFixture } from '../helpers/experiments-tiny.js';
import { runProgressiveKnockout } from '../../src/experiments/index.js';
import { loadPipeline } from '../../src/interventions/pipeline.js';
import { runWithCache } from '../../src/hooks/run.js';
import { knockoutHooks } from '../../src/hooks/knockout.js';
import { validateResults } from '../../src/report/results.js';

function handOverlap(x: number[][], labels: number[], k: number): number {
  const per = new Map<number, number[]>();
  x.forEach((xi, i) => {
    const d = x.map((xj, j) => ({ j, d: Math.hypot(...xi.map((v, c) => v - xj[c]!)) })).filter((e) => e.j !== i).sort((a, b) => a.d - b.d || a.j - b.j);
    per.set(labels[i]!, [...(per.get(labels[i]!) ?? []), d.slice(0, k).filter((e) => labels[e.j] === labels[i]).length / k]);
  });
  const means = [...per.values()].map((v) => v.reduce((a, b) => a + b, 0) / v.length);
  return means.reduce((a, b) => a + b, 0) / means.length;
}

test('E5 on the tiny native checkpoint: w = 0 is the clean overlap, w = L matches direct knockout hooks', async () => {
  const f = await experimentsFixture();
  const out = mkdtempSync(join(tmpdir(), 'ng-e5-'));
  const before = tf.memory().numTensors;
  const r = await runProgressiveKnockout({ checkpoint: f.native, data: f.data, k: 4, exact: true, mode: 'renormalize', prompt: 'a picture of a', out });
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(r.records.map((x) => [x.edgeSet, x.window]), [['[EOI]', 0], ['[EOI]', 1], ['[EOI]', 2], ['image->text', 0], ['image->text', 1], ['image->text', 2]]);
  assert.deepEqual(r.records[2]!.specs, [{ type: 'knockout', queries: '@all', keys: '@eoi', layers: [0, 1], heads: 'all', mode: 'renormalize' }]);
  assert.deepEqual(r.records[4]!.specs[0]!.layers, [1]);
  assert.deepEqual(r.records[0]!.specs, []);

  const p = await loadPipeline(f.native);
  const imgs = [...f.ds.images()];
  const labels = imgs.map((im) => im.labels.shape!);
  const clean: number[][] = [], eoiCut: number[][] = [];
  try {
    for (const im of imgs) {
      const [ex] = await p.prepare([{ id: im.id, image: { width: im.width, height: im.height, channels: im.channels, pixels: im.pixels }, prompt: 'a picture of a' }]);
      const T = ex!.ids.length;
      const eoi = ex!.spans.eoi!;
      for (const [hooks, sink] of [[[], clean], [knockoutHooks({ layers: [0, 1], mode: 'renormalize', query: () => true, key: (_b, k) => k === eoi }), eoiCut]] as const) {
        const ids = tf.tensor2d([Array.from(ex!.ids)], [1, T], 'int32');
        const { logits, cache } = runWithCache(p.model, { ids, spans: [ex!.spans] }, { names: ['blocks.1.hook_resid_post'] }, { hooks });
        const a = Array.from(await cache.get('blocks.1.hook_resid_post').data());
        logits.dispose(); cache.dispose(); ids.dispose();
        sink.push(a.slice((T - 1) * 16, T * 16));
      }
    }
  } finally {
    p.dispose();
  }
  assert.notDeepEqual(clean, eoiCut, 'the knockout must change the read-out vectors');
  assert.ok(Math.abs(r.records[0]!.overlap - handOverlap(clean, labels, 4)) < 1e-9);
  assert.equal(r.records[3]!.overlap, r.records[0]!.overlap);
  assert.ok(Math.abs(r.records[2]!.overlap - handOverlap(eoiCut, labels, 4)) < 1e-9);
  const doc = validateResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')));
  assert.equal(doc.models[0]!.e5!.mode, 'renormalize');
  assert.equal(doc.models[0]!.e5!.records.length, 6);
});

test('E5: zero mode with HNSW records recall; bad edge sets are UserErrors', async () => {
  const f = await experimentsFixture();
  const r = await runProgressiveKnockout({ checkpoint: f.native, data: f.data, k: 4, edgeSets: ['image-to-text'], step: 2 });
  assert.deepEqual(r.records.map((x) => x.window), [0, 2]);
  assert.ok(r.records.every((x) => x.recall === 1));
  assert.equal(r.mode, 'zero');
  await assert.rejects(runProgressiveKnockout({ checkpoint: f.native, data: f.data, k: 4, edgeSets: ['bos' as never] }), /Edge set "bos" is unknown/);
});
