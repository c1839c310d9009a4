import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { loadHfModel } from '../../src/hf/load.js';
import { greedyGenerate } from '../../src/hf/generate.js';
import { fixtureDir, loadReference, maxAbsDiff } from '../helpers/hf-fixtures.js';
import { checkDecoderParity, checkEoiKnockout } from '../helpers/hf-parity.js';

const dir = fixtureDir('llava_onevision');

test('LLaVA-OneVision checkpoint: ids, image features, hidden states, attention, logits, [EOI] knockout and greedy tokens match transformers', async () => {
  assert.equal(await tf.setBackend('wasm'), true);
  const ref = await loadReference('llava_onevision');
  const model = await loadHfModel(dir);
  const before = tf.memory().numTensors;
  const report: Record<string, Record<string, number>> = {};
  for (const c of ['a', 'b']) {
    const cs = ref.json.cases[c];
    const ex = await model.encode({
      messages: cs.messages,
      pixelValues: ref.get(c, 'pixel_values').data as Float32Array,
      imageSizeHW: Array.from(ref.get(c, 'image_sizes').data) as [number, number],
    });
    assert.deepEqual(ex.ids, cs.input_ids);
    assert.deepEqual(ex.spans.image, cs.image_span);
    assert.equal(ex.spans.eoi, cs.eoi_position);
    assert.deepEqual(ex.spans.imageMarkers, cs.image_newline_positions);
    const feat = maxAbsDiff(ex.features ?? [], ref.get(c, 'image_features').data);
    assert.ok(feat <= 1e-4, `${c}.image_features ${feat}`);
    report[c] = { image_features: feat, ...(await checkDecoderParity(model, ref, c, ex)) };
    report[c].logits_eoi_knockout = await checkEoiKnockout(model, ref, c, ex, cs.eoi_position);
    const gen = await greedyGenerate(model, [ex], { maxNewTokens: 5 });
    assert.deepEqual(gen[0], cs.generated_ids);
  }
  assert.equal(tf.memory().numTensors, before, 'no tensors leak');
  model.dispose();
  console.log(JSON.stringify(report));
});

test('LLaVA-OneVision bf16 weights: logits match their own reference', async () => {
  assert.equal(await tf.setBackend('wasm'), true);
  const ref = await loadReference('llava_onevision');
  const model = await loadHfModel(dir, { weightsFile: 'model.bf16.safetensors' });
  for (const c of ['a', 'b']) {
    const cs = ref.json.cases[c];
    const ex = await model.encode({ messages: cs.messages, pixelValues: ref.get(c, 'pixel_values').data as Float32Array, imageSizeHW: Array.from(ref.get(c, 'image_sizes').data) as [number, number] });
    await checkDecoderParity(model, ref, c, ex, 'logits_bf16_weights');
  }
  model.dispose();
});

test('LLaVA-OneVision from the image file (our preprocessing) reproduces the ids and greedy tokens', async () => {
  assert.equal(await tf.setBackend('wasm'), true);
  const ref = await loadReference('llava_onevision');
  const model = await loadHfModel(dir);
  for (const c of ['a', 'b']) {
    const cs = ref.json.cases[c];
    const ex = await model.encode({ messages: cs.messages, image: `${dir}/${cs.image_file}` });
    assert.deepEqual(ex.ids, cs.input_ids);
    const gen = await greedyGenerate(model, [ex], { maxNewTokens: 5 });
    assert.deepEqual(gen[0], cs.generated_ids);
  }
  model.dispose();
});
