import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseInterventions,
  parseInterventionsText,
  serializeInterventions,
  validateAgainstModel,
} from '../../src/interventions/spec.js';
import { UserError } from '../../src/util/errors.js';

const all = [
  { type: 'knockout', queries: '@text-after-image', keys: ['@all-image', '@boi'], layers: [0, 2], heads: 'all', mode: 'renormalize' },
  { type: 'patch', hook: 'blocks.1.hook_resid_post', positions: '@eoi', donor: { run: 'other', positions: '@eoi' } },
  { type: 'patch', hook: 'blocks.0.hook_resid_pre', positions: '3:5', donor: { store: 'acts.arrow', example_id: 7 } },
  { type: 'patch', hook: 'blocks.1.hook_resid_post', positions: '@eoi', donor: { image: 'other.png', prompt: 'what colour?' } },
  { type: 'steer', layer: 1, position: '@eoi', op: 'add', vector: { values: [1, 0, -0.5, 2] }, strength: 0.5 },
  {
    type: 'steer',
    layer: 0,
    hook: 'resid_mid',
    position: ['@eoi', '-1'],
    op: 'interpolate',
    vector: { store: 's.arrow', hook: 'resid_post', layer: 0, position_kind: 'eoi', class_a: 1, class_b: 2 },
  },
  { type: 'ablate', hook: 'blocks.0.attn.hook_z', positions: '@all-image', mode: 'mean', mean: { store: 's.arrow' } },
];

test('every kind validates, defaults are filled, and the JSON round trip is exact', () => {
  const specs = parseInterventions(all);
  assert.equal(specs.length, all.length);
  const ko = parseInterventions({ type: 'knockout', queries: '@eoi', keys: '@all-image' })[0]!;
  assert.deepEqual(ko, { type: 'knockout', queries: '@eoi', keys: '@all-image', layers: 'all', heads: 'all', mode: 'zero' });
  const steer = specs[5]!;
  assert.ok(steer.type === 'steer' && steer.strength === 1);
  const ablate = specs[6]!;
  assert.ok(ablate.type === 'ablate' && ablate.mean?.over === 'position');
  const text = serializeInterventions(specs);
  assert.deepEqual(parseInterventionsText(text), specs);
  assert.equal(serializeInterventions(parseInterventionsText(text)), text);
});

function rejects(input: unknown, pattern: RegExp): void {
  assert.throws(
    () => parseInterventions(input, 'spec.json'),
    (e: unknown) => e instanceof UserError && pattern.test(e.message) && e.message.startsWith('spec.json'),
    JSON.stringify(input),
  );
}

test('invalid specs give one clear sentence with the path', () => {
  rejects({ type: 'knockout', queries: '@eos', keys: '@bos' }, /knockout\.queries = "@eos" is invalid: Unknown position selector/);
  rejects({ type: 'knockout', queries: '@eoi', keys: '@bos', layers: [0, -1] }, /knockout\.layers\[1\] = -1 is invalid/);
  rejects({ type: 'knockout', queries: '@eoi', keys: '@bos', mode: 'soft' }, /knockout\.mode = "soft" is invalid/);
  rejects({ type: 'knockout', queries: '@eoi' }, /knockout\.keys is invalid: required/);
  rejects({ type: 'knockout', queries: '@eoi', keys: '@bos', extra: 1 }, /Unrecognized key.*extra/);
  rejects({ type: 'steer', layer: 0, position: '@eoi', op: 'multiply', vector: { values: [1] } }, /steer\.op = "multiply"/);
  rejects({ type: 'ablate', hook: 'blocks.0.hook_resid_post', positions: '@eoi', mode: 'mean' }, /ablate\.mean is invalid: mode "mean" needs/);
  rejects({ type: 'patch', hook: 'blocks 1', positions: '@eoi', donor: { run: 'x' } }, /patch\.hook = "blocks 1"/);
  rejects({ type: 'rotate' }, /has type "rotate"; expected "knockout", "patch", "steer" or "ablate"/);
  rejects([all[0], { type: 'steer' }], /\[1\]\.steer\.layer is invalid: required/);
  rejects([], /empty list/);
  assert.throws(() => parseInterventionsText('{', 'x.json'), /x\.json is not valid JSON/);
});

test('model-dependent ranges are checked at compile time with the spec path', () => {
  const dims = { nLayers: 4, nHeads: 2, dModel: 4 };
  validateAgainstModel(parseInterventions(all), dims);
  const bad = parseInterventions({ type: 'knockout', queries: '@eoi', keys: '@bos', layers: [0, 1, 9] });
  assert.throws(() => validateAgainstModel(bad, dims), (e: unknown) => e instanceof UserError && /knockout\.layers\[2\] = 9 is out of range 0\.\.3/.test(e.message));
  const badHead = parseInterventions([all[0], { type: 'knockout', queries: '@eoi', keys: '@bos', heads: [2] }]);
  assert.throws(() => validateAgainstModel(badHead, dims), /\[1\]\.knockout\.heads\[0\] = 2 is out of range 0\.\.1/);
  const badVec = parseInterventions({ type: 'steer', layer: 0, position: '@eoi', op: 'add', vector: { values: [1, 2] } });
  assert.throws(() => validateAgainstModel(badVec, dims), /vector\.values has 2 numbers; expected d_model = 4/);
});
