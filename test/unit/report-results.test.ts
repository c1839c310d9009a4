import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadResults, mergeResults, validateResults, depthOf } from '../../src/report/results.js';
import { UserError } from '../../src/util/errors.js';
import { sampleDoc } from '../helpers/report-doc.js';

const tmp = mkdtempSync(join(tmpdir(), 'narrowgate-report-results-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

/** Asserts that validating `doc` throws a UserError whose message names `field`. */
function rejects(doc: unknown, field: string): void {
  assert.throws(
    () => validateResults(doc, 'results.json'),
    (e: unknown) => e instanceof UserError && e.message.includes(field) && e.message.startsWith('results.json'),
    `expected a UserError naming ${field}`,
  );
}

test('a complete hand-made document validates and keeps every value', async () => {
  const doc = await sampleDoc();
  const json = JSON.parse(JSON.stringify(doc));
  assert.deepEqual(validateResults(json), json);
});

test('a wrong type deep inside a record is reported with its full path', async () => {
  const doc = JSON.parse(JSON.stringify(await sampleDoc()));
  doc.models[0].e1.records[1].median = 'high';
  rejects(doc, 'models[0].e1.records[1].median');
});

test('a missing required field is named', async () => {
  const doc = JSON.parse(JSON.stringify(await sampleDoc()));
  delete doc.models[1].numLayers;
  rejects(doc, 'models[1].numLayers');
  const doc2 = JSON.parse(JSON.stringify(await sampleDoc()));
  delete doc2.models[0].e4.chance;
  rejects(doc2, 'models[0].e4.chance');
});

test('an unknown knockout mode, a wrong format tag and an empty model list are rejected', async () => {
  const doc = JSON.parse(JSON.stringify(await sampleDoc()));
  doc.models[0].e6.rows[0].mode = 'soft';
  rejects(doc, 'models[0].e6.rows[0].mode');
  rejects({ ...(await sampleDoc()), format: 'something-else' }, 'format');
  rejects({ ...(await sampleDoc()), models: [] }, 'models');
});

test('duplicate model names and a fine-tune of an unknown model are rejected', async () => {
  const doc = await sampleDoc();
  rejects({ ...doc, models: [doc.models[0], doc.models[0]] }, 'models[1].name');
  const tuned = { ...doc.models[2]!, finetune: { of: 'nobody', kind: 'distribute' } };
  rejects({ ...doc, models: [doc.models[0], tuned] }, 'models[1].finetune.of');
});

test('null measurements are allowed (undefined at that layer); NaN is not a JSON value and is refused', async () => {
  const doc = JSON.parse(JSON.stringify(await sampleDoc()));
  doc.models[0].e2.records[0].homogeneity = null;
  assert.equal(validateResults(doc).models[0]!.e2!.records[0]!.homogeneity, null);
  const bad = await sampleDoc();
  bad.models[0]!.e1!.records[0]!.median = Number.NaN;
  rejects(bad, 'models[0].e1.records[0].median');
});

test('loadResults: a malformed results.json gives a UserError naming the field; bad JSON and a missing file too', async () => {
  const doc = JSON.parse(JSON.stringify(await sampleDoc()));
  doc.models[0].e7.records[2].flipAccuracy = '90%';
  const p = join(tmp, 'results.json');
  writeFileSync(p, JSON.stringify(doc));
  await assert.rejects(loadResults(p), (e: unknown) => e instanceof UserError && e.message.includes('models[0].e7.records[2].flipAccuracy') && e.message.includes(p));
  writeFileSync(p, '{"format": ');
  await assert.rejects(loadResults(p), (e: unknown) => e instanceof UserError && /not valid JSON/.test(e.message));
  await assert.rejects(loadResults(join(tmp, 'nope.json')), UserError);
});

test('depthOf is l / (L - 1), and 0 for a single layer', () => {
  assert.equal(depthOf(0, 4), 0);
  assert.equal(depthOf(3, 4), 1);
  assert.equal(depthOf(1, 5), 0.25);
  assert.equal(depthOf(0, 1), 0);
});

test('mergeResults combines per-runner documents by model name, section by section', async () => {
  const doc = await sampleDoc();
  const [native, adapter] = doc.models;
  const { e1, e2, ...nativeRest } = native!;
  const a = { ...doc, models: [{ ...nativeRest, e1, e2 }] };
  const b = { ...doc, data: [{ name: 'fmnist', images: 10 }], models: [{ ...nativeRest, e3: native!.e3 }, adapter!] };
  const m = mergeResults([a, b], { command: 'demo' });
  assert.deepEqual(m.models.map((x) => x.name), ['native', 'adapter']);
  assert.deepEqual(m.models[0]!.e1, e1);
  assert.deepEqual(m.models[0]!.e3, native!.e3);
  assert.deepEqual(m.run, { command: 'demo' });
  assert.deepEqual(m.data!.map((d) => d.name), ['shapes (held out)', 'fmnist']);
  const clash = { ...doc, models: [{ ...nativeRest, checkpointHash: 'sha256:other' }] };
  assert.throws(() => mergeResults([a, clash]), (e: unknown) => e instanceof UserError && /different checkpoints/.test(e.message));
});
