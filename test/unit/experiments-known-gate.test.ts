/**
 * Ground truth for the analyses: a known narrow gate made at inference by a hard block (renormalize)
 * of text -> image-token attention with [EOI] left open ("concentrate"), or of text -> [EOI]
 * ("distribute"), applied to every run through the experiments' edit option. With the gate, E3 gives
 * [EOI] the whole share, E5's image->text knockout changes nothing, and E7's attention-input patch
 * from layer 0 transfers the target's next-token distribution exactly (similarity 1); without [EOI],
 * E3 gives it nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { experimentsFixture } from '../helpers/experiments-tiny.js';
import { runAttentionFlow, runPatching, runProgressiveKnockout } from '../../src/experiments/index.js';
import { parseInterventions } from '../../src/interventions/spec.js';

const concentrate = parseInterventions({ type: 'knockout', queries: '@text-after-image', keys: '@all-image', mode: 'renormalize' });
const distribute = parseInterventions({ type: 'knockout', queries: '@text-after-image', keys: '@eoi', mode: 'renormalize' });

test('E3 sees the known gate: [EOI] share 1 under concentrate, 0 under distribute', async () => {
  const f = await experimentsFixture();
  const c = await runAttentionFlow({ checkpoint: f.native, data: f.data, limit: 4, prompt: 'what color is the shape ?', withCaption: false, interventions: concentrate });
  for (let l = 0; l < c.flow.layers; l++) {
    assert.ok(Math.abs(c.stack.eoi[l]! - 1) < 1e-9);
    assert.ok(c.stack.internal[l]! + c.stack.lastImage[l]! < 1e-9);
  }
  assert.deepEqual(c.settings.interventions, concentrate);
  const d = await runAttentionFlow({ checkpoint: f.adapter, data: f.data, limit: 4, prompt: 'what color is the shape ?', withCaption: false, interventions: distribute });
  for (const v of d.stack.eoi) assert.ok(v < 1e-9);
});

test('E7 through a known gate: the attention-input patch from layer 0 gives similarity 1', async () => {
  const f = await experimentsFixture();
  const r = await runPatching({ checkpoint: f.native, data: f.single, attribute: 'shape', pairs: 5, interventions: concentrate, layers: [0] });
  const attn = r.records.find((x) => x.variant === 'attn-input')!;
  assert.ok(attn.baseline < 1 - 1e-4, 'base and target answers differ');
  assert.ok(attn.similarity > 1 - 1e-5, `similarity ${attn.similarity}`);
  const resid = r.records.find((x) => x.variant === 'resid')!;
  assert.ok(Math.abs(resid.similarity - resid.baseline) < 1e-6, 'layer 0 [EOI] residual is the token embedding');
});

test('E5 through a known gate: knocking out image->text changes nothing when it is already cut', async () => {
  const f = await experimentsFixture();
  const r = await runProgressiveKnockout({ checkpoint: f.native, data: f.data, k: 4, exact: true, mode: 'renormalize', edgeSets: ['image-to-text', 'eoi'], interventions: concentrate });
  const it = r.records.filter((x) => x.edgeSet === 'image->text');
  for (const x of it) assert.equal(x.overlap, it[0]!.overlap);
});
