import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { configDiff, loadCheckpoint, saveCheckpoint } from '../../src/model/checkpoint.js';
import { encodeSafetensors } from '../../src/model/safetensors.js';
import { WordTokenizer } from '../../src/tokenizers/word.js';
import { KMeansImageTokenizer } from '../../src/tokenizers/kmeans.js';
import { loadImageTokenizer } from '../../src/tokenizers/image-loader.js';
import { UserError } from '../../src/util/errors.js';

await tf.setBackend('cpu');

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'ng-ckpt-'));
}

/** Raw safetensors bytes from a header object and a data section. */
function rawSafetensors(header: unknown, data: Uint8Array, headerLen?: bigint): Uint8Array {
  const h = Buffer.from(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLen ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

test('save -> load round trip: every file, values, sha256, no leaked tensors, atomic replace', async () => {
  const root = tmp();
  const dir = join(root, 'ckpt');
  try {
    const w = tf.variable(tf.tensor2d([[1, 2, 3], [4, 5, 6]]));
    const b = tf.tensor1d([0.5, -0.25]);
    const tok = WordTokenizer.build(['a red circle']);
    const img = new KMeansImageTokenizer({ imageSize: 4, channels: 1, patchSize: 2, numCodes: 2 }, Float32Array.from({ length: 8 }, (_, i) => i / 8));
    const config = { family: 'native', decoder: { dModel: 4 } };
    const before = tf.memory().numTensors;
    const { sha256 } = await saveCheckpoint(dir, {
      params: new Map<string, tf.Tensor | { shape: number[]; data: Float32Array }>([['blocks.0.w', w], ['blocks.0.b', b], ['plain', { shape: [1], data: new Float32Array([7]) }]]),
      config, tokenizer: tok, recipe: 'name: x\n', metrics: [{ step: 1, loss: 2.5 }, { step: 2, loss: 2 }], card: '# card\n', imageTokenizer: img,
    });
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(readdirSync(dir).sort(), ['README.md', 'config.json', 'image_tokenizer', 'metrics.jsonl', 'model.safetensors', 'recipe.resolved.yaml', 'tokenizer.json']);
    assert.equal(sha256, createHash('sha256').update(readFileSync(join(dir, 'model.safetensors'))).digest('hex'));
    assert.equal(readFileSync(join(dir, 'metrics.jsonl'), 'utf8'), '{"step":1,"loss":2.5}\n{"step":2,"loss":2}\n');

    const ck = await loadCheckpoint(dir, { expected: new Map([['blocks.0.w', [2, 3]], ['blocks.0.b', [2]], ['plain', [1]]]), expectConfig: config });
    assert.deepEqual(ck.config, config);
    assert.deepEqual([...ck.tensors.get('blocks.0.w')!.data], [1, 2, 3, 4, 5, 6]);
    assert.deepEqual([...ck.tensors.get('blocks.0.b')!.data], [0.5, -0.25]);
    assert.equal(ck.sha256, sha256);
    assert.equal(ck.metadata.producer, 'narrowgate');
    assert.deepEqual(ck.tokenizer!.words, tok.words);
    assert.equal(ck.recipe, 'name: x\n');
    const img2 = await loadImageTokenizer(ck.imageTokenizerDir!);
    assert.deepEqual([...(await img2.decode([1, 0, 0, 1])).data], [...(await img.decode([1, 0, 0, 1])).data]);

    // saving again replaces the directory whole and leaves no temporary siblings
    await saveCheckpoint(dir, { params: new Map([['only', { shape: [1], data: new Float32Array([1]) }]]), config: {} });
    assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'model.safetensors']);
    assert.deepEqual(readdirSync(root), ['ckpt']);
    w.dispose();
    b.dispose();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a weights/model mismatch names every missing, unexpected and mis-shaped tensor in one error', async () => {
  const dir = tmp();
  try {
    const f = (n: number): Float32Array => new Float32Array(n);
    await saveCheckpoint(dir, {
      params: new Map([['a', { shape: [2, 2], data: f(4) }], ['b', { shape: [3], data: f(3) }], ['extra1', { shape: [1], data: f(1) }], ['extra2', { shape: [1], data: f(1) }]]),
      config: { family: 'native' },
    });
    const expected = new Map([['a', [2, 2]], ['b', [4]], ['c', [1]], ['d', [2]]]);
    await assert.rejects(loadCheckpoint(dir, { expected }), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /missing c, d; unexpected extra1, extra2; wrong shape b \[3\] \(expected \[4\]\)/);
      return true;
    });
    await assert.rejects(loadCheckpoint(dir, { expectConfig: { family: 'adapter' } }), /family: "native" \(expected "adapter"\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('F16 and BF16 weights are read as float32; integer weights are reported as the wrong dtype', async () => {
  const dir = tmp();
  try {
    writeFileSync(join(dir, 'config.json'), '{}');
    // F16 1, -2, 0.5 = 0x3C00 0xC000 0x3800; BF16 1, -2, 0.5 = 0x3F80 0xC000 0x3F00 (little-endian)
    const data = Uint8Array.from([0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38, 0x80, 0x3f, 0x00, 0xc0, 0x00, 0x3f, 1, 0, 0, 0]);
    const header = {
      h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] },
      bf: { dtype: 'BF16', shape: [3], data_offsets: [6, 12] },
      i: { dtype: 'I32', shape: [1], data_offsets: [12, 16] },
    };
    writeFileSync(join(dir, 'model.safetensors'), rawSafetensors(header, data));
    const ck = await loadCheckpoint(dir);
    assert.deepEqual([...ck.tensors.get('h')!.data], [1, -2, 0.5]);
    assert.deepEqual([...ck.tensors.get('bf')!.data], [1, -2, 0.5]);
    await assert.rejects(loadCheckpoint(dir, { expected: new Map([['h', [3]], ['bf', [3]], ['i', [1]]]) }), /wrong dtype i I32 \(expected a float type\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hostile or broken safetensors files fail with one sentence', async () => {
  const dir = tmp();
  try {
    writeFileSync(join(dir, 'config.json'), '{}');
    const good = encodeSafetensors([{ name: 'w', shape: [4], data: new Float32Array([1, 2, 3, 4]) }]);
    const cases: [string, Uint8Array, RegExp][] = [
      ['zero-byte file', new Uint8Array(0), /has 0 bytes, fewer than the 8-byte header length/],
      ['huge header length', rawSafetensors({}, new Uint8Array(0), 1n << 60n), /header claims \d+ bytes, more than the \d+-byte limit/],
      ['header longer than the file', rawSafetensors({}, new Uint8Array(0), 5000n), /header claims 5000 bytes but the file has only/],
      ['offsets out of range', rawSafetensors({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(8)), /ends at byte 16 of the data section but the file holds only 8 \(truncated\?\)/],
      ['offsets not matching the shape', rawSafetensors({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 12] } }, new Uint8Array(16)), /spans 12 bytes but shape \[4\] of F32 needs 16/],
      ['unknown dtype', rawSafetensors({ w: { dtype: 'Q4', shape: [4], data_offsets: [0, 2] } }, new Uint8Array(2)), /unsupported dtype "Q4"/],
      ['truncated file', good.subarray(0, good.length - 3), /truncated/],
      ['header not JSON', rawSafetensors({}, new Uint8Array(0)).map((v, i) => (i === 8 ? 0x7b + 1 : v)), /header is not valid UTF-8 JSON/],
    ];
    for (const [what, bytes, re] of cases) {
      writeFileSync(join(dir, 'model.safetensors'), bytes);
      await assert.rejects(loadCheckpoint(dir), (e: unknown) => {
        assert.ok(e instanceof UserError, `${what}: not a UserError`);
        assert.match(e.message, re, what);
        assert.match(e.message, /^[^\n]+\.$/, `${what}: expected one sentence, got ${e.message}`);
        return true;
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad checkpoint directories give clear errors', async () => {
  const dir = tmp();
  try {
    await assert.rejects(loadCheckpoint(join(dir, 'nope')), /does not exist or is not a directory/);
    mkdirSync(join(dir, 'c'));
    await assert.rejects(loadCheckpoint(join(dir, 'c')), /not a complete checkpoint: config\.json is missing/);
    writeFileSync(join(dir, 'c', 'config.json'), '{}');
    await assert.rejects(loadCheckpoint(join(dir, 'c')), /model\.safetensors is missing/);
    writeFileSync(join(dir, 'c', 'model.safetensors'), encodeSafetensors([]));
    writeFileSync(join(dir, 'c', 'config.json'), '{"family":');
    await assert.rejects(loadCheckpoint(join(dir, 'c')), /config\.json is not valid JSON/);
    unlinkSync(join(dir, 'c', 'config.json'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('configDiff lists differing paths', () => {
  assert.deepEqual(configDiff({ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 3] }, d: true }), ['b.c.1: 3 (expected 2)', 'd is not expected (true)']);
  assert.deepEqual(configDiff({ a: [1] }, { a: [1] }), []);
  assert.deepEqual(configDiff({ a: 1, b: 2 }, { a: 1 }), ['b is missing (expected 2)']);
});
