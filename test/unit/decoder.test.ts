import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { referenceForward } from '../helpers/ref-decoder.js';
import { maxAbsDiff, tinyNative, useBackend, weightsOf } from '../helpers/tiny.js';

await useBackend('cpu');

const IDS = [0, 3, 7, 9, 4, 25, 30, 22];

function check(over: Parameters<typeof tinyNative>[0], label: string): void {
  const m = tinyNative(over, 3);
  const ref = referenceForward(m.config.decoder, weightsOf(m.namedParameters()), IDS);
  const ids = tf.tensor2d([IDS], [1, IDS.length], 'int32');
  const logits = m.forward({ ids });
  const d = maxAbsDiff(logits.dataSync(), ref.logits.flat());
  logits.dispose();
  ids.dispose();
  m.dispose();
  assert.ok(d < 2e-4, `${label}: max |logits - reference| = ${d}`);
}

test('multi-head attention decoder matches the plain-JS reference', () => check({}, 'mha'));
test('grouped-query attention (4 heads, 2 kv heads) matches the reference', () => check({ nKvHeads: 2 }, 'gqa'));
test('QK-norm with per-head weight and bias, GQA and q/k/v biases match the reference', () =>
  check({ nKvHeads: 2, qkNorm: true, qkvBias: true }, 'qknorm'));
test('MQA, explicit headDim != dModel/nHeads, tied embeddings, theta 500000', () =>
  check({ nKvHeads: 1, headDim: 6, tieEmbeddings: true, ropeTheta: 500000 }, 'mqa'));
test('swin norm placement matches the reference', () => check({ normPlacement: 'swin', qkNorm: true }, 'swin'));

test('right and left padding give the unpadded logits at real positions', () => {
  const m = tinyNative({ nKvHeads: 2, qkNorm: true }, 4);
  const a = [0, 7, 9, 4, 25];
  const b = [0, 30, 31];
  const single = (ids: number[]) => tf.tidy(() => m.forward({ ids: tf.tensor2d([ids], [1, ids.length], 'int32') }).arraySync() as number[][][]);
  const ra = single(a)[0]!, rb = single(b)[0]!;
  const right = tf.tidy(
    () => m.forward({ ids: tf.tensor2d([a, [...b, 2, 2]], [2, 5], 'int32'), attentionMask: [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]] }).arraySync() as number[][][],
  );
  const left = tf.tidy(
    () => m.forward({ ids: tf.tensor2d([a, [2, 2, ...b]], [2, 5], 'int32'), attentionMask: [[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]] }).arraySync() as number[][][],
  );
  assert.ok(maxAbsDiff(right[0]!.flat(), ra.flat()) < 1e-5);
  assert.ok(maxAbsDiff(right[1]!.slice(0, 3).flat(), rb.flat()) < 1e-5);
  assert.ok(maxAbsDiff(left[1]!.slice(2).flat(), rb.flat()) < 1e-5);
  m.dispose();
});

test('forward and dispose leak no tensors', () => {
  const before = tf.memory().numTensors;
  const m = tinyNative({ nKvHeads: 2, qkNorm: true, qkvBias: true }, 5);
  const ids = tf.tensor2d([[0, 5, 6, 4, 21]], [1, 5], 'int32');
  const mid = tf.memory().numTensors;
  m.forward({ ids }).dispose();
  m.forward({ ids, attentionMask: [[1, 1, 1, 1, 0]] }).dispose();
  assert.equal(tf.memory().numTensors, mid);
  ids.dispose();
  m.dispose();
  assert.equal(tf.memory().numTensors, before);
});
