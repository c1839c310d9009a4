/**
 * E1/E2 runner on the tiny native and adapter checkpoints: the reported quantiles equal a hand
 * computation (cosines of the unmatched text-image pairs, sorted, numpy's linear interpolation) on
 * vectors taken by an independent forward pass at the recorded positions; E2 equals the analysis
 * core's modalityClusters on those vectors; the output files validate as a results document.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { experimentsFixture } from '../helpers/experiments-tiny.js';
import { captionThenImage, runModalityGap } from '../../src/experiments/index.js';
import { loadPipeline, imageTensors, type Pipeline } from '../../src/interventions/pipeline.js';
import type { ExtractExample } from '../../src/interventions/extract.js';
import { runWithCache } from '../../src/hooks/run.js';
import { modalityClusters } from '../../src/analysis/index.js';
import { validateResults } from '../../src/report/results.js';

function quantile(sorted: number[], q: number): number {
  const h = (sorted.length - 1) * q;
  const f = Math.floor(h);
  return sorted[f]! + (h - f) * (sorted[Math.min(f + 1, sorted.length - 1)]! - sorted[f]!);
}

async function residAt(p: Pipeline, ex: ExtractExample, layer: number, pos: number): Promise<number[]> {
  const ids = tf.tensor2d([Array.from(ex.ids)], [1, ex.ids.length], 'int32');
  const img = imageTensors(p, [ex]);
  const name = `blocks.${layer}.hook_resid_post`;
  const { logits, cache } = runWithCache(p.model, { ids, spans: [ex.spans], ...img }, { names: [name] });
  const d = Array.from(await cache.get(name).data());
  logits.dispose(); cache.dispose(); ids.dispose(); img.pixels?.dispose();
  const D = p.model.config.decoder.dModel;
  return d.slice(pos * D, (pos + 1) * D);
}

for (const family of ['native', 'adapter'] as const) {
  test(`E1/E2 on the tiny ${family} checkpoint: quantiles by hand, E2 = modalityClusters, a valid results document`, async () => {
    const f = await experimentsFixture();
    const out = mkdtempSync(join(tmpdir(), 'ng-e1-'));
    const N = 12;
    const before = tf.memory().numTensors;
    const r = await runModalityGap({ checkpoint: f[family], data: f.data, limit: N, seed: 4, batchSize: 5, out });
    assert.equal(tf.memory().numTensors, before);
    const L = family === 'native' ? 2 : 1;
    assert.equal(r.layers.length, L);
    assert.equal(r.imageOrder, family === 'native' ? 'caption-then-image' : 'image-then-caption');
    const doc = validateResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')));
    assert.equal(doc.models[0]!.e1!.records.length, L);
    assert.equal(doc.models[0]!.e2!.records.length, L);
    assert.ok(JSON.parse(readFileSync(join(out, 'figure-e1-e2.json'), 'utf8')).layers.length === L);

    const p = await loadPipeline(f[family]);
    try {
      for (let l = 0; l < L; l++) {
        const text: number[][] = [], image: number[][] = [];
        for (const pos of r.positions) {
          const im = f.ds.byId(pos.id);
          const [ex] = await p.prepare([{ id: im.id, image: { width: im.width, height: im.height, channels: im.channels, pixels: im.pixels }, target: pos.caption }]);
          assert.ok(pos.text > ex!.spans.eoi! && pos.text < ex!.spans.length, 'text position after [EOI]');
          text.push(await residAt(p, ex!, l, pos.text));
          const imgEx = family === 'native' ? captionThenImage(ex!, p.tokenizer.encode(pos.caption)) : ex!;
          assert.ok(pos.image >= imgEx.spans.image![0] && pos.image < imgEx.spans.image![1], 'image position inside the image span');
          if (family === 'native') assert.ok(imgEx.spans.image![0] > ex!.spans.length - ex!.spans.eoi! - 1, 'caption before the image');
          image.push(await residAt(p, imgEx, l, pos.image));
        }
        const unit = (v: number[]) => { const s = Math.sqrt(v.reduce((a, b) => a + b * b, 0)); return v.map((x) => x / s); };
        const cos: number[] = [];
        for (let i = 0; i < N; i++) for (let j = 0; j < i; j++) {
          const a = unit(text[i]!), b = unit(image[j]!);
          cos.push(a.reduce((s, x, c) => s + x * b[c]!, 0));
        }
        cos.sort((a, b) => a - b);
        const got = r.layers[l]!;
        assert.ok(Math.abs(got.median - quantile(cos, 0.5)) < 1e-4, `median ${got.median} vs ${quantile(cos, 0.5)}`);
        assert.ok(Math.abs(got.q25 - quantile(cos, 0.25)) < 1e-4);
        assert.ok(Math.abs(got.q75 - quantile(cos, 0.75)) < 1e-4);
        assert.equal(got.depth, L > 1 ? l / (L - 1) : 0);
        const mc = await modalityClusters({ data: Float32Array.from(text.flat()), n: N, d: text[0]!.length }, { data: Float32Array.from(image.flat()), n: N, d: text[0]!.length });
        assert.equal(got.nClusters, mc.nClusters);
        assert.ok(Math.abs(got.homogeneity! - mc.homogeneity) < 1e-6);
        assert.ok(got.twoNN! > 0 && Number.isFinite(got.meanLogDensity!));
      }
    } finally {
      p.dispose();
    }
  });
}

test('E1: bad inputs are UserErrors', async () => {
  const f = await experimentsFixture();
  await assert.rejects(runModalityGap({ checkpoint: f.native, data: f.data, limit: 1 }), /at least 2 images/);
  await assert.rejects(runModalityGap({ checkpoint: f.native, data: f.data, limit: 4 }), /E2 needs more than 16 vectors/);
  await assert.rejects(runModalityGap({ checkpoint: f.native, data: join(f.root, 'nope') }), /does not exist/);
});
