/**
 * Suite files (schema, errors naming the key and the file, the shipped suites), prompt templates,
 * the run plan of conditions x modes x repetitions, the condition specs, the summary statistics and
 * the shapes caption slot scores, against hand-computed values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conditionSpecs, fillPrompt, loadSuite, parseSuiteText, planRuns, scoreShapesCaptions, summarize, type ConditionRun } from '../../src/eval/index.js';
import type { Scene } from '../../src/data/shapes-scene.js';
import { UserError } from '../../src/util/errors.js';

const ok = 'name: t\ndataset: data/x\ntasks:\n  - {type: captioning}\n';

test('a minimal suite gets the documented defaults', () => {
  const s = parseSuiteText(ok, 't.yaml');
  assert.equal(s.seed, 0);
  assert.deepEqual(s.decoding, { strategy: 'greedy', max_new_tokens: 32, batch_size: 16, text_only: true });
  assert.deepEqual(s.tasks[0], { type: 'captioning', name: 'captioning', prompt: '', tokenize: 'ptb' });
  assert.deepEqual([s.conditions, s.modes, s.repetitions], [['none'], ['zero'], 10]);
});

test('bad suites: UserError naming the file and the key', async () => {
  const bad = (text: string, re: RegExp) => assert.throws(() => parseSuiteText(text, 'eval/bad.yaml'), (e: unknown) => e instanceof UserError && re.test(e.message));
  bad(ok + 'extra: 1\n', /^Suite eval\/bad\.yaml: unknown key "extra"/);
  bad('name: t\ntasks:\n  - {type: vqa}\n', /^Suite eval\/bad\.yaml: missing key "dataset"/);
  bad(ok.replace('{type: captioning}', '{type: captioning, promt: x}'), /unknown key "tasks\[0\]\.promt"/);
  bad(ok.replace('captioning', 'segmentation'), /tasks\[0\]\.type is invalid; expected captioning, vqa or classification/);
  bad(ok + 'conditions: [eoi, random-image:0]\n', /"conditions\[1\]" is invalid: expected none, eoi, last-image, random-image:N or image-to-text/);
  bad(ok + 'decoding: {max_new: 3}\n', /unknown key "decoding\.max_new"/);
  bad(ok + 'modes: [soft]\n', /"modes\[0\]" is invalid/);
  bad('name: t\ndataset: d\ntasks:\n  - {type: vqa}\n  - {type: vqa}\n', /task name "vqa" is used twice/);
  bad('name: [', /^Suite eval\/bad\.yaml is not valid YAML/);
  bad('- a\n- b\n', /is not a YAML mapping/);
  const dir = mkdtempSync(join(tmpdir(), 'ng-suite-'));
  await assert.rejects(loadSuite(join(dir, 'missing.yaml')), /^UserError: Cannot read suite .*missing\.yaml/);
  writeFileSync(join(dir, 'unknown.yaml'), ok + 'tasks_extra: []\n');
  await assert.rejects(loadSuite(join(dir, 'unknown.yaml')), /unknown\.yaml: unknown key "tasks_extra"/);
});

test('the shipped suites parse, and their prompts name known placeholders', async () => {
  for (const f of ['eval/shapes-quick.yaml', 'eval/shapes.yaml']) {
    const s = await loadSuite(f);
    assert.equal(s.dataset, 'data/shapes-32');
    const vars = { question: 'q', label: 'l', shape: 's', color: 'c', size: 'z', position: 'p', count: '1' };
    for (const t of s.tasks) assert.doesNotThrow(() => fillPrompt(t.prompt, vars, t.name));
  }
  const full = await loadSuite('eval/shapes.yaml');
  assert.deepEqual(full.conditions, ['none', 'eoi', 'last-image', 'random-image:10', 'image-to-text']);
  assert.deepEqual(full.modes, ['zero', 'renormalize']);
});

test('prompt templates', () => {
  assert.equal(fillPrompt('what color is the {shape} in the {position}?', { shape: 'star', position: 'top left' }, 't'), 'what color is the star in the top left?');
  assert.throws(() => fillPrompt('is it {colour}?', { color: 'red' }, 'cls'), /Task "cls": prompt placeholder \{colour\} is not available; expected one of \{color\}/);
});

test('run plan: none once, knockouts per mode, random-image repeated with seed + r', () => {
  const plan = planRuns(['none', 'eoi', 'random-image:10', 'none'], ['zero', 'renormalize'], 3, 7);
  assert.deepEqual(plan.map((p) => p.id), [
    'none', 'eoi.zero', 'eoi.renormalize',
    'random-image-10.zero.r0', 'random-image-10.zero.r1', 'random-image-10.zero.r2',
    'random-image-10.renormalize.r0', 'random-image-10.renormalize.r1', 'random-image-10.renormalize.r2',
  ]);
  assert.deepEqual(plan.filter((p) => p.condition === 'random-image:10' && p.mode === 'zero').map((p) => p.seed), [7, 8, 9]);
  assert.equal(plan[0]!.mode, null);
});

test('condition specs are the E6 edge sets in every layer and head', () => {
  const ko = (queries: string, keys: string, mode: 'zero' | 'renormalize') => [{ type: 'knockout', queries, keys, layers: 'all', heads: 'all', mode }];
  assert.deepEqual(conditionSpecs('none', 'zero'), []);
  assert.deepEqual(conditionSpecs('eoi', 'zero'), ko('@all', '@eoi', 'zero'));
  assert.deepEqual(conditionSpecs('last-image', 'renormalize'), ko('@all', '@last-image', 'renormalize'));
  assert.deepEqual(conditionSpecs('random-image:10', 'zero'), ko('@all', '@random-image:10', 'zero'));
  assert.deepEqual(conditionSpecs('image-to-text', 'renormalize'), ko('@text-after-image', '@all-image', 'renormalize'));
});

test('summary: mean, sample std, min, max over repetitions', () => {
  const run = (rep: number, v: number): ConditionRun => ({
    id: `r${rep}`, condition: 'random-image:2', mode: 'zero', repetition: rep, seed: rep, specs: [],
    tasks: { vqa: { name: 'vqa', type: 'vqa', primary: 'accuracy', metrics: { accuracy: v }, counts: {}, predictions: [] } },
  });
  const [c] = summarize([run(0, 0.2), run(1, 0.4), run(2, 0.9)]);
  assert.equal(c!.repetitions, 3);
  assert.ok(Math.abs(c!.mean - 0.5) < 1e-12);
  assert.ok(Math.abs(c!.std - Math.sqrt(0.13)) < 1e-12); // ((0.3)^2 + (0.1)^2 + (0.4)^2) / 2
  assert.deepEqual([c!.min, c!.max], [0.2, 0.9]);
  assert.equal(summarize([run(0, 0.7)])[0]!.std, 0);
});

test('shapes caption slots: accuracy over stated slots, object count from the count word or the objects named', () => {
  const o = (shape: string, color: string, size: string, position: string) => ({ shape, color, size, position });
  const scenes = [
    { background: 'black', objects: [o('circle', 'red', 'large', 'center'), o('square', 'blue', 'small', 'top left')] },
    { background: 'black', objects: [o('triangle', 'yellow', 'small', 'bottom right')] },
    { background: 'black', objects: [o('circle', 'red', 'large', 'center'), o('star', 'white', 'small', 'top right')] },
  ] as Scene[];
  const caps = [
    'an image with two shapes a large red circle in the center and a small green square in the top left', // 8 slots, colour 2 wrong
    'a picture of a yellow star', // shape wrong, colour right
    'a red circle', // names one of two objects
  ];
  const s = scoreShapesCaptions(caps, scenes);
  assert.deepEqual(s.counts, { 'attribute.shape': 4, 'attribute.color': 4, 'attribute.size': 2, 'attribute.position': 2, 'attribute.overall': 12, object_count: 3 });
  assert.deepEqual(s.metrics, { 'attribute.shape': 3 / 4, 'attribute.color': 3 / 4, 'attribute.size': 1, 'attribute.position': 1, 'attribute.overall': 10 / 12, object_count: 2 / 3 });
});
