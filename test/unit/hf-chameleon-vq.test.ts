import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { readHfConfig, type ChameleonHfConfig } from '../../src/hf/config.js';
import { openHfWeights } from '../../src/hf/weights.js';
import { ChameleonVqEncoder } from '../../src/hf/chameleon-vq.js';
import { buildImg2Bpe } from '../../src/hf/chameleon-processor.js';
import { fixtureDir, loadReference, maxAbsDiff } from '../helpers/hf-fixtures.js';

const dir = fixtureDir('chameleon');

test('Chameleon VQ encoder matches vq_latent and vq_codes (F32 and BF16 weights)', async () => {
  assert.equal(await tf.setBackend('wasm'), true);
  const ref = await loadReference('chameleon');
  const cfg = readHfConfig(dir) as ChameleonHfConfig;
  const { img2bpe } = buildImg2Bpe(cfg.vocabularyMap, cfg.vq.numEmbeddings);
  for (const [file, suffix] of [['model.safetensors', ''], ['model.bf16.safetensors', '_bf16_weights']] as const) {
    const w = await openHfWeights(dir, file);
    const vq = await ChameleonVqEncoder.load(w, cfg.vq);
    await w.close();
    const before = tf.memory().numTensors;
    for (const c of ['a', 'b']) {
      const out = await vq.encode(ref.get(c, 'pixel_values').data as Float32Array);
      const g = ref.json.config_summary.vq_grid as [number, number];
      assert.deepEqual(out.grid, g);
      if (suffix === '') {
        const d = maxAbsDiff(out.latent, ref.get(c, 'vq_latent').data);
        assert.ok(d <= 1e-4, `${c} vq_latent max abs diff ${d}`);
      }
      assert.deepEqual(Array.from(out.codes), Array.from(ref.get(c, `vq_codes${suffix}`).data), `${c} vq_codes${suffix}`);
      const ids = Array.from(out.codes, (k) => img2bpe[k] as number);
      assert.deepEqual(ids, Array.from(ref.get(c, `image_token_ids${suffix}`).data), `${c} image_token_ids${suffix}`);
    }
    assert.equal(tf.memory().numTensors, before, 'encode leaks no tensors');
    vq.dispose();
  }
});

test('img2bpe is built from token names and matches the reference image-code range', async () => {
  const ref = await loadReference('chameleon');
  const cfg = readHfConfig(dir) as ChameleonHfConfig;
  const { img2bpe, imageTokenIds } = buildImg2Bpe(cfg.vocabularyMap, cfg.vq.numEmbeddings);
  assert.equal(imageTokenIds[0], ref.json.image_code_token_ids[0]);
  assert.equal(imageTokenIds[imageTokenIds.length - 1], ref.json.image_code_token_ids[1]);
  assert.equal(img2bpe.length, cfg.vq.numEmbeddings);
  assert.equal(cfg.vocabularyMap['IMGIMGBAZ'], img2bpe[10]);
});
