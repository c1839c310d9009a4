import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.js';
import { Rng } from '../../src/util/rng.js';
import { kmeans, KMeansImageTokenizer } from '../../src/tokenizers/kmeans.js';
import { patchify, unpatchify, psnr, toUint8, type ImageBatch } from '../../src/tokenizers/image.js';
import { loadImageTokenizer } from '../../src/tokenizers/image-loader.js';

before(async () => {
  assert.equal((await initBackend('wasm')).name, 'wasm');
});

test('patchify orders patches row-major and values (row, col, channel); unpatchify inverts it', () => {
  // one 4x4 image, 1 channel, values 0..15; 2x2 patches
  const img: ImageBatch = { data: Float32Array.from({ length: 16 }, (_, i) => i), shape: [1, 4, 4, 1] };
  const p = patchify(img, 2);
  assert.deepEqual([...p], [0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15]);
  assert.deepEqual([...unpatchify(p, 1, 2, 2, 1)], [...img.data]);
  // uint8 input is scaled to [0, 1]
  assert.deepEqual([...patchify({ data: Uint8Array.from([0, 255, 51, 102]), shape: [1, 2, 2, 1] }, 2)], [0, 1, 0.2, 0.4].map(Math.fround));
});

test('psnr: hand-computed value, Infinity when identical', () => {
  const a: ImageBatch = { data: new Float32Array([0, 0, 0, 0]), shape: [1, 2, 2, 1] };
  const b: ImageBatch = { data: new Float32Array([0.1, 0.1, 0.1, 0.1]), shape: [1, 2, 2, 1] };
  assert.ok(Math.abs(psnr(a, b) - 20) < 1e-5); // mse 0.01 -> 20 dB
  assert.equal(psnr(a, a), Infinity);
});

test('k-means recovers known centres from noisy samples', async () => {
  const rng = new Rng(5);
  const K = 8, dim = 12, per = 60;
  const centres = Array.from({ length: K }, () => Float32Array.from({ length: dim }, () => rng.next()));
  const pts = new Float32Array(K * per * dim);
  for (let i = 0; i < K * per; i++) {
    const c = centres[i % K]!;
    for (let d = 0; d < dim; d++) pts[i * dim + d] = c[d]! + 0.01 * rng.normal();
  }
  const before = tf.memory().numTensors;
  const res = await kmeans(pts, dim, { numCodes: K, seed: 1 });
  assert.equal(tf.memory().numTensors, before);
  for (const c of centres) {
    let best = Infinity;
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += (res.centroids[k * dim + d]! - c[d]!) ** 2;
      best = Math.min(best, Math.sqrt(s));
    }
    assert.ok(best < 0.02, `a true centre is ${best} from the nearest fitted one`);
  }
  // all points of one true centre share one code
  for (let k = 0; k < K; k++) {
    const codes = new Set<number>();
    for (let i = k; i < K * per; i += K) codes.add(res.assignments[i]!);
    assert.equal(codes.size, 1);
  }
  assert.ok(res.meanSqDist < dim * 0.0001 * 1.5);
});

test('encode -> decode of codebook patches is exact; save / load round trip; no leaks', async () => {
  const rng = new Rng(2);
  const K = 6, p = 2, C = 3, S = 4; // 2x2 grid
  const codebook = Float32Array.from({ length: K * p * p * C }, () => rng.next());
  const tok = new KMeansImageTokenizer({ imageSize: S, channels: C, patchSize: p, numCodes: K }, codebook);
  assert.equal(tok.gridSize, 2);
  const codes = Int32Array.from([5, 0, 3, 3, 1, 2, 4, 0]); // two images
  const before = tf.memory().numTensors;
  const img = await tok.decode(codes);
  assert.deepEqual(img.shape, [2, S, S, C]);
  assert.deepEqual([...await tok.encode(img)], [...codes]);
  assert.equal(tf.memory().numTensors, before);
  // the top-left patch of image 0 is code 5's patch, row-major inside
  assert.equal(img.data[0], codebook[5 * 12]);
  assert.equal(img.data[S * C], codebook[5 * 12 + p * C]);
  assert.ok(psnr(img, toUint8(img)) > 45);

  const dir = mkdtempSync(join(tmpdir(), 'ng-km-'));
  try {
    await tok.save(dir);
    const back = await loadImageTokenizer(dir);
    assert.equal(back.type, 'narrowgate-kmeans');
    assert.deepEqual([...(await back.decode(codes)).data], [...img.data]);
    back.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await assert.rejects(tok.decode([0, 1, 2]), /not a whole number of images/);
  await assert.rejects(tok.decode([0, 1, 2, 6]), /outside \[0, 6\)/);
  await assert.rejects(tok.encode({ data: new Float32Array(8 * 8 * 3), shape: [1, 8, 8, 3] }), /expected \[B, 4, 4, 3\]/);
});

test('fit on images of a few flat colours reconstructs them exactly', async () => {
  const colours = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]];
  const B = 6, S = 8, C = 3;
  const rng = new Rng(9);
  const data = new Uint8Array(B * S * S * C);
  // each 4x4 quadrant a random flat colour
  for (let b = 0; b < B; b++) for (let qy = 0; qy < 2; qy++) for (let qx = 0; qx < 2; qx++) {
    const col = rng.pick(colours);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) for (let c = 0; c < C; c++) data[((b * S + qy * 4 + y) * S + qx * 4 + x) * C + c] = col[c]!;
  }
  const images: ImageBatch = { data, shape: [B, S, S, C] };
  const { tokenizer } = await KMeansImageTokenizer.fit(images, 4, { numCodes: 4, seed: 3 });
  const rec = await tokenizer.decode(await tokenizer.encode(images));
  assert.ok(psnr(images, rec) > 60);
});
