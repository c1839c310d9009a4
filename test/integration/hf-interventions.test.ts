/**
 * Hook names, position selectors and intervention specs work unchanged on Hugging Face checkpoints:
 * the compiled [EOI] knockout spec reproduces transformers' knockout logits, patch and steer act only
 * from the selected position on, and generation runs with the hooks active.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { compile } from '../../src/interventions/compile.js';
import { parseInterventions } from '../../src/interventions/spec.js';
import { resolve } from '../../src/interventions/selectors.js';
import { runWithCache } from '../../src/hooks/run.js';
import { loadHfModel } from '../../src/hf/load.js';
import { greedyGenerate } from '../../src/hf/generate.js';
import type { HfExample, HfModel } from '../../src/hf/model.js';
import { fixtureDir, loadReference, maxAbsDiff, type Family, type Reference } from '../helpers/hf-fixtures.js';

async function example(model: HfModel, ref: Reference, family: Family, c: string): Promise<HfExample> {
  const cs = ref.json.cases[c];
  const pixelValues = ref.get(c, 'pixel_values').data as Float32Array;
  return family === 'chameleon'
    ? model.encode({ prompt: cs.prompt, mode: cs.mode, pixelValues })
    : model.encode({ messages: cs.messages, pixelValues, imageSizeHW: Array.from(ref.get(c, 'image_sizes').data) as [number, number] });
}

async function logits(model: HfModel, ex: HfExample, hooks: Awaited<ReturnType<typeof compile>> = []): Promise<Float32Array> {
  const { input, dispose } = model.batch([ex]);
  const out = model.forward(input, { hooks });
  try {
    return (await out.data()) as Float32Array;
  } finally {
    out.dispose();
    dispose();
  }
}

for (const family of ['chameleon', 'llava_onevision'] as const) {
  test(`${family}: selectors resolve on the spans, and the compiled @eoi knockout spec equals the reference knockout`, async () => {
    assert.equal(await tf.setBackend('wasm'), true);
    const ref = await loadReference(family);
    const model = await loadHfModel(fixtureDir(family));
    for (const c of ['a', 'b']) {
      const cs = ref.json.cases[c];
      const ex = await example(model, ref, family, c);
      assert.deepEqual(resolve('@eoi', ex.spans), [cs.eoi_position]);
      const img = resolve('@all-image', ex.spans);
      assert.equal(img[0], cs.image_span[0]);
      const specs = parseInterventions([{ type: 'knockout', queries: '@all', keys: '@eoi', mode: 'zero' }]);
      const got = await logits(model, ex, await compile(specs, model));
      assert.ok(maxAbsDiff(got, ref.get(c, 'logits_eoi_knockout').data) <= 1e-4, `${c}`);
    }
    model.dispose();
  });

  test(`${family}: steer and patch at @eoi change nothing before it; an identity patch changes nothing`, async () => {
    assert.equal(await tf.setBackend('wasm'), true);
    const ref = await loadReference(family);
    const model = await loadHfModel(fixtureDir(family));
    const ex = await example(model, ref, family, 'a');
    const donorEx = await example(model, ref, family, 'b');
    const eoi = ex.spans.eoi as number;
    const V = model.hf.decoder.vocabSize;
    const D = model.hf.decoder.dModel;
    const base = await logits(model, ex);
    const steer = await compile(parseInterventions([{ type: 'steer', layer: 0, position: '@eoi', op: 'add', vector: { values: Array.from({ length: D }, (_, i) => Math.sin(i)) }, strength: 4 }]), model);
    const steered = await logits(model, ex, steer);
    assert.equal(maxAbsDiff(steered.subarray(0, eoi * V), base.subarray(0, eoi * V)), 0);
    assert.ok(maxAbsDiff(steered.subarray(eoi * V), base.subarray(eoi * V)) > 1e-3);
    // donor activations from a cached run
    for (const [donor, same] of [[ex, true], [donorEx, false]] as const) {
      const { input, dispose } = model.batch([donor]);
      const run = runWithCache(model, input, { names: ['blocks.0.hook_resid_post'] });
      run.logits.dispose();
      dispose();
      const patch = await compile(parseInterventions([{ type: 'patch', hook: 'blocks.0.hook_resid_post', positions: '@eoi', donor: { run: 'donor' } }]), model, { donors: { donor: { cache: run.cache, spans: [donor.spans] } } });
      const patched = await logits(model, ex, patch);
      run.cache.dispose();
      assert.equal(maxAbsDiff(patched.subarray(0, eoi * V), base.subarray(0, eoi * V)), 0);
      if (same) assert.equal(maxAbsDiff(patched, base), 0);
      else assert.ok(maxAbsDiff(patched.subarray(eoi * V), base.subarray(eoi * V)) > 1e-4);
    }
    // generation with the knockout active: the first token comes from the knocked-out logits
    const ko = await compile(parseInterventions([{ type: 'knockout', queries: '@all', keys: '@eoi' }]), model);
    const gen = await greedyGenerate(model, [ex], { maxNewTokens: 3, hooks: ko });
    const koLogits = ref.get('a', 'logits_eoi_knockout').data;
    const last = ex.ids.length - 1;
    let best = 0;
    for (let v = 1; v < V; v++) if ((koLogits[last * V + v] as number) > (koLogits[last * V + best] as number)) best = v;
    assert.equal(gen[0]?.[0], best);
    model.dispose();
  });
}
