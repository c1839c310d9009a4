import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.js';
import { Rng } from '../../src/util/rng.js';
import { VqVae, vqvaeShapes } from '../../src/tokenizers/vqvae.js';
import { loadImageTokenizer } from '../../src/tokenizers/image-loader.js';
import { encodeSafetensors } from '../../src/model/safetensors.js';
import type { ImageBatch } from '../../src/tokenizers/image.js';

before(async () => {
  assert.equal((await initBackend('wasm')).name, 'wasm');
});

/** 8x8 RGB images made of 4x4 flat-coloured quadrants (a few colours). */
function quadrantImages(n: number, seed: number): ImageBatch {
  const rng = new Rng(seed);
  const colours = [[230, 20, 20], [20, 200, 40], [30, 30, 220], [240, 240, 240], [10, 10, 10]];
  const S = 8, C = 3;
  const data = new Uint8Array(n * S * S * C);
  for (let b = 0; b < n; b++) for (let q = 0; q < 4; q++) {
    const col = rng.pick(colours);
    const qy = q >> 1, qx = q & 1;
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) for (let c = 0; c < C; c++) data[((b * S + qy * 4 + y) * S + qx * 4 + x) * C + c] = col[c]!;
  }
  return { data, shape: [n, S, S, C] };
}

const config = { imageSize: 8, channels: 3, patchSize: 4, numCodes: 8, hidden: 32, latentDim: 8, lr: 3e-3, seed: 1 };

for (const ema of [false, true]) {
  test(`VQ-VAE (${ema ? 'EMA codebook' : 'codebook loss'}): loss goes down on tiny data, train step leaks nothing`, async () => {
    const images = quadrantImages(16, 4);
    const vq = VqVae.create({ ...config, ema });
    try {
      await vq.initCodebookFromData(images, 2);
      const cb0 = (await vq.weights()).get('codebook')!;
      const first = vq.trainStep(images);
      const l0 = (await first.data())[0]!;
      first.dispose();
      const before = tf.memory().numTensors;
      for (let i = 0; i < (ema ? 40 : 8); i++) vq.trainStep(images).dispose();
      assert.equal(tf.memory().numTensors, before, 'trainStep leaked tensors');
      const last = vq.trainStep(images);
      const l1 = (await last.data())[0]!;
      last.dispose();
      assert.ok(Number.isFinite(l0) && l1 < (ema ? 0.5 : 0.8) * l0, `loss went from ${l0} to ${l1}`);
      const cb1 = (await vq.weights()).get('codebook')!;
      assert.ok(cb1.some((v, i) => v !== cb0[i]), 'the codebook never moved');
    } finally {
      vq.dispose();
    }
  });
}

test('EMA dead-code restart moves an unused code onto an encoder output (and only when enabled)', async () => {
  const images = quadrantImages(4, 3);
  const far = async (deadCodeThreshold: number): Promise<number> => {
    const cfg = { ...config, deadCodeThreshold };
    const base = VqVae.create(cfg);
    const w = await base.weights();
    base.dispose();
    // code 0 far away from every latent: never chosen, so its usage decays below 1 after one step
    for (const name of ['codebook', 'ema.embed_sum']) w.get(name)!.fill(100, 0, config.latentDim);
    const tensors = new Map([...vqvaeShapes(cfg)].map(([k, shape]) => [k, { dtype: 'F32' as const, shape, data: w.get(k)! }]));
    const vq = VqVae.fromWeights(cfg, tensors, 'test');
    try {
      vq.trainStep(images).dispose();
      const cb = (await vq.weights()).get('codebook')!;
      return Math.max(...cb.subarray(0, config.latentDim).map(Math.abs));
    } finally {
      vq.dispose();
    }
  };
  assert.ok((await far(0)) > 90, 'without restarts the unused code stays put');
  assert.ok((await far(1)) < 20, 'with restarts the unused code moves onto the data');
});

test('VQ-VAE (gradient codebook) encode / decode shapes, no leaks, save -> load gives identical codes and pixels', async () => {
  const images = quadrantImages(4, 7);
  const vq = VqVae.create({ ...config, ema: false });
  const dir = mkdtempSync(join(tmpdir(), 'ng-vq-'));
  try {
    await vq.fit(images, { steps: 5, batchSize: 4, logEvery: 5 });
    const before = tf.memory().numTensors;
    const codes = await vq.encode(images);
    const rec = await vq.decode(codes);
    assert.equal(tf.memory().numTensors, before);
    assert.equal(codes.length, 4 * 4);
    assert.ok(codes.every((c) => c >= 0 && c < 8));
    assert.deepEqual(rec.shape, [4, 8, 8, 3]);
    assert.ok((rec.data as Float32Array).every((v) => v >= 0 && v <= 1));

    await vq.save(dir);
    const back = await loadImageTokenizer(dir);
    try {
      assert.equal(back.type, 'narrowgate-vqvae');
      assert.deepEqual([...await back.encode(images)], [...codes]);
      assert.deepEqual([...(await back.decode(codes)).data], [...rec.data]);
    } finally {
      back.dispose();
    }
    // weights that do not fit the config: every problem named in one error
    writeFileSync(join(dir, 'image_tokenizer.safetensors'), encodeSafetensors([{ name: 'codebook', shape: [8, 4], data: new Float32Array(32) }]));
    await assert.rejects(loadImageTokenizer(dir), (e: Error) => /enc\.w1 is missing/.test(e.message) && /codebook is F32 \[8,4\], expected float \[8,8\]/.test(e.message) && /dec\.b2 is missing/.test(e.message));
    writeFileSync(join(dir, 'image_tokenizer.json'), JSON.stringify({ type: 'pixelcnn', version: 1, imageSize: 8, channels: 3, patchSize: 4, numCodes: 8 }));
    await assert.rejects(loadImageTokenizer(dir), /"type" is "pixelcnn"/);
  } finally {
    vq.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
