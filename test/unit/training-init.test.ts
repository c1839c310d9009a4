import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { AdapterModel } from '../../src/model/adapter.js';
import { decoderConfig, type AdapterConfig } from '../../src/model/config.js';
import { saveCheckpoint } from '../../src/model/checkpoint.js';
import { parameterGroup } from '../../src/model/params.js';
import { initFromCheckpoint } from '../../src/training/model-setup.js';
import { UserError } from '../../src/util/errors.js';

let dir: string;
before(async () => {
  assert.equal(await tf.setBackend('cpu'), true);
  dir = mkdtempSync(join(tmpdir(), 'ng-init-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function adapter(seed: number, dModel = 16): AdapterModel {
  const cfg: AdapterConfig = {
    family: 'adapter',
    decoder: decoderConfig({ vocabSize: 20, dModel, nLayers: 1, nHeads: 2, dMlp: 32 }),
    special: { bos: 1, eos: 2, pad: 0, boi: 3, eoi: 4 },
    vision: { imageSize: 24, patchSize: 4, channels: 3, dModel: 8, nLayers: 1, nHeads: 2, dMlp: 16, rmsNormEps: 1e-5 },
    projector: { dIn: 8, dHidden: dModel, activation: 'gelu_tanh' },
  };
  return new AdapterModel(cfg, { seed });
}

const values = (m: AdapterModel) => new Map([...m.namedParameters()].map(([n, v]) => [n, Array.from(v.dataSync())]));

test('init from a text-only checkpoint: decoder loaded, vision and projector kept fresh when allowed', async () => {
  const lm = adapter(1);
  const textOnly = new Map([...lm.namedParameters()].filter(([n]) => !['vision', 'projector'].includes(parameterGroup(n))));
  const ck = join(dir, 'lm');
  await saveCheckpoint(ck, { params: textOnly, config: lm.config });
  const fresh = adapter(2);
  const freshValues = values(fresh);
  const lmValues = values(lm);
  const r = await initFromCheckpoint(fresh, ck, ['vision', 'projector']);
  assert.equal(r.loaded, textOnly.size);
  assert.ok(r.missing.length > 0 && r.missing.every((n) => ['vision', 'projector'].includes(parameterGroup(n))));
  for (const [n, v] of values(fresh)) {
    const want = textOnly.has(n) ? lmValues.get(n)! : freshValues.get(n)!;
    assert.deepEqual(v, want, n);
  }
  // without allow_missing the same checkpoint is refused, naming a missing parameter and the fix
  const other = adapter(3);
  await assert.rejects(initFromCheckpoint(other, ck, []), (e: unknown) => e instanceof UserError && /lacks \d+ parameters/.test(e.message) && /init\.allow_missing/.test(e.message));
  for (const m of [lm, fresh, other]) m.dispose();
});

test('init refuses mismatched shapes and parameters the model does not have', async () => {
  const small = adapter(1, 16);
  const ck = join(dir, 'small');
  await saveCheckpoint(ck, { params: small.namedParameters(), config: small.config });
  const wide = adapter(1, 32);
  await assert.rejects(initFromCheckpoint(wide, ck, []), (e: unknown) => e instanceof UserError && /has shape \[.*\] but the recipe's model needs/.test(e.message));
  const extra = join(dir, 'extra');
  const params = new Map<string, tf.Tensor | { shape: number[]; data: Float32Array }>(small.namedParameters());
  params.set('blocks.7.attn.W_Q', { shape: [1], data: new Float32Array(1) });
  await saveCheckpoint(extra, { params, config: small.config });
  const same = adapter(2, 16);
  await assert.rejects(initFromCheckpoint(same, extra, []), (e: unknown) => e instanceof UserError && /"blocks\.7\.attn\.W_Q"/.test(e.message));
  for (const m of [small, wide, same]) m.dispose();
});
