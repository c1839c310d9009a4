import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { NativeModel } from '../../src/model/native.js';
import { decoderConfig } from '../../src/model/config.js';
import { WordTokenizer, SPECIAL_IDS } from '../../src/tokenizers/word.js';
import { VocabLayout } from '../../src/tokenizers/vocab.js';
import { Processor } from '../../src/tokenizers/processor.js';
import { makeBatch, type Item } from '../../src/training/batches.js';
import { lossAndGrads, toStepBatch, type StepBatch } from '../../src/training/step.js';
import { AdamW, disposeGrads } from '../../src/training/optimizer.js';
import { trainableParams, compileTrainingKnockouts } from '../../src/training/model-setup.js';
import { createStepRunner } from '../../src/training/parallel.js';
import { shardBatch, shardRange, shardWeights } from '../../src/training/shard.js';
import type { KnockoutSpec } from '../../src/interventions/spec.js';
import { UserError } from '../../src/util/errors.js';

before(async () => {
  assert.equal(await tf.setBackend('cpu'), true);
});

const N = 16; // image tokens
const K = 8; // image codes
const tok = WordTokenizer.fromWords(['a', 'red', 'blue', 'green', 'circle', 'square', 'what', 'color', '?']);
const layout = new VocabLayout(tok.size, K);
const proc = new Processor({ family: 'native', tokenizer: tok, layout, numImageTokens: N });

function tinyModel(seed = 3): NativeModel {
  const decoder = decoderConfig({ vocabSize: layout.size, dModel: 16, nLayers: 2, nHeads: 2, dMlp: 32 });
  const s = SPECIAL_IDS;
  return new NativeModel({ family: 'native', decoder, special: { bos: s.bos, eos: s.eos, pad: s.pad, boi: s.boi, eoi: s.eoi }, imageCodeStart: layout.imageRange[0], imageCodeCount: K }, { seed });
}

/** Three rows with different numbers of target tokens (so the shard weights are unequal). */
function batch(step: number): StepBatch {
  const items: Item[] = [
    { kind: 'caption', image: 0, target: 'a red circle' },
    { kind: 'vqa', image: 1, prompt: 'what color ?', target: 'blue' },
    { kind: 'caption', image: 2, target: step % 2 ? 'a green square' : 'a blue circle a red square' },
  ];
  const codes = (i: number) => Int32Array.from({ length: N }, (_, j) => (i * 5 + j * 3 + step) % K);
  return toStepBatch(makeBatch(items, proc, { text: true, image: true }, 48, codes), null);
}

const knockout: KnockoutSpec = { type: 'knockout', queries: '@text-after-image', keys: ['@all-image'], layers: 'all', heads: 'all', mode: 'renormalize' };

/** Trains `steps` AdamW updates with `workers` replicas; returns the losses and the final weights. */
async function run(workers: number, steps: number): Promise<{ losses: number[]; weights: Map<string, Float32Array>; runnerWorkers: number }> {
  const model = tinyModel();
  const { params } = trainableParams(model, []);
  const opt = new AdamW(params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
  const koHooks = await compileTrainingKnockouts([knockout], model);
  const runner = await createStepRunner({ workers, model, params, knockouts: [knockout], knockoutHooks: koHooks });
  const losses: number[] = [];
  try {
    for (let s = 0; s < steps; s++) {
      const { loss, grads } = await runner.lossAndGrads(batch(s), s === 1 ? 0 : null);
      losses.push((await loss.data())[0] as number);
      opt.apply(grads, 1e-2);
      loss.dispose();
      disposeGrads(grads);
    }
    const weights = new Map<string, Float32Array>();
    for (const [name, v] of model.namedParameters()) weights.set(name, (await v.data()) as Float32Array);
    return { losses, weights, runnerWorkers: runner.workers };
  } finally {
    await runner.dispose();
    opt.dispose();
    model.dispose();
  }
}

test('shards: contiguous, nearly equal row ranges that cover the batch; weights are target-token shares', () => {
  assert.deepEqual([0, 1, 2].map((i) => shardRange(7, 3, i)), [[0, 3], [3, 5], [5, 7]]);
  assert.deepEqual([0, 1, 2].map((i) => shardRange(2, 3, i)), [[0, 1], [1, 2], [2, 2]]);
  const sb = batch(0);
  const shards = shardBatch(sb, 2);
  assert.equal(shards[0]!.B + shards[1]!.B, 3);
  assert.deepEqual([...shards[0]!.ids, ...shards[1]!.ids], [...sb.ids]);
  assert.deepEqual([...shards[1]!.weights], [...sb.weights.subarray(2 * sb.T)]);
  const count = (w: Float32Array) => w.reduce((a, x) => a + x, 0);
  const w = shardWeights(shards);
  assert.ok(Math.abs(w[0]! - count(sb.weights.subarray(0, 2 * sb.T)) / count(sb.weights)) < 1e-12);
  assert.ok(Math.abs(w[0]! + w[1]! - 1) < 1e-12);
  assert.deepEqual(shardBatch(sb, 4)[3], null);
});

test('one step with 2 and 4 replicas (one shard empty) equals the in-process loss and gradients (float rounding)', async () => {
  const model = tinyModel();
  const { params } = trainableParams(model, []);
  const sb = batch(0);
  const ref = lossAndGrads(model, params, sb);
  const refLoss = (await ref.loss.data())[0] as number;
  const before = tf.memory().numTensors;
  for (const workers of [2, 4]) {
    const runner = await createStepRunner({ workers, model, params });
    try {
      assert.equal(runner.workers, workers);
      const { loss, grads } = await runner.lossAndGrads(sb, null);
      assert.ok(Math.abs(((await loss.data())[0] as number) - refLoss) < 1e-5, `loss with ${workers} replicas`);
      for (const p of params) {
        const a = (await grads.get(p.name)!.data()) as Float32Array;
        const b = (await ref.grads.get(p.name)!.data()) as Float32Array;
        const scale = Math.max(1e-3, ...b.map(Math.abs));
        const diff = Math.max(...a.map((x, i) => Math.abs(x - (b[i] as number))));
        assert.ok(diff < 1e-4 * scale, `${p.name} with ${workers} replicas differs by ${diff}`);
      }
      loss.dispose();
      disposeGrads(grads);
    } finally {
      await runner.dispose();
    }
  }
  assert.equal(tf.memory().numTensors, before, 'the runner leaks no tensors');
  ref.loss.dispose();
  disposeGrads(ref.grads);
  model.dispose();
});

test('training with 2 workers (and a knockout step) matches 1 worker: losses and weights after 4 updates', async () => {
  const one = await run(1, 4);
  const two = await run(2, 4);
  assert.equal(one.runnerWorkers, 1);
  assert.equal(two.runnerWorkers, 2);
  one.losses.forEach((l, i) => assert.ok(Math.abs(l - (two.losses[i] as number)) < 1e-4, `loss ${i}: ${l} vs ${two.losses[i]}`));
  assert.ok(one.losses[3]! < one.losses[0]!, 'the loss goes down');
  for (const [name, w] of one.weights) {
    const v = two.weights.get(name)!;
    const diff = Math.max(...w.map((x, i) => Math.abs(x - (v[i] as number))));
    assert.ok(diff < 1e-4, `${name} differs by ${diff}`);
  }
  // a fixed worker count is deterministic
  const again = await run(2, 4);
  assert.deepEqual(again.losses, two.losses);
});

test('bad worker counts are refused; a replica that cannot start reports its error', async () => {
  const model = tinyModel();
  const { params } = trainableParams(model, []);
  await assert.rejects(createStepRunner({ workers: 0, model, params }), /at least 1/);
  // the worker compiles the knockout specs itself: a layer the model lacks fails there, as a UserError
  const bad: KnockoutSpec = { ...knockout, layers: [7] };
  await assert.rejects(createStepRunner({ workers: 2, model, params, knockouts: [bad] }), (e: Error) => e instanceof UserError && /layer/i.test(e.message));
  model.dispose();
});
