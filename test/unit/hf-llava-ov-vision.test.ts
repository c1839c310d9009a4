import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { readHfConfig, type LlavaOvHfConfig } from '../../src/hf/config.js';
import { openHfWeights } from '../../src/hf/weights.js';
import { loadHfTokenizer } from '../../src/hf/tokenizer.js';
import { readImageProcessorConfig } from '../../src/hf/processor-config.js';
import { decodeImage } from '../../src/hf/image.js';
import { bilinear, LlavaOvProjector, SiglipTower } from '../../src/hf/siglip.js';
import {
  expandLlavaPrompt, intRound7, llavaOvSpans, packPlan, preprocessLlavaOvImage, renderChat, LLAVA_IM_END,
} from '../../src/hf/llava-ov-processor.js';
import { fixtureDir, loadReference, maxAbsDiff, meanAbsDiff } from '../helpers/hf-fixtures.js';

const dir = fixtureDir('llava_onevision');

test('int(round(x, 7)) truncates after rounding to 7 decimals', () => {
  assert.equal(intRound7(2.7), 2);
  assert.equal(intRound7(2.99999999), 3);
  assert.equal(intRound7(-1.5), -1);
});

test('LLaVA-OV chat template, placeholder count, tokenizer and spans reproduce the reference', async () => {
  const ref = await loadReference('llava_onevision');
  const cfg = readHfConfig(dir) as LlavaOvHfConfig;
  const tok = loadHfTokenizer(dir);
  for (const c of ['a', 'b']) {
    const cs = ref.json.cases[c];
    const prompt = renderChat(cs.messages, true);
    assert.equal(prompt, cs.prompt);
    const sizes = Array.from(ref.get(c, 'image_sizes').data) as [number, number];
    const plan = packPlan(sizes, cfg.gridPinpoints, cfg.vision.imageSize, cfg.vision.patchSize, cfg.maxNumPatches);
    assert.equal(plan.numTokens, cs.num_image_tokens);
    assert.deepEqual(Array.from(plan.layout), Array.from(ref.get(c, 'image_feature_layout').data));
    const ids = tok.encode(expandLlavaPrompt(prompt, [plan.numTokens]));
    assert.deepEqual(ids, cs.input_ids);
    const s = llavaOvSpans(ids, cfg.imageTokenId, tok.requireId(LLAVA_IM_END), plan);
    assert.deepEqual(s.image, cs.image_span);
    assert.deepEqual(s.imageMarkers, cs.image_newline_positions);
    assert.equal(s.eoi, cs.eoi_position);
    assert.equal(s.bos, null);
  }
});

test('LLaVA-OV two-crop preprocessing is close to the PIL pixel_values', async () => {
  const ref = await loadReference('llava_onevision');
  const cfg = readHfConfig(dir) as LlavaOvHfConfig;
  const ipc = readImageProcessorConfig(dir);
  for (const c of ['a', 'b']) {
    const cs = ref.json.cases[c];
    const img = await decodeImage(join(dir, cs.image_file));
    const out = preprocessLlavaOvImage(img, ipc, ipc.gridPinpoints ?? cfg.gridPinpoints);
    assert.deepEqual(out.imageSizeHW, Array.from(ref.get(c, 'image_sizes').data));
    assert.deepEqual(out.fittedHW, cs.preprocess.crop1_resized_hw);
    assert.deepEqual(out.pad, cs.preprocess.crop1_pad_top_bottom_left_right);
    const r = ref.get(c, 'pixel_values').data;
    const level = 2 / 255;
    assert.ok(meanAbsDiff(out.pixels, r) < level / 10, `case ${c} mean`);
    assert.ok(maxAbsDiff(out.pixels, r) <= level * 1.01, `case ${c} max`);
  }
});

test('SigLIP tower, projector and packing match vision_hidden_states, projector_output, image_features', async () => {
  assert.equal(await tf.setBackend('wasm'), true);
  const ref = await loadReference('llava_onevision');
  const cfg = readHfConfig(dir) as LlavaOvHfConfig;
  const w = await openHfWeights(dir);
  const tower = await SiglipTower.load(w, cfg.vision);
  const proj = await LlavaOvProjector.load(w, cfg, cfg.vision.hiddenSize);
  await w.close();
  const before = tf.memory().numTensors;
  for (const c of ['a', 'b']) {
    const pv = ref.get(c, 'pixel_values');
    const pix = tf.tensor4d(pv.data as Float32Array, pv.shape as [number, number, number, number]);
    const hs = tower.forward(pix);
    const refHs = ref.get(c, 'vision_hidden_states');
    const stacked = tf.stack(hs);
    assert.deepEqual(stacked.shape, refHs.shape);
    const dh = maxAbsDiff(await stacked.data(), refHs.data);
    assert.ok(dh <= 1e-4, `${c} vision_hidden_states ${dh}`);
    const projected = proj.project(hs[hs.length - 1] as tf.Tensor3D) as tf.Tensor3D;
    const dp = maxAbsDiff(await projected.data(), ref.get(c, 'projector_output').data);
    assert.ok(dp <= 1e-4, `${c} projector_output ${dp}`);
    const sizes = Array.from(ref.get(c, 'image_sizes').data) as [number, number];
    const plan = packPlan(sizes, cfg.gridPinpoints, cfg.vision.imageSize, cfg.vision.patchSize, cfg.maxNumPatches);
    const packed = proj.pack(projected, plan);
    const df = maxAbsDiff(await packed.data(), ref.get(c, 'image_features').data);
    assert.ok(df <= 1e-4, `${c} image_features ${df}`);
    tf.dispose([pix, stacked, projected, packed, ...hs]);
  }
  assert.equal(tf.memory().numTensors, before);
  tower.dispose();
  proj.dispose();
});

test('pack plan with several pinpoints: best resolution, two tiles side by side, unpadding and layout (hand-computed)', () => {
  const pins: [number, number][] = [[32, 32], [32, 64], [64, 32], [64, 64]];
  // 40 x 90 (h, w): (32,64) and (64,64) both keep 64x28 pixels; (32,64) wastes less
  const plan = packPlan([40, 90], pins, 32, 8, 9);
  assert.deepEqual(plan.tileGrid, [1, 2]);
  // ratio 90/40 > 8/4: new height int(round(40 * 8/90, 7)) = 3, cut (4 - 3) // 2 = 0 rows
  assert.deepEqual(plan.keep, [0, 4, 0, 8]);
  assert.equal(plan.numTokens, 16 + 4 * (8 + 1));
  const row = (i: number) => Array.from(plan.layout.subarray(i * 3, i * 3 + 3));
  assert.deepEqual(row(16), [1, 0, 0]);
  assert.deepEqual(row(16 + 4), [2, 0, 0]);
  assert.deepEqual(row(16 + 8), [-1, -1, -1]);
  assert.deepEqual(row(16 + 9 + 7), [2, 1, 3]);
  // a tall image in a square pinpoint keeps the middle columns
  const tall = packPlan([100, 30], [[32, 32]], 32, 8, 9);
  assert.deepEqual(tall.keep, [0, 4, 1, 3]); // int(round(30 * 4/100, 7)) = 1 -> cut (4-1)//2 = 1 from both ends
  assert.equal(tall.downsampled, false);
});

test('anyres_max_N downsampling: plan size and torch-style bilinear (align_corners=False) weights', async () => {
  assert.equal(await tf.setBackend('wasm'), true);
  const plan = packPlan([128, 128], [[128, 128]], 32, 8, 1);
  assert.deepEqual(plan.tileGrid, [4, 4]);
  assert.equal(plan.downsampled, true); // sqrt(16*16 / (1 * 4*4)) = 4 > 1.1
  assert.deepEqual(plan.outHW, [4, 4]);
  assert.equal(plan.numTokens, 16 + 4 * 5);
  // 3 rows -> 2: source rows 0.25 and 1.75; 2 cols -> 1: source col 0.5
  const x = tf.tensor3d([1, 2, 10, 20, 100, 200], [3, 2, 1]);
  const y = bilinear(x, 2, 1);
  const got = Array.from(await y.data());
  const r0 = 0.75 * 1.5 + 0.25 * 15;
  const r1 = 0.25 * 15 + 0.75 * 150;
  assert.ok(Math.abs((got[0] as number) - r0) < 1e-5 && Math.abs((got[1] as number) - r1) < 1e-4, `${got}`);
  tf.dispose([x, y]);
});
