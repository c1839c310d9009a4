import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readHfConfig, type ChameleonHfConfig } from '../../src/hf/config.js';
import { loadHfTokenizer } from '../../src/hf/tokenizer.js';
import { readImageProcessorConfig, readProcessorConfig } from '../../src/hf/processor-config.js';
import { decodeImage } from '../../src/hf/image.js';
import {
  CHAMELEON_BOI, CHAMELEON_EOI, CHAMELEON_IMAGE, chameleonSpans, expandChameleonPrompt, preprocessChameleonImage,
} from '../../src/hf/chameleon-processor.js';
import { fixtureDir, loadReference, maxAbsDiff, meanAbsDiff } from '../helpers/hf-fixtures.js';

const dir = fixtureDir('chameleon');

test('Chameleon prompt expansion + tokenizer.json reproduce input_ids and positions exactly', async () => {
  const ref = await loadReference('chameleon');
  const tok = loadHfTokenizer(dir);
  const cfg = readHfConfig(dir) as ChameleonHfConfig;
  const n = readProcessorConfig(dir).image_seq_length as number;
  assert.equal(n, ref.json.config_summary.image_seq_length);
  const sp = { bos: cfg.bosId, boi: tok.requireId(CHAMELEON_BOI), eoi: tok.requireId(CHAMELEON_EOI), image: tok.requireId(CHAMELEON_IMAGE) };
  assert.equal(sp.boi, ref.json.special_token_ids.boi);
  assert.equal(sp.eoi, ref.json.special_token_ids.eoi);
  for (const c of ['a', 'b']) {
    const cs = ref.json.cases[c];
    const ids = tok.encode(expandChameleonPrompt(cs.prompt, n, cs.mode));
    assert.deepEqual(ids, cs.input_ids, `case ${c}`);
    assert.deepEqual(ids, Array.from(ref.get(c, 'input_ids').data));
    const s = chameleonSpans(ids, sp);
    assert.equal(s.bos, cs.bos_position);
    assert.equal(s.boi, cs.boi_position);
    assert.deepEqual(s.image, cs.image_span);
    assert.equal(s.eoi, cs.eoi_position);
    assert.equal(s.length, cs.seq_len);
  }
});

test('Chameleon preprocessing (RGBA on white, Lanczos, crop, x*0.0078-1) is close to the PIL pixel_values', async () => {
  const ref = await loadReference('chameleon');
  const ipc = readImageProcessorConfig(dir);
  for (const c of ['a', 'b']) {
    const cs = ref.json.cases[c];
    const img = await decodeImage(join(dir, cs.image_file));
    assert.deepEqual([img.height, img.width], cs.image_size_hw);
    const out = preprocessChameleonImage(img, ipc);
    assert.deepEqual(out.resizedHW, cs.preprocess.resized_hw);
    assert.deepEqual(out.cropTopLeft, cs.preprocess.crop_top_left);
    const refPix = ref.get(c, 'pixel_values').data;
    const levels = 0.0078; // one grey level after rescaling
    const mean = meanAbsDiff(out.pixels, refPix);
    const max = maxAbsDiff(out.pixels, refPix);
    assert.ok(mean < levels / 10, `case ${c}: mean abs diff ${mean} (${mean / levels} levels)`);
    assert.ok(max <= levels * 1.01, `case ${c}: max abs diff ${max}`);
  }
});
