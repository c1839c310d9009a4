/**
 * Results documents: mergeResults by hand-built documents (sections of the same model merged, new
 * models appended, a new checkpoint under an old name replaces it, commands listed), and two commands
 * with one --out build one document that the report accepts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergeResults, runAttentionFlow, runPatching } from '../../src/experiments/index.js';
import { validateResults, type ResultsDoc } from '../../src/report/results.js';
import { experimentsFixture } from '../helpers/experiments-tiny.js';

const model = (name: string, hash: string, extra: object) => ({ name, family: 'native' as const, checkpointHash: hash, numLayers: 2, ...extra });
const doc = (command: string, models: object[]): ResultsDoc => validateResults({ format: 'narrowgate-results', version: 1, createdAt: command, run: { command }, models });
const e1 = { records: [{ layer: 0, depth: 0, median: 0.1, q25: 0, q75: 0.2 }] };
const e3 = { records: [{ layer: 0, label: '[EOI]', share: 0.5 }] };
const e3b = { records: [{ layer: 0, label: '[EOI]', share: 0.9 }] };

test('mergeResults: sections merge per model, new models append, a new checkpoint replaces, commands accumulate', () => {
  const a = doc('analyze modality-gap', [model('m', 'h1', { e1, e3 })]);
  const m1 = mergeResults(a, doc('analyze attention', [model('m', 'h1', { e3: e3b })]));
  assert.deepEqual(m1.models, [model('m', 'h1', { e1, e3: e3b })]);
  assert.deepEqual((m1.run!.commands as { command: string }[]).map((c) => c.command), ['analyze modality-gap', 'analyze attention']);
  assert.equal(m1.createdAt, 'analyze attention');
  const m2 = mergeResults(m1, doc('patch', [model('other', 'h9', { e3 })]));
  assert.deepEqual(m2.models.map((m) => m.name), ['m', 'other']);
  const m3 = mergeResults(m2, doc('analyze attention', [model('m', 'h2', { e3 })]));
  assert.deepEqual(m3.models[0], model('m', 'h2', { e3 }));
  validateResults(m3);
});

test('two commands with one --out build one document; a foreign results.json is refused', async () => {
  const f = await experimentsFixture();
  const out = mkdtempSync(join(tmpdir(), 'ng-merge-'));
  await runAttentionFlow({ checkpoint: f.native, data: f.data, limit: 2, out });
  await runPatching({ checkpoint: f.native, data: f.single, pairs: 2, variants: ['resid'], layers: [1], out });
  const d = validateResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')));
  assert.equal(d.models.length, 1);
  assert.ok(d.models[0]!.e3 && d.models[0]!.e7);
  const bad = mkdtempSync(join(tmpdir(), 'ng-merge-bad-'));
  writeFileSync(join(bad, 'results.json'), '{"hello": 1}');
  await assert.rejects(runAttentionFlow({ checkpoint: f.native, data: f.data, limit: 2, out: bad }), /results\.json exists but is not a narrowgate results document/);
});

test('a dataset without labels or captions: one-sentence UserErrors naming what is missing', async () => {
  const f = await experimentsFixture();
  const { writeDataset } = await import('../../src/data/dataset.js');
  const dir = join(mkdtempSync(join(tmpdir(), 'ng-unlab-')), 'ds');
  const images = [...f.ds.images()].map((im) => ({ id: im.id, fileName: im.fileName, split: 'train', label: -1, pixels: new Uint8Array(im.pixels) }));
  await writeDataset(dir, { name: 'unlabelled', source: 'test', seed: null, width: 16, height: 16, channels: 3, labelFields: {}, images, captions: [], questions: [], options: {} });
  const { runOverlap, runModalityGap } = await import('../../src/experiments/index.js');
  await assert.rejects(runOverlap({ checkpoint: f.native, data: dir, k: 3 }), /has no label field "label"; expected one of \(none: the dataset is unlabelled\)/);
  await assert.rejects(runPatching({ checkpoint: f.native, data: dir, attribute: 'shape' }), /has no label field "shape"/);
  await assert.rejects(runModalityGap({ checkpoint: f.native, data: dir }), /has no caption; E1 needs captioned images/);
});
