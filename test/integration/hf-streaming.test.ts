import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, copyFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { loadHfModel } from '../../src/hf/load.js';
import { openHfWeights } from '../../src/hf/weights.js';
import { encodeSafetensors, readSafetensors } from '../../src/model/safetensors.js';
import { fixtureDir, loadReference, maxAbsDiff } from '../helpers/hf-fixtures.js';

async function logitsOf(model: Awaited<ReturnType<typeof loadHfModel>>, exs: Parameters<typeof model.batch>[0]): Promise<Float32Array> {
  const { input, dispose } = model.batch(exs);
  const logits = model.forward(input);
  try {
    return (await logits.data()) as Float32Array;
  } finally {
    logits.dispose();
    dispose();
  }
}

test('layer-by-layer execution from JS memory (bf16 kept as 2 bytes) equals the normal path and the reference', async () => {
  assert.equal(await tf.setBackend('wasm'), true);
  const dir = fixtureDir('chameleon');
  const ref = await loadReference('chameleon');
  const cs = ref.json.cases.a;
  for (const [file, key] of [[undefined, 'logits'], ['model.bf16.safetensors', 'logits_bf16_weights']] as const) {
    const normal = await loadHfModel(dir, { weightsFile: file, layerByLayer: false });
    const streamed = await loadHfModel(dir, { weightsFile: file, layerByLayer: true });
    assert.equal(streamed.streaming, true);
    assert.equal(normal.streaming, false);
    assert.ok(streamed.decoder.blocks.every((b) => b.isExternal));
    const req = { prompt: cs.prompt, mode: cs.mode, pixelValues: ref.get('a', 'pixel_values').data as Float32Array };
    const ex = await streamed.encode(req);
    const before = tf.memory().numTensors;
    const a = await logitsOf(streamed, [ex]);
    assert.equal(tf.memory().numTensors, before, 'streamed forward releases its layer tensors');
    const b = await logitsOf(normal, [await normal.encode(req)]);
    assert.equal(maxAbsDiff(a, b), 0);
    assert.ok(maxAbsDiff(a, ref.get('a', key).data) <= 1e-4);
    // bf16 stays 2 bytes per value in JS memory, f32 4
    const { nLayers: L, dModel: D, nHeads: H, nKvHeads: K, headDim: Dh, dFF: F } = streamed.hf.decoder;
    const params = L * (2 * D + 2 * D * H * Dh + 2 * D * K * Dh + 2 * H * Dh + 2 * K * Dh + 3 * D * F);
    assert.equal(streamed.layerStore?.bytes(), params * (file ? 2 : 4));
    normal.dispose();
    streamed.dispose();
  }
});

test('a batch of prompts of different lengths in one (layer-by-layer) pass gives each prompt its own logits', async () => {
  assert.equal(await tf.setBackend('wasm'), true);
  const dir = fixtureDir('llava_onevision');
  const ref = await loadReference('llava_onevision');
  const model = await loadHfModel(dir, { layerByLayer: true });
  const exs = await Promise.all(['a', 'b'].map((c) => model.encode({
    messages: ref.json.cases[c].messages,
    pixelValues: ref.get(c, 'pixel_values').data as Float32Array,
    imageSizeHW: Array.from(ref.get(c, 'image_sizes').data) as [number, number],
  })));
  const both = await logitsOf(model, exs);
  const V = model.hf.decoder.vocabSize;
  const T = Math.max(...exs.map((e) => e.ids.length));
  exs.forEach((e, b) => {
    const rows = both.subarray(b * T * V, (b * T + e.ids.length) * V);
    const d = maxAbsDiff(rows, ref.get(['a', 'b'][b] as string, 'logits').data);
    assert.ok(d <= 1e-4, `example ${b}: ${d}`);
  });
  model.dispose();
});

test('sharded weights with model.safetensors.index.json load and give the same logits', async () => {
  assert.equal(await tf.setBackend('wasm'), true);
  const src = fixtureDir('chameleon');
  const ref = await loadReference('chameleon');
  const tmp = mkdtempSync(join(tmpdir(), 'ng-shards-'));
  try {
    for (const f of readdirSync(src)) if (!f.startsWith('model')) copyFileSync(join(src, f), join(tmp, f));
    const { tensors } = await readSafetensors(join(src, 'model.safetensors'));
    const names = [...tensors.keys()].sort();
    const half = Math.ceil(names.length / 2);
    const shards = [names.slice(0, half), names.slice(half)];
    const weightMap: Record<string, string> = {};
    shards.forEach((ns, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      const t = ns.map((n) => ({ name: n, shape: tensors.get(n)!.shape, data: tensors.get(n)!.data }));
      writeFileSync(join(tmp, file), encodeSafetensors(t, { format: 'pt' }));
      for (const n of ns) weightMap[n] = file;
    });
    writeFileSync(join(tmp, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const w = await openHfWeights(tmp);
    assert.equal(w.files.length, 2);
    assert.equal(w.names().length, names.length);
    await w.close();
    const model = await loadHfModel(tmp);
    const cs = ref.json.cases.b;
    const ex = await model.encode({ prompt: cs.prompt, mode: cs.mode, pixelValues: ref.get('b', 'pixel_values').data as Float32Array });
    assert.ok(maxAbsDiff(await logitsOf(model, [ex]), ref.get('b', 'logits').data) <= 1e-4);
    model.dispose();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('loading and disposing either family leaves no tensors behind', async () => {
  assert.equal(await tf.setBackend('wasm'), true);
  for (const family of ['chameleon', 'llava_onevision'] as const) {
    const before = tf.memory().numTensors;
    const model = await loadHfModel(fixtureDir(family));
    assert.ok(tf.memory().numTensors > before);
    model.dispose();
    assert.equal(tf.memory().numTensors, before, family);
  }
});
