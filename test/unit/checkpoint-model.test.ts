import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadModel, saveModel } from '../../src/model/checkpoint.js';
import { AdapterModel } from '../../src/model/adapter.js';
import type { VLModel, ModelInput } from '../../src/model/model.js';
import type { Spans } from '../../src/model/spans.js';
import { WordTokenizer } from '../../src/tokenizers/word.js';
import { randomizeParams, tinyAdapterConfig, tinyNative, useBackend } from '../helpers/tiny.js';
import { UserError } from '../../src/util/errors.js';

await useBackend('cpu');

// <bos> <boi> img x4 <eoi> text text (ids within the tiny vocab of 40)
const IDS = [0, 3, 2, 2, 2, 2, 4, 25, 30];
const SPANS: Spans = { length: 9, bos: 0, boi: 1, image: [2, 6], eoi: 6 };

async function logitsOf(model: VLModel, extra: Omit<ModelInput, 'ids'>): Promise<Float32Array> {
  const ids = tf.tensor2d([IDS], [1, IDS.length], 'int32');
  const out = model.forward({ ids, spans: [SPANS], ...extra });
  const data = (await out.data()) as Float32Array;
  tf.dispose([ids, out]);
  return data;
}

const cases: [string, () => VLModel, () => Omit<ModelInput, 'ids'>][] = [
  ['native', () => tinyNative({}, 3), () => ({})],
  ['adapter with ViT', () => {
    const m = new AdapterModel(tinyAdapterConfig(true), { seed: 4 });
    randomizeParams(m.namedParameters(), 44);
    return m;
  }, () => ({ pixels: tf.tensor4d(Float32Array.from({ length: 8 * 8 * 3 }, (_, i) => (i % 7) / 7), [1, 8, 8, 3]) })],
  ['adapter on backbone features', () => {
    const m = new AdapterModel(tinyAdapterConfig(false), { seed: 5 });
    randomizeParams(m.namedParameters(), 55);
    return m;
  }, () => ({ features: tf.tensor3d(Float32Array.from({ length: 4 * 12 }, (_, i) => Math.sin(i)), [1, 4, 12]) })],
];

for (const [what, make, input] of cases) {
  test(`${what}: save -> load gives identical logits, config and tokenizer`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ng-model-'));
    const model = make();
    const extra = input();
    try {
      const tok = WordTokenizer.build(['a red circle']);
      const before = tf.memory().numTensors;
      const { sha256 } = await saveModel(dir, model, { tokenizer: tok, card: '# tiny\n' });
      assert.equal(tf.memory().numTensors, before);
      const loaded = await loadModel(dir, { expectConfig: model.config });
      try {
        assert.equal(loaded.model.family, model.family);
        assert.deepEqual(loaded.config, JSON.parse(JSON.stringify(model.config)));
        assert.equal(loaded.sha256, sha256);
        assert.deepEqual(loaded.tokenizer!.words, tok.words);
        assert.deepEqual([...loaded.model.namedParameters().keys()], [...model.namedParameters().keys()]);
        assert.deepEqual(await logitsOf(loaded.model, extra), await logitsOf(model, extra));
      } finally {
        loaded.model.dispose();
      }
    } finally {
      tf.dispose(Object.values(extra) as tf.Tensor[]);
      model.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('a config that does not fit the weights, or no family, is a clear error and leaks nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ng-model-'));
  const model = tinyNative({}, 6);
  try {
    await saveModel(dir, model);
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    const before = tf.memory().numTensors;
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, decoder: { ...cfg.decoder, nLayers: 1, dMlp: 20 } }));
    await assert.rejects(loadModel(dir), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /unexpected blocks\.1\.attn\.W_K, /);
      assert.match(e.message, /wrong shape blocks\.0\.mlp\.W_gate \[16, 24\] \(expected \[16, 20\]\)/);
      return true;
    });
    assert.equal(tf.memory().numTensors, before);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, family: 'diffusion' }));
    await assert.rejects(loadModel(dir), /family "diffusion"; expected "native" or "adapter"/);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
    await assert.rejects(loadModel(dir, { expectConfig: { ...cfg, imageCodeCount: 8 } }), /imageCodeCount: 16 \(expected 8\)/);
  } finally {
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
