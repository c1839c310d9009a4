/**
 * The interventions Pipeline (what `extract` and `generate` load with --checkpoint) accepts a Hugging
 * Face folder: prepare() on decoded pixels gives the processor's ids and spans, and generation with
 * the pipeline's model gives transformers' greedy tokens.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { loadPipeline } from '../../src/interventions/pipeline.js';
import { decodeImage } from '../../src/hf/image.js';
import { generate } from '../../src/model/generate.js';
import { fixtureDir, loadReference, type Family } from '../helpers/hf-fixtures.js';

for (const family of ['chameleon', 'llava_onevision'] as const satisfies readonly Family[]) {
  test(`${family}: loadPipeline + prepare reproduce case a's ids, spans and greedy tokens`, async () => {
    assert.equal(await tf.setBackend('wasm'), true);
    const ref = await loadReference(family);
    const cs = ref.json.cases.a;
    const dir = fixtureDir(family);
    const p = await loadPipeline(dir);
    try {
      const img = await decodeImage(join(dir, cs.image_file));
      const [ex] = await p.prepare([{ id: 7, image: { width: img.width, height: img.height, channels: img.channels, pixels: img.data }, prompt: 'describe it' }]);
      assert.ok(ex);
      const expected = [...cs.input_ids];
      if (family === 'chameleon') for (let i = 0; i < cs.image_token_ids.length; i++) expected[cs.image_span[0] + i] = cs.image_token_ids[i];
      assert.deepEqual(Array.from(ex.ids), expected);
      assert.equal(ex.spans.eoi, cs.eoi_position);
      const features = ex.features ? tf.tensor3d(ex.features, [1, ex.features.length / p.model.config.decoder.dModel, p.model.config.decoder.dModel]) : undefined;
      const res = await generate(p.model, { prompts: [Array.from(ex.ids)], spans: [ex.spans], features }, { maxNewTokens: 5, eos: null });
      features?.dispose();
      assert.deepEqual(res.tokens[0], cs.generated_ids);
    } finally {
      p.dispose();
    }
  });
}
