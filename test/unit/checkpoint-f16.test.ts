import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadModel, saveModel } from '../../src/model/checkpoint.js';
import { floatToHalf, halfToFloat, readSafetensors } from '../../src/model/safetensors.js';
import type { VLModel } from '../../src/model/model.js';
import type { Spans } from '../../src/model/spans.js';
import { WordTokenizer } from '../../src/tokenizers/word.js';
import { tinyNative, useBackend } from '../helpers/tiny.js';

await useBackend('cpu');

// Every positive finite half value in increasing order: the reference rounding below searches it.
const HALVES = Array.from({ length: 0x7c00 }, (_, h) => halfToFloat(h));

/** Nearest F16 value by search over the table (ties to the even bit pattern): independent of floatToHalf. */
function refRound(x: number): number {
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Infinity; // 65504 + half an ulp (16) rounds up to infinity
  let lo = 0, hi = HALVES.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (HALVES[mid]! <= a) lo = mid;
    else hi = mid;
  }
  const dl = a - HALVES[lo]!, dh = HALVES[hi]! - a;
  const h = dl < dh ? lo : dh < dl ? hi : lo % 2 === 0 ? lo : hi;
  return (x < 0 || Object.is(x, -0) ? -1 : 1) * HALVES[h]!;
}

test('floatToHalf: every finite half round-trips; known values; ties to even; overflow to infinity', () => {
  for (let h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) continue; // NaN payloads
    assert.equal(floatToHalf(halfToFloat(h)), h, `half 0x${h.toString(16)}`);
  }
  assert.equal(floatToHalf(1), 0x3c00);
  assert.equal(floatToHalf(-2), 0xc000);
  assert.equal(floatToHalf(1 / 3), 0x3555);
  assert.equal(floatToHalf(65504), 0x7bff);
  assert.equal(floatToHalf(65519), 0x7bff);
  assert.equal(floatToHalf(65520), 0x7c00);
  assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00, 'tie between 0x3c00 and 0x3c01 goes to the even one');
  assert.equal(floatToHalf(1 + 3 * 2 ** -11), 0x3c02, 'tie between 0x3c01 and 0x3c02 goes to the even one');
  assert.equal(floatToHalf(2 ** -25), 0, 'half the smallest subnormal ties to zero');
  assert.equal(floatToHalf(1.5 * 2 ** -24), 2, 'a subnormal tie goes to the even one');
  assert.ok(Number.isNaN(halfToFloat(floatToHalf(NaN))));
  for (let i = 0; i < 20000; i++) {
    const x = Math.fround(Math.sinh((i * 0.7919) % 12 - 6) * (i % 2 ? 1 : -1) * 1e-3 ** (i % 3));
    assert.equal(halfToFloat(floatToHalf(x)), refRound(x), `x = ${x}`);
  }
});

const IDS = [0, 3, 2, 2, 2, 2, 4, 25, 30];
const SPANS: Spans = { length: 9, bos: 0, boi: 1, image: [2, 6], eoi: 6 };

async function logitsOf(model: VLModel): Promise<Float32Array> {
  const ids = tf.tensor2d([IDS], [1, IDS.length], 'int32');
  const out = model.forward({ ids, spans: [SPANS] });
  const data = (await out.data()) as Float32Array;
  tf.dispose([ids, out]);
  return data;
}

test('saveModel with dtype F16: half the bytes, F16 tensors, and the loaded model gives the logits of the F16-rounded weights', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ng-f16-'));
  const model = tinyNative({}, 7);
  const rounded = tinyNative({}, 7);
  try {
    const tok = WordTokenizer.build(['a red circle']);
    const before = tf.memory().numTensors;
    await saveModel(join(dir, 'f32'), model, { tokenizer: tok });
    await saveModel(join(dir, 'f16'), model, { tokenizer: tok, dtype: 'F16' });
    assert.equal(tf.memory().numTensors, before);
    const size = (d: string) => statSync(join(dir, d, 'model.safetensors')).size;
    assert.ok(size('f16') < 0.55 * size('f32') && size('f16') > 0.45 * size('f32'), `${size('f16')} vs ${size('f32')} bytes`);
    const { tensors } = await readSafetensors(join(dir, 'f16', 'model.safetensors'));
    assert.ok([...tensors.values()].every((t) => t.dtype === 'F16'));
    // the reference: the same weights rounded to F16 by search, in a model of its own
    for (const [name, v] of rounded.namedParameters()) {
      const w = (await model.namedParameters().get(name)!.data()) as Float32Array;
      tf.tidy(() => v.assign(tf.tensor(Float32Array.from(w, refRound), v.shape)));
    }
    const loaded = await loadModel(join(dir, 'f16'), { expectConfig: model.config });
    try {
      const [got, ref, orig] = [await logitsOf(loaded.model), await logitsOf(rounded), await logitsOf(model)];
      assert.deepEqual(got, ref, 'logits of the loaded F16 checkpoint equal those of the F16-rounded weights');
      let maxDiff = 0, maxAbs = 0;
      orig.forEach((x, i) => {
        maxDiff = Math.max(maxDiff, Math.abs(x - got[i]!));
        maxAbs = Math.max(maxAbs, Math.abs(x));
      });
      assert.ok(maxDiff > 0, 'F16 storage does round');
      assert.ok(maxDiff < 1e-2 * Math.max(1, maxAbs), `logits within F16 rounding: max diff ${maxDiff}`);
    } finally {
      loaded.model.dispose();
    }
  } finally {
    model.dispose();
    rounded.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
