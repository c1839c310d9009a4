/**
 * E7 runner: patching with the base's own activations (base = target) gives similarity = baseline and
 * flip 0 in every layer and variant; at layer 0 the [EOI] residual is the token embedding (the same in
 * both images), so the patch changes nothing; one pair at the last layer equals a hand computation
 * (an independent hook that writes the target's [EOI] row, softmax, sum of minima, logit order).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { experimentsFixture } from '../helpers/experiments-tiny.js';
import { runPatching } from '../../src/experiments/index.js';
import { loadPipeline } from '../../src/interventions/pipeline.js';
import { runWithCache } from '../../src/hooks/run.js';
import { validateResults } from '../../src/report/results.js';

const softmax = (x: number[]) => { const m = Math.max(...x); const e = x.map((v) => Math.exp(v - m)); const s = e.reduce((a, b) => a + b, 0); return e.map((v) => v / s); };

test('E7 patched with the base\'s own activations: similarity = baseline, flip 0, at every layer and variant', async () => {
  const f = await experimentsFixture();
  const before = tf.memory().numTensors;
  const r = await runPatching({ checkpoint: f.native, data: f.single, attribute: 'shape', pairs: 4, selfDonor: true });
  assert.equal(tf.memory().numTensors, before);
  assert.equal(r.records.length, 4);
  for (const x of r.records) {
    assert.ok(x.baseline < 1 - 1e-6, 'base and target differ');
    assert.ok(Math.abs(x.similarity - x.baseline) < 1e-6);
    assert.equal(x.flipAccuracy, 0);
  }
});

test('E7 on contrast pairs: layer 0 resid patch is the identity; the last layer equals a hand-made patch', async () => {
  const f = await experimentsFixture();
  const out = mkdtempSync(join(tmpdir(), 'ng-e7-'));
  const r = await runPatching({ checkpoint: f.native, data: f.single, attribute: 'shape', pairs: 6, batchSize: 4, out });
  assert.ok(r.pairs.length > 0);
  for (const q of r.pairs) {
    assert.notEqual(q.baseValue, q.targetValue);
    const b = f.singleDs.get(q.base), t = f.singleDs.get(q.target);
    assert.equal(f.singleDs.labelFields.shape![b.labels.shape!], q.baseValue);
    assert.equal(f.singleDs.labelFields.shape![t.labels.shape!], q.targetValue);
    assert.equal(b.labels.color, t.labels.color);
  }
  const l0 = r.records.find((x) => x.layer === 0 && x.variant === 'resid')!;
  assert.ok(Math.abs(l0.similarity - l0.baseline) < 1e-6);
  assert.equal(l0.flipAccuracy, 0);
  assert.deepEqual(r.records.find((x) => x.layer === 0 && x.variant === 'attn-input')!.specs.map((s) => s.hook), ['blocks.0.ln1.hook_normalized', 'blocks.1.ln1.hook_normalized']);
  const doc = validateResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')));
  assert.equal(doc.models[0]!.e7!.records.length, 4);

  // one pair by hand at layer 1 (the last), resid variant
  const q = r.pairs[0]!;
  const one = await runPatching({ checkpoint: f.native, data: f.single, attribute: 'shape', pairList: [{ base: q.base, target: q.target }], variants: ['resid'], layers: [1] });
  const p = await loadPipeline(f.native);
  try {
    const b = f.singleDs.get(q.base), t = f.singleDs.get(q.target);
    const prompt = `what shape is in the ${f.singleDs.labelFields.position![b.labels.position!]}?`;
    const raw = (im: typeof b) => ({ width: im.width, height: im.height, channels: im.channels, pixels: im.pixels });
    const [eb, et] = await p.prepare([{ id: 0, image: raw(b), prompt }, { id: 1, image: raw(t), prompt }]);
    const run = async (ex: typeof eb, hooks: any[] = [], names: string[] = []) => {
      const ids = tf.tensor2d([Array.from(ex!.ids)], [1, ex!.ids.length], 'int32');
      const { logits, cache } = runWithCache(p.model, { ids, spans: [ex!.spans] }, { names }, { hooks });
      const T = ex!.ids.length;
      const all = Array.from(await logits.data());
      const V = all.length / T;
      const acts = names.length ? Array.from(await cache.get(names[0]!).data()) : [];
      logits.dispose(); cache.dispose(); ids.dispose();
      return { last: all.slice((T - 1) * V), acts };
    };
    const tgt = await run(et, [], ['blocks.1.hook_resid_pre']);
    const eoi = et!.spans.eoi!;
    const donorRow = tgt.acts.slice(eoi * 16, (eoi + 1) * 16);
    const hook = { name: 'blocks.1.hook_resid_pre', fn: (act: tf.Tensor) => {
      const mask = new Float32Array(act.size); const vals = new Float32Array(act.size);
      mask.fill(1, eb!.spans.eoi! * 16, (eb!.spans.eoi! + 1) * 16); vals.set(donorRow, eb!.spans.eoi! * 16);
      return tf.add(tf.mul(act, tf.sub(1, tf.tensor(mask, act.shape))), tf.tensor(vals, act.shape));
    } };
    const clean = await run(eb);
    const patched = await run(eb, [hook]);
    const sim = (x: number[], y: number[]) => { const a = softmax(x), c = softmax(y); return a.reduce((s, v, i) => s + Math.min(v, c[i]!), 0); };
    assert.notDeepEqual(patched.last, clean.last, 'the patch must change the read-out');
    const rec = one.records[0]!;
    assert.ok(Math.abs(rec.similarity - sim(patched.last, tgt.last)) < 1e-5, `${rec.similarity} vs ${sim(patched.last, tgt.last)}`);
    assert.ok(Math.abs(rec.baseline - sim(clean.last, tgt.last)) < 1e-5);
    const flip = (clean.last[q.tokenA]! > clean.last[q.tokenB]!) !== (patched.last[q.tokenA]! > patched.last[q.tokenB]!);
    assert.equal(rec.flipAccuracy, flip ? 1 : 0);
    assert.equal(q.tokenA, p.tokenizer.encode(q.baseValue)[0]);
  } finally {
    p.dispose();
  }
});

test('E7: label pairs on a multi-object dataset; bad inputs are UserErrors', async () => {
  const f = await experimentsFixture();
  const r = await runPatching({ checkpoint: f.adapter, data: f.data, attribute: 'color', prompt: 'what color is the {shape}?', pairs: 3, variants: ['resid'] });
  assert.equal(r.records.length, 1);
  assert.ok(r.pairs.every((q) => q.baseValue !== q.targetValue));
  await assert.rejects(runPatching({ checkpoint: f.native, data: f.data, attribute: 'mood' }), /no label field "mood"/);
  await assert.rejects(runPatching({ checkpoint: f.native, data: f.single, variants: ['mlp' as never] }), /Patch variant "mlp" is unknown/);
  await assert.rejects(runPatching({ checkpoint: f.native, data: f.single, layers: [5] }), /layer 5 is out of range/);
});
