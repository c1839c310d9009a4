import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { compile } from '../../src/interventions/compile.js';
import { extractActivations, planExtraction, type ExtractExample } from '../../src/interventions/extract.js';
import { parseInterventions, parseInterventionsText } from '../../src/interventions/spec.js';
import { resolve } from '../../src/interventions/selectors.js';
import { runWithCache } from '../../src/hooks/run.js';
import type { Spans } from '../../src/model/spans.js';
import { ActivationWriter, openStore } from '../../src/store/index.js';
import { maxAbsDiff, tinyNative, useBackend } from '../helpers/tiny.js';

await useBackend('cpu');

/** Examples of different lengths (so batches are padded): <bos> <boi> 2-3 codes <eoi> 0-3 words. */
function examples(): ExtractExample[] {
  const out: ExtractExample[] = [];
  for (let i = 0; i < 5; i++) {
    const nImg = 2 + (i % 2);
    const words = [25, 30, 22].slice(0, i % 4);
    const ids = [0, 3, ...Array.from({ length: nImg }, (_, j) => 5 + ((i * 3 + j) % 16)), 4, ...words];
    const spans: Spans = { length: ids.length, bos: 0, boi: 1, image: [2, 2 + nImg], eoi: 2 + nImg };
    out.push({ id: 10 + i, label: i % 2, ids, spans });
  }
  return out;
}

/** resid_post of one example alone (no padding), [T][D] per layer. */
function alone(m: ReturnType<typeof tinyNative>, e: ExtractExample, layer: number, hooks = [] as Awaited<ReturnType<typeof compile>>): number[][] {
  const x = { ids: tf.tensor2d([Array.from(e.ids)], [1, e.ids.length], 'int32'), spans: [e.spans] };
  const name = `blocks.${layer}.hook_resid_post`;
  const { logits, cache } = runWithCache(m, x, { names: [name] }, { hooks });
  const a = (cache.get(name).arraySync() as number[][][])[0]!;
  logits.dispose();
  cache.dispose();
  x.ids.dispose();
  return a;
}

test('extractActivations writes the selected positions of every hook and layer, equal to unbatched runs', async () => {
  const m = tinyNative({ nLayers: 2 }, 51);
  const exs = examples();
  const plan = planExtraction(m, { hooks: ['resid_post'], layers: 'all' });
  assert.deepEqual(plan.hooks, ['hook_resid_post']);
  assert.equal(plan.d, 16);
  const path = join(mkdtempSync(join(tmpdir(), 'ng-extract-')), 'acts.arrow');
  const w = new ActivationWriter(path, { runId: 'x', d: plan.d }, { hooks: plan.hooks, batchRows: 3 });
  const before = tf.memory().numTensors;
  const res = await extractActivations(m, exs, { hooks: ['resid_post'], layers: 'all', positions: ['@eoi', '@last-image', '@random-image:1'], batchSize: 2, seed: 3 }, w);
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  await w.close();
  const store = await openStore(path);
  assert.equal(res.examples, 5);
  assert.equal(store.numRows, res.rows);
  for (const layer of [0, 1]) {
    const eoi = await store.slice('resid_post', layer, 'eoi');
    assert.deepEqual([...eoi.exampleIds], exs.map((e) => e.id));
    assert.deepEqual([...eoi.labels], exs.map((e) => e.label));
    assert.deepEqual([...eoi.tokenIds], exs.map(() => 4));
    exs.forEach((e, i) => {
      const want = alone(m, e, layer)[e.spans.eoi!]!;
      assert.ok(maxAbsDiff(eoi.values.subarray(i * 16, (i + 1) * 16), want) < 1e-5, `layer ${layer} example ${e.id}`);
    });
    const img = await store.slice('resid_post', layer, 'image');
    for (let r = 0; r < img.n; r++) {
      const e = exs.find((x) => x.id === img.exampleIds[r])!;
      const expectedPos = new Set([...resolve('@last-image', e.spans), ...resolve('@random-image:1', e.spans, { seed: 3, exampleId: e.id })]);
      assert.ok(expectedPos.has(img.pos[r]!));
      assert.equal(img.tokenIds[r], e.ids[img.pos[r]!]);
      assert.ok(maxAbsDiff(img.values.subarray(r * 16, (r + 1) * 16), alone(m, e, layer)[img.pos[r]!]!) < 1e-5);
    }
  }
  m.dispose();
});

test('extraction with an intervention: the edit shows in the rows and its spec in the metadata', async () => {
  const m = tinyNative({ nLayers: 1 }, 52);
  const v = Array.from({ length: 16 }, (_, i) => (i - 8) / 4);
  const specs = parseInterventions({ type: 'steer', layer: 0, position: '@eoi', op: 'add', vector: { values: v }, strength: 2 });
  const hooks = await compile(specs, m);
  const path = join(mkdtempSync(join(tmpdir(), 'ng-extract-')), 'acts.arrow');
  const w = new ActivationWriter(path, { runId: 'steered', d: 16, interventions: specs }, { hooks: ['hook_resid_post'] });
  const exs = examples();
  await extractActivations(m, exs, { hooks: ['hook_resid_post'], layers: [0], positions: ['@eoi'], interventions: hooks, batchSize: 3 }, w);
  await w.close();
  const store = await openStore(path);
  assert.deepEqual(parseInterventionsText(store.metadata.interventions), specs);
  const s = await store.slice('hook_resid_post', 0, 'eoi');
  exs.forEach((e, i) => {
    const plain = alone(m, e, 0)[e.spans.eoi!]!;
    assert.ok(maxAbsDiff(s.values.subarray(i * 16, (i + 1) * 16), plain.map((x, j) => x + 2 * v[j]!)) < 1e-5);
  });
  // seeded selectors in an edit follow the example ids, not the batch rows
  const env = { seed: 5 };
  const ablate = await compile(parseInterventions({ type: 'ablate', hook: 'blocks.0.hook_resid_post', positions: '@random-image:1', mode: 'zero' }), m, env);
  const path2 = join(mkdtempSync(join(tmpdir(), 'ng-extract-')), 'acts.arrow');
  const w2 = new ActivationWriter(path2, { runId: 'ablated', d: 16 }, { hooks: ['hook_resid_post'] });
  await extractActivations(m, exs, { hooks: ['resid_post'], layers: [0], positions: ['@random-image:1'], seed: 5, interventions: ablate, compileEnv: env, batchSize: 2 }, w2);
  await w2.close();
  const img = await (await openStore(path2)).slice('resid_post', 0, 'image');
  assert.equal(img.n, exs.length);
  assert.ok(img.values.every((x) => x === 0), 'the ablated random position is the extracted one for every example');
  assert.throws(() => planExtraction(m, { hooks: ['resid_post', 'unembed.hook_out'], layers: 'all' }), /differ in width/);
  assert.throws(() => planExtraction(m, { hooks: ['attn.hook_pattern'], layers: 'all' }), /cannot be extracted per sequence position/);
  assert.throws(() => planExtraction(m, { hooks: ['resid_post'], layers: [3] }), /Layer 3 is out of range 0\.\.0/);
  assert.throws(() => planExtraction(m, { hooks: ['resid_pots'], layers: 'all' }), /Unknown hook "resid_pots"/);
  m.dispose();
});
