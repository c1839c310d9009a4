import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { loadHfModel } from '../../src/hf/load.js';
import { greedyGenerate } from '../../src/hf/generate.js';
import { fixtureDir, loadReference } from '../helpers/hf-fixtures.js';
import { checkDecoderParity, checkEoiKnockout } from '../helpers/hf-parity.js';

const dir = fixtureDir('chameleon');

test('Chameleon checkpoint: ids, hidden states, attention, logits, [EOI] knockout and greedy tokens match transformers', async () => {
  assert.equal(await tf.setBackend('wasm'), true);
  const ref = await loadReference('chameleon');
  const model = await loadHfModel(dir);
  const before = tf.memory().numTensors;
  const report: Record<string, unknown> = {};
  for (const c of ['a', 'b']) {
    const cs = ref.json.cases[c];
    const ex = await model.encode({ prompt: cs.prompt, mode: cs.mode, pixelValues: ref.get(c, 'pixel_values').data as Float32Array });
    const expected = [...cs.input_ids];
    for (let i = 0; i < cs.image_token_ids.length; i++) expected[cs.image_span[0] + i] = cs.image_token_ids[i];
    assert.deepEqual(ex.ids, expected);
    assert.deepEqual(Array.from(ex.codes ?? []), cs.vq_codes);
    assert.equal(ex.spans.eoi, cs.eoi_position);
    assert.equal(ex.spans.boi, cs.boi_position);
    report[c] = await checkDecoderParity(model, ref, c, ex);
    (report[c] as Record<string, number>).logits_eoi_knockout = await checkEoiKnockout(model, ref, c, ex, cs.eoi_position);
    const gen = await greedyGenerate(model, [ex], { maxNewTokens: 5 });
    assert.deepEqual(gen[0], cs.generated_ids);
  }
  assert.equal(tf.memory().numTensors, before, 'no tensors leak');
  model.dispose();
  console.log(JSON.stringify(report));
});

test('Chameleon bf16 weights: VQ codes and logits match their own reference', async () => {
  assert.equal(await tf.setBackend('wasm'), true);
  const ref = await loadReference('chameleon');
  const model = await loadHfModel(dir, { weightsFile: 'model.bf16.safetensors' });
  for (const c of ['a', 'b']) {
    const cs = ref.json.cases[c];
    const ex = await model.encode({ prompt: cs.prompt, mode: cs.mode, pixelValues: ref.get(c, 'pixel_values').data as Float32Array });
    assert.deepEqual(Array.from(ex.codes ?? []), Array.from(ref.get(c, 'vq_codes_bf16_weights').data));
    await checkDecoderParity(model, ref, c, ex, 'logits_bf16_weights');
  }
  model.dispose();
});

test('Chameleon from the image files (our preprocessing) gives the reference VQ codes and greedy tokens', async () => {
  assert.equal(await tf.setBackend('wasm'), true);
  const ref = await loadReference('chameleon');
  const model = await loadHfModel(dir);
  for (const c of ['a', 'b']) {
    const cs = ref.json.cases[c];
    const ex = await model.encode({ prompt: cs.prompt, mode: cs.mode, image: `${dir}/${cs.image_file}` });
    assert.deepEqual(Array.from(ex.codes ?? []), cs.vq_codes);
    assert.deepEqual((await greedyGenerate(model, [ex], { maxNewTokens: 5 }))[0], cs.generated_ids);
  }
  model.dispose();
});
