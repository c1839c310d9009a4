import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { tinyAdapter, tinyNative, useBackend } from '../helpers/tiny.js';

await useBackend('cpu');

// test/golden/hook-names.json is written by hand (not generated); this file sits in test/unit or dist/test/unit
function golden(): Record<string, string[]> {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const p of [join(here, '../golden/hook-names.json'), join(here, '../../../test/golden/hook-names.json')]) {
    try {
      return JSON.parse(readFileSync(p, 'utf8')) as Record<string, string[]>;
    } catch {
      /* try the next location */
    }
  }
  throw new Error('test/golden/hook-names.json not found');
}

test('hook names of a 2-layer native model equal the hand-written golden list', () => {
  const m = tinyNative({ nLayers: 2 }, 1);
  assert.deepEqual(m.hookNames(), golden().native_2_layers);
  m.dispose();
});

test('hook names of the adapter (ViT and features variants) equal the golden lists', () => {
  const a = tinyAdapter(true, { nLayers: 1 }, 1);
  assert.deepEqual(a.hookNames(), golden().adapter_vit_1_decoder_1);
  a.dispose();
  const f = tinyAdapter(false, { nLayers: 1 }, 1);
  assert.deepEqual(f.hookNames(), golden().adapter_features_decoder_1);
  f.dispose();
});

test('parameter names (GQA, QK-norm, biases, untied) equal the golden list; tied models have no unembed.W_U', () => {
  const m = tinyNative({ nLayers: 2, nKvHeads: 2, qkNorm: true, qkvBias: true }, 1);
  assert.deepEqual([...m.namedParameters().keys()], golden().native_2_layers_parameters_untied_gqa_qknorm_bias);
  assert.deepEqual(m.namedParameters().get('blocks.1.attn.k_norm.b')!.shape, [2, 4]);
  assert.deepEqual(m.namedParameters().get('blocks.1.attn.q_norm.w')!.shape, [4, 4]);
  m.dispose();
  const t = tinyNative({ tieEmbeddings: true }, 1);
  assert.equal(t.namedParameters().has('unembed.W_U'), false);
  t.dispose();
  assert.equal(tf.memory().numTensors >= 0, true);
});
