import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hfCheckpointInfo, describeHfCheckpoint } from '../../src/hf/info.js';
import { readHfConfig } from '../../src/hf/config.js';
import { fixtureDir, loadReference } from '../helpers/hf-fixtures.js';

test('info on the Chameleon folder reports sizes, dtype, memory and the special ids of reference.json', async () => {
  const ref = await loadReference('chameleon');
  const i = await hfCheckpointInfo(fixtureDir('chameleon'));
  const s = ref.json.config_summary;
  assert.equal(i.family, 'chameleon');
  assert.deepEqual([i.decoder.layers, i.decoder.dModel, i.decoder.heads, i.decoder.kvHeads, i.decoder.headDim, i.decoder.vocabSize],
    [s.num_hidden_layers, s.hidden_size, s.num_attention_heads, s.num_key_value_heads, s.head_dim, s.vocab_size]);
  assert.deepEqual(i.weights.dtypes, ['F32']);
  assert.equal(i.weights.float32Bytes, i.weights.bytesOnDisk);
  for (const k of ['bos', 'pad', 'eos', 'boi', 'eoi', 'sep', 'image']) assert.equal(i.specialTokens[k], ref.json.special_token_ids[k], k);
  assert.deepEqual(i.vision.imageCodeIds, ref.json.image_code_token_ids);
  assert.equal(i.imageTokensPerImage, s.image_seq_length);
  assert.equal(i.layerByLayerOnWasm, false);
  const bf = await hfCheckpointInfo(fixtureDir('chameleon'), 'model.bf16.safetensors');
  assert.deepEqual(bf.weights.dtypes, ['BF16']);
  assert.equal(bf.weights.float32Bytes, 2 * bf.weights.bytesOnDisk);
  assert.match(describeHfCheckpoint(i), /eoi=68|eoi=\d+/);
});

test('info on the LLaVA-OneVision folder reports the Qwen2 ids and the tokenizer / vocab size gap', async () => {
  const ref = await loadReference('llava_onevision');
  const i = await hfCheckpointInfo(fixtureDir('llava_onevision'));
  const t = ref.json.config_summary.text;
  assert.equal(i.family, 'llava_onevision');
  assert.equal(i.decoder.vocabSize, t.vocab_size);
  assert.equal(i.decoder.tokenizerSize, t.tokenizer_size);
  assert.equal(i.decoder.tiedEmbeddings, true);
  const sp = ref.json.special_token_ids;
  assert.equal(i.specialTokens.im_end, sp.im_end);
  assert.equal(i.specialTokens.im_start, sp.im_start);
  assert.equal(i.specialTokens.image, sp.image);
  assert.equal(i.vision.tokensPerCrop, ref.json.config_summary.num_image_tokens_per_crop);
});

test('config reader: rope_parameters and unsupported model types', () => {
  const c = readHfConfig(fixtureDir('llava_onevision'));
  assert.equal(c.decoder.ropeTheta, 1000000);
  assert.throws(() => readHfConfig(fixtureDir('llava_onevision') + '/nonexistent'), /config\.json/);
});
