import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.js';
import { FrozenBackbone, defaultBackbonePath, type BackboneImages } from '../../src/model/backbone.js';

let bb: FrozenBackbone;

before(async () => {
  assert.equal((await initBackend('wasm')).name, 'wasm');
  bb = await FrozenBackbone.load();
});
after(() => bb.dispose());

/** Two 64x64 RGB scenes: a red square on black and a blue disc on white. */
function scenes(): BackboneImages {
  const S = 64;
  const data = new Uint8Array(2 * S * S * 3);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
    const a = (y * S + x) * 3, b = ((S + y) * S + x) * 3;
    if (x > 16 && x < 48 && y > 16 && y < 48) data[a] = 220;
    const inDisc = (x - 32) ** 2 + (y - 32) ** 2 < 300;
    data[b] = inDisc ? 20 : 255;
    data[b + 1] = inDisc ? 40 : 255;
    data[b + 2] = 255;
  }
  return { data, shape: [2, S, S, 3] };
}

test('the package ships the graph where we expect it', () => {
  assert.match(defaultBackbonePath(), /@vladmandic\/human\/models\/centernet\.json$/);
  assert.equal(bb.gridSize, 8);
  assert.equal(bb.numTokens, 64);
  assert.equal(bb.dim, 480);
});

test('features are [B, 64, 480], deterministic, leak-free, and differ between images', async () => {
  const imgs = scenes();
  const before = tf.memory().numTensors;
  const f1 = bb.extractFeatures(imgs);
  const f2 = bb.extractFeatures(imgs, 1); // one image per chunk: same values
  assert.deepEqual(f1.shape, [2, 64, 480]);
  const [a, b] = [(await f1.data()) as Float32Array, (await f2.data()) as Float32Array];
  tf.dispose([f1, f2]);
  assert.equal(tf.memory().numTensors, before);
  assert.ok(a.every(Number.isFinite));
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
  assert.ok(maxDiff < 1e-4, `repeated extraction differs by ${maxDiff}`);
  // image 0 vs image 1: relative distance well above numerical noise
  const n = 64 * 480;
  let d = 0, s = 0;
  for (let i = 0; i < n; i++) { d += (a[i]! - a[n + i]!) ** 2; s += a[i]! ** 2; }
  assert.ok(Math.sqrt(d / s) > 0.1, `features of different images are too close (${Math.sqrt(d / s)})`);
});

test('float [0, 1] input and grey input follow the documented conventions', async () => {
  const imgs = scenes();
  const one: BackboneImages = { data: imgs.data.subarray(0, 64 * 64 * 3), shape: [1, 64, 64, 3] };
  const asFloat: BackboneImages = { data: Float32Array.from(one.data, (v) => v / 255), shape: one.shape };
  const [fu, ff] = [bb.extractFeatures(one), bb.extractFeatures(asFloat)];
  const [u, f] = [await fu.data(), await ff.data()];
  tf.dispose([fu, ff]);
  let maxDiff = 0;
  for (let i = 0; i < u.length; i++) maxDiff = Math.max(maxDiff, Math.abs(u[i]! - f[i]!));
  assert.ok(maxDiff < 1e-3, `uint8 and float inputs differ by ${maxDiff}`);
  // a grey image equals the same image repeated over RGB
  const grey: BackboneImages = { data: Uint8Array.from({ length: 32 * 32 }, (_, i) => (i * 7) % 256), shape: [1, 32, 32, 1] };
  const rgb: BackboneImages = { data: Uint8Array.from({ length: 32 * 32 * 3 }, (_, i) => grey.data[Math.floor(i / 3)]!), shape: [1, 32, 32, 3] };
  const [fg, fr] = [bb.extractFeatures(grey), bb.extractFeatures(rgb)];
  assert.deepEqual(await fg.data(), await fr.data());
  tf.dispose([fg, fr]);
  assert.throws(() => bb.extractFeatures({ data: new Uint8Array(2 * 2 * 2), shape: [1, 2, 2, 2] }), /1 or 3 channels/);
});
