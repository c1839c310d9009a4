/**
 * Gradient check: the same tiny models (same seeded weights), the same loss, on the wasm and cpu
 * backends; every parameter gradient must agree. Guards the wasm workarounds (custom-gradient
 * matmuls, one-hot embedding gradient, reshape patch embedding) against missing kernels and errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { VLModel, ModelInput } from '../../src/model/model.js';
import { knockoutHooks } from '../../src/hooks/knockout.js';
import { randomArray, tinyAdapter, tinyNative, useBackend } from '../helpers/tiny.js';

/** Mean next-token cross-entropy over real positions, without gather (one-hot products). */
function lmLoss(logits: tf.Tensor, ids: number[][], V: number): tf.Scalar {
  const B = ids.length, T = ids[0]!.length;
  const targets = tf.oneHot(tf.tensor2d(ids.map((r) => r.slice(1)), [B, T - 1], 'int32'), V).toFloat();
  const l = logits.slice([0, 0, 0], [B, T - 1, V]);
  const logp = tf.sub(l, tf.logSumExp(l, -1, true));
  return tf.neg(tf.mean(tf.sum(tf.mul(logp, targets), -1))) as tf.Scalar;
}

async function gradsOn(backend: 'cpu' | 'wasm', make: () => VLModel, input: () => ModelInput, ids: number[][]): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
  await useBackend(backend);
  const m = make();
  const inp = input();
  const params = m.namedParameters();
  const hooks = knockoutHooks({ layers: [0], query: (_b, q) => q >= 5, key: (_b, k) => k === 4, mode: 'zero' });
  const { value, grads } = tf.variableGrads(() => lmLoss(m.forward(inp, { hooks }), ids, m.config.decoder.vocabSize), [...params.values()]);
  const out = new Map<string, Float32Array>();
  const byId = new Map([...params].map(([n, v]) => [v.name, n]));
  for (const [vn, g] of Object.entries(grads)) out.set(byId.get(vn)!, g.dataSync() as Float32Array);
  const loss = value.dataSync()[0]!;
  tf.dispose([value, ...Object.values(grads)]);
  for (const t of [inp.ids, inp.pixels, inp.features]) t?.dispose();
  m.dispose();
  return { loss, grads: out };
}

function compare(a: Awaited<ReturnType<typeof gradsOn>>, b: Awaited<ReturnType<typeof gradsOn>>, nParams: number): void {
  assert.ok(Math.abs(a.loss - b.loss) < 1e-4, `loss ${a.loss} vs ${b.loss}`);
  assert.equal(a.grads.size, nParams);
  for (const [name, ga] of a.grads) {
    const gb = b.grads.get(name)!;
    let scale = 0, diff = 0;
    for (let i = 0; i < ga.length; i++) {
      scale = Math.max(scale, Math.abs(ga[i]!));
      diff = Math.max(diff, Math.abs(ga[i]! - gb[i]!));
    }
    assert.ok(scale > 0, `${name}: zero gradient`);
    assert.ok(diff <= 1e-4 + 1e-3 * scale, `${name}: max diff ${diff} (scale ${scale})`);
  }
}

test('tiny native decoder (GQA, QK-norm, biases): wasm gradients equal cpu gradients', async () => {
  const ids = [[0, 3, 7, 9, 4, 25, 30, 22], [0, 3, 8, 8, 4, 21, 22, 23]];
  const make = () => tinyNative({ nKvHeads: 2, qkNorm: true, qkvBias: true }, 41);
  const input = () => ({ ids: tf.tensor2d(ids, [2, 8], 'int32') });
  const cpu = await gradsOn('cpu', make, input, ids);
  const wasm = await gradsOn('wasm', make, input, ids);
  compare(wasm, cpu, cpu.grads.size);
  await useBackend('cpu');
});

test('tiny adapter (ViT + projector + decoder): wasm gradients equal cpu gradients', async () => {
  const ids = [[0, 3, 2, 2, 2, 2, 4, 25, 30], [0, 3, 2, 2, 2, 2, 4, 31, 32]];
  const spans = ids.map(() => ({ length: 9, bos: 0, boi: 1, image: [2, 6] as [number, number], eoi: 6 }));
  const make = () => tinyAdapter(true, { tieEmbeddings: true }, 42);
  const input = () => ({ ids: tf.tensor2d(ids, [2, 9], 'int32'), pixels: tf.tensor4d(randomArray(2 * 8 * 8 * 3, 5), [2, 8, 8, 3]), spans });
  const cpu = await gradsOn('cpu', make, input, ids);
  const wasm = await gradsOn('wasm', make, input, ids);
  compare(wasm, cpu, cpu.grads.size);
  await useBackend('cpu');
});

test('a training step (variableGrads on the loss, update, dispose) leaks no tensors', async () => {
  await useBackend('wasm');
  const m = tinyNative({ nKvHeads: 2 }, 43);
  const ids = [[0, 3, 7, 9, 4, 25]];
  const x = tf.tensor2d(ids, [1, 6], 'int32');
  const before = tf.memory().numTensors;
  const opt = tf.train.sgd(0.1);
  for (let s = 0; s < 2; s++) {
    const { value, grads } = tf.variableGrads(() => lmLoss(m.forward({ ids: x }), ids, 40));
    opt.applyGradients(grads);
    tf.dispose([value, ...Object.values(grads)]);
  }
  opt.dispose();
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
  m.dispose();
  await useBackend('cpu');
});

test('logits of one column per example (logitColumns) are differentiable on wasm and equal the full rows', async () => {
  await useBackend('wasm');
  const m = tinyNative({}, 44);
  const x = tf.tensor2d([[0, 3, 7, 9], [0, 5, 2, 2]], [2, 4], 'int32');
  const cols = [3, 1];
  const full = m.forward({ ids: x, attentionMask: [[1, 1, 1, 1], [1, 1, 0, 0]] });
  const picked = m.forward({ ids: x, attentionMask: [[1, 1, 1, 1], [1, 1, 0, 0]] }, { logitColumns: cols });
  const f = full.arraySync() as number[][][], p = picked.arraySync() as number[][][];
  for (let b = 0; b < 2; b++) for (let v = 0; v < 40; v++) assert.ok(Math.abs(f[b]![cols[b]!]![v]! - p[b]![0]![v]!) < 1e-5);
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(m.forward({ ids: x }, { logitColumns: cols }))) as tf.Scalar);
  assert.ok(Object.values(grads).every((g) => [...g.dataSync()].every(Number.isFinite)));
  tf.dispose([full, picked, value, x, ...Object.values(grads)]);
  m.dispose();
  await useBackend('cpu');
});
