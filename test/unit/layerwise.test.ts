/**
 * Layer-by-layer execution: a decoder whose blocks own no variables runs with weights supplied per
 * layer (here uploaded from JS arrays on each call, as a large checkpoint would be), gives the same
 * logits as the model holding the weights, and releases each layer's uploaded tensors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { NativeModel } from '../../src/model/native.js';
import { blockParamSpecs } from '../../src/model/block.js';
import type { WeightSet } from '../../src/model/params.js';
import { maxAbsDiff, tinyNative, tinyNativeConfig, useBackend } from '../helpers/tiny.js';

await useBackend('cpu');

test('external blocks with per-layer uploaded weights equal the resident model; uploads are released', async () => {
  const over = { nKvHeads: 2, qkNorm: true, qkvBias: true };
  const full = tinyNative(over, 51);
  const params = full.namedParameters();
  // weights in JS memory, keyed by full name
  const js = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, v] of params) js.set(k, { shape: v.shape, data: v.dataSync() as Float32Array });

  const ext = new NativeModel(tinyNativeConfig(over), { seed: 0, externalBlocks: true });
  assert.equal([...ext.namedParameters().keys()].some((n) => n.startsWith('blocks.')), false);
  for (const [k, v] of ext.namedParameters()) tf.tidy(() => v.assign(tf.tensor(js.get(k)!.data, js.get(k)!.shape)));

  const specs = blockParamSpecs(ext.config.decoder);
  const live: number[] = [];
  const upload = (l: number): WeightSet => {
    live.push(tf.memory().numTensors);
    const w: WeightSet = {};
    for (const s of specs) {
      const t = js.get(`blocks.${l}.${s.name}`)!;
      w[s.name] = tf.tensor(t.data, t.shape);
    }
    return w;
  };
  const ids = tf.tensor2d([[0, 3, 7, 9, 4, 25, 30]], [1, 7], 'int32');
  const a = full.forward({ ids });
  const before = tf.memory().numTensors;
  const b = ext.forward({ ids }, { blockWeights: upload });
  assert.ok(maxAbsDiff(a.dataSync(), b.dataSync()) < 1e-6);
  // layer 1's upload started with layer 0's uploads already released (only the residual stream added)
  assert.equal(live.length, 2);
  assert.ok(live[1]! - live[0]! <= 2, `tensors alive grew by ${live[1]! - live[0]!} between layers`);
  b.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => ext.forward({ ids }), /external/);
  tf.dispose([a, ids]);
  full.dispose();
  ext.dispose();
});
