import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { AdamW, clipByGlobalNorm, GradAccumulator, globalNorm, disposeGrads } from '../../src/training/optimizer.js';
import { learningRate } from '../../src/training/schedule.js';

before(async () => {
  assert.equal(await tf.setBackend('cpu'), true);
});

/** A variable whose initial tensor is not left behind. */
function vari(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t);
  t.dispose();
  return v;
}

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-5): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs((actual[i] as number) - (expected[i] as number)) <= tol, `index ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

test('warmup + cosine schedule matches hand-computed values', () => {
  const cfg = { lr: 1, warmup: 10, total: 110, minLrRatio: 0.1 };
  close([learningRate(cfg, 0)], [0.1]);
  close([learningRate(cfg, 4)], [0.5]);
  close([learningRate(cfg, 9)], [1.0]);
  close([learningRate(cfg, 10)], [1.0]);
  // progress 0.25: 0.1 + 0.45 (1 + cos(pi/4)) = 0.1 + 0.45 * 1.70710678
  close([learningRate(cfg, 35)], [0.868198]);
  // progress 0.5: halfway between peak and floor
  close([learningRate(cfg, 60)], [0.55]);
  close([learningRate(cfg, 110)], [0.1]);
  close([learningRate(cfg, 500)], [0.1]);
  // no warmup starts at the peak
  close([learningRate({ lr: 2e-3, warmup: 0, total: 100, minLrRatio: 0 }, 0)], [2e-3], 1e-12);
});

test('AdamW: two updates on a 2-parameter problem match the hand computation', () => {
  const before = tf.memory().numTensors;
  const w = vari(tf.tensor2d([[1, -1]]));
  const b = vari(tf.tensor1d([0.5]));
  const opt = new AdamW(
    [{ name: 'w', variable: w, decay: true }, { name: 'b', variable: b, decay: false }],
    { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 },
  );
  const g1 = new Map<string, tf.Tensor>([['w', tf.tensor2d([[0.5, -2]])], ['b', tf.tensor1d([0.3])]]);
  opt.apply(g1, 0.1);
  // step 1: m_hat = g, v_hat = g^2 -> update = sign(g); w = w (1 - lr wd) - lr sign(g)
  close(w.dataSync(), [0.99 - 0.1, -0.99 + 0.1]);
  close(b.dataSync(), [0.5 - 0.1]); // no decay on b
  const g2 = new Map<string, tf.Tensor>([['w', tf.tensor2d([[0.5, 1]])], ['b', tf.tensor1d([0.3])]]);
  opt.apply(g2, 0.1);
  // step 2, second weight: m = 0.9(-0.2) + 0.1(1) = -0.08, v = 0.999(0.004) + 0.001(1) = 0.004996,
  // m_hat = -0.08 / 0.19 = -0.4210526, v_hat = 0.004996 / 0.001999 = 2.4992496, update = -0.2663389
  // first weight: m_hat = 0.095 / 0.19 = 0.5, v_hat = 0.00049975 / 0.001999 = 0.25, update = 1
  close(w.dataSync(), [0.89 * 0.99 - 0.1, -0.89 * 0.99 + 0.02663389]);
  close(b.dataSync(), [0.4 - 0.1]);
  assert.equal(opt.step, 2);
  disposeGrads(g1);
  disposeGrads(g2);
  opt.dispose();
  w.dispose();
  b.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('AdamW state round-trips exactly: a restored optimizer takes the identical next step', async () => {
  const before = tf.memory().numTensors;
  const cfg = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
  const w1 = vari(tf.tensor2d([[0.3, -0.7], [1.1, 0.2]]));
  const opt1 = new AdamW([{ name: 'w', variable: w1, decay: true }], cfg);
  const grads = [[[0.1, 0.2], [-0.3, 0.4]], [[0.5, -0.1], [0.2, 0.05]], [[-0.2, 0.3], [0.1, -0.6]]].map(
    (g) => new Map([['w', tf.tensor2d(g)]]),
  );
  opt1.apply(grads[0]!, 0.01);
  opt1.apply(grads[1]!, 0.02);
  const state = await opt1.getState();
  const w2 = vari(tf.tensor2d(Array.from(w1.dataSync()), [2, 2]));
  const opt2 = new AdamW([{ name: 'w', variable: w2, decay: true }], cfg);
  opt2.setState(state);
  assert.equal(opt2.step, 2);
  opt1.apply(grads[2]!, 0.03);
  opt2.apply(grads[2]!, 0.03);
  assert.deepEqual(Array.from(w1.dataSync()), Array.from(w2.dataSync()));
  // a state for other parameters is refused with a message naming the key
  const w3 = vari(tf.zeros([2, 2]));
  const opt3 = new AdamW([{ name: 'other', variable: w3, decay: true }], cfg);
  assert.throws(() => opt3.setState(state), /"m\.other"/);
  for (const g of grads) disposeGrads(g);
  for (const o of [opt1, opt2, opt3]) o.dispose();
  for (const v of [w1, w2, w3]) v.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('clipping by global norm: norm 5 clipped to 1 scales every gradient by 1/5', () => {
  const before = tf.memory().numTensors;
  const grads = new Map<string, tf.Tensor>([['a', tf.tensor1d([3])], ['b', tf.tensor2d([[0, 4]])]]);
  const n = globalNorm(grads);
  close(n.dataSync(), [5]);
  n.dispose();
  const { grads: clipped, norm } = clipByGlobalNorm(grads, 1);
  close(norm.dataSync(), [5]);
  close(clipped.get('a')!.dataSync(), [0.6]);
  close(clipped.get('b')!.dataSync(), [0, 0.8]);
  const { grads: same, norm: norm2 } = clipByGlobalNorm(grads, 10);
  close(same.get('a')!.dataSync(), [3]);
  close(same.get('b')!.dataSync(), [0, 4]);
  for (const g of [clipped, same, grads]) disposeGrads(g);
  norm.dispose();
  norm2.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('gradient accumulation hands out the mean of the micro-batch gradients', () => {
  const before = tf.memory().numTensors;
  const acc = new GradAccumulator();
  const g1 = new Map<string, tf.Tensor>([['w', tf.tensor1d([1, 2])]]);
  const g2 = new Map([['w', tf.tensor1d([3, 6])]]);
  acc.add(g1);
  acc.add(g2);
  assert.equal(acc.size, 2);
  const mean = acc.take();
  close(mean.get('w')!.dataSync(), [2, 4]);
  assert.equal(acc.size, 0);
  acc.add(g1);
  const single = acc.take();
  close(single.get('w')!.dataSync(), [1, 2]);
  for (const g of [g1, g2, mean, single]) disposeGrads(g);
  acc.dispose();
  assert.equal(tf.memory().numTensors, before);
});
