/**
 * E3 runner: shares sum to 1 per layer; they equal attentionFlow (the analysis core) on patterns
 * from independent unpadded single-example runs; the batch size (padding) does not change them; the
 * stacked report partitions each layer's total.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { experimentsFixture } from '../helpers/experiments-tiny.js';
import { runAttentionFlow } from '../../src/experiments/index.js';
import { loadPipeline, imageTensors } from '../../src/interventions/pipeline.js';
import { runWithCache } from '../../src/hooks/run.js';
import { attentionFlow, type PatternInput } from '../../src/analysis/index.js';
import { validateResults } from '../../src/report/results.js';

const prompt = 'what color is the shape ?';

for (const family of ['native', 'adapter'] as const) {
  test(`E3 on the tiny ${family} checkpoint equals attentionFlow on independent runs; shares sum to 1`, async () => {
    const f = await experimentsFixture();
    const out = mkdtempSync(join(tmpdir(), 'ng-e3-'));
    const before = tf.memory().numTensors;
    const r = await runAttentionFlow({ checkpoint: f[family], data: f.data, limit: 6, batchSize: 4, prompt, withCaption: false, out });
    assert.equal(tf.memory().numTensors, before);
    const r1 = await runAttentionFlow({ checkpoint: f[family], data: f.data, limit: 6, batchSize: 1, prompt, withCaption: false });
    const p = await loadPipeline(f[family]);
    const L = p.model.config.decoder.nLayers;
    const list: PatternInput[] = [];
    try {
      for (const im of [...f.ds.images()].slice(0, 6)) {
        const [ex] = await p.prepare([{ id: im.id, image: { width: im.width, height: im.height, channels: im.channels, pixels: im.pixels }, prompt }]);
        const T = ex!.ids.length;
        const ids = tf.tensor2d([Array.from(ex!.ids)], [1, T], 'int32');
        const img = imageTensors(p, [ex!]);
        const names = Array.from({ length: L }, (_, l) => `blocks.${l}.attn.hook_pattern`);
        const { logits, cache } = runWithCache(p.model, { ids, spans: [ex!.spans], ...img }, { names });
        const parts = await Promise.all(names.map(async (n) => (await cache.get(n).data()) as Float32Array));
        const H = cache.get(names[0]!).shape[1]!;
        const pattern = new Float32Array(L * H * T * T);
        parts.forEach((d, l) => pattern.set(d, l * H * T * T));
        list.push({ pattern, layers: L, heads: H, seq: T, spans: ex!.spans });
        logits.dispose(); cache.dispose(); ids.dispose(); img.pixels?.dispose();
      }
    } finally {
      p.dispose();
    }
    const ref = attentionFlow(list);
    for (let l = 0; l < L; l++) {
      const s = r.flow.shares[l]!;
      assert.ok(Math.abs(s.reduce((a, b) => a + b, 0) - 1) < 1e-9);
      for (let j = 0; j < s.length; j++) {
        assert.ok(Math.abs(s[j]! - ref.shares[l]![j]!) < 1e-5, `layer ${l} position ${j}: ${s[j]} vs ${ref.shares[l]![j]}`);
        assert.ok(Math.abs(s[j]! - r1.flow.shares[l]![j]!) < 1e-5, 'batch size must not change the shares');
      }
      assert.ok(Math.abs(r.flow.imageMass[l]! - ref.imageMass[l]!) < 1e-5);
      const st = r.stack;
      const sum = st.eoi[l]! + st.lastImage[l]! + st.internal[l]! + st.outlierShares[l]!.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-9);
    }
    const doc = validateResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')));
    const recs = doc.models[0]!.e3!.records;
    assert.equal(recs.filter((x) => x.label === '[EOI]').length, L);
    const fig = JSON.parse(readFileSync(join(out, 'figure-e3.json'), 'utf8'));
    assert.equal(fig.layers[0].imageInformation, false);
  });
}

test('E3: a threshold outside (0, 1) is a UserError', async () => {
  const f = await experimentsFixture();
  await assert.rejects(runAttentionFlow({ checkpoint: f.native, data: f.data, threshold: 5 }), /--threshold 5 is invalid/);
});
