/**
 * F16 weights: a float16 copy of the fixture loads (converted exactly to float32) and gives the same
 * logits as a float32 file holding the same f16-rounded values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { loadHfModel } from '../../src/hf/load.js';
import { encodeSafetensors, halfToFloat, readSafetensors } from '../../src/model/safetensors.js';
import { fixtureDir, loadReference, maxAbsDiff } from '../helpers/hf-fixtures.js';

/** float32 -> IEEE half bits, round to nearest even (normal range; tiny values flush through subnormals). */
function toHalfBits(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0] as number;
  const sign = (u >>> 16) & 0x8000;
  const exp = ((u >>> 23) & 0xff) - 127 + 15;
  let mant = u & 0x7fffff;
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    let h = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (exp << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}

function encodeF16(tensors: { name: string; shape: number[]; data: Float32Array }[]): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: 'F16', shape: t.shape, data_offsets: [off, off + t.data.length * 2] };
    off += t.data.length * 2;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const hb = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + hb.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  const dv = new DataView(out.buffer, 8 + hb.length);
  let p = 0;
  for (const t of tensors) for (const v of t.data) { dv.setUint16(p, toHalfBits(v), true); p += 2; }
  return out;
}

test('F16 weights load exactly (same logits as float32 weights holding the f16-rounded values)', async () => {
  assert.equal(await tf.setBackend('wasm'), true);
  assert.equal(halfToFloat(toHalfBits(1.5)), 1.5);
  const src = fixtureDir('llava_onevision');
  const ref = await loadReference('llava_onevision');
  const tmp = mkdtempSync(join(tmpdir(), 'ng-f16-'));
  try {
    for (const f of readdirSync(src)) if (!f.startsWith('model')) copyFileSync(join(src, f), join(tmp, f));
    const { tensors } = await readSafetensors(join(src, 'model.safetensors'));
    const list = [...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data as Float32Array }));
    writeFileSync(join(tmp, 'model.f16.safetensors'), encodeF16(list));
    const rounded = list.map((t) => ({ ...t, data: Float32Array.from(t.data, (v) => halfToFloat(toHalfBits(v))) }));
    writeFileSync(join(tmp, 'model.safetensors'), encodeSafetensors(rounded, { format: 'pt' }));
    const cs = ref.json.cases.b;
    const req = { messages: cs.messages, pixelValues: ref.get('b', 'pixel_values').data as Float32Array, imageSizeHW: Array.from(ref.get('b', 'image_sizes').data) as [number, number] };
    const out: Float32Array[] = [];
    for (const file of ['model.f16.safetensors', 'model.safetensors']) {
      const model = await loadHfModel(tmp, { weightsFile: file });
      const { input, dispose } = model.batch([await model.encode(req)]);
      const logits = model.forward(input);
      out.push((await logits.data()) as Float32Array);
      logits.dispose();
      dispose();
      model.dispose();
    }
    assert.equal(maxAbsDiff(out[0] as Float32Array, out[1] as Float32Array), 0);
    // and f16 rounding moves the logits only a little from the float32 reference
    assert.ok(maxAbsDiff(out[0] as Float32Array, ref.get('b', 'logits').data) < 0.5);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
