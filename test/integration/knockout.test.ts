/**
 * `narrowgate knockout` (E6) on a tiny random native checkpoint: the table has a cell for every
 * condition x mode x task row, each with its mode and the exact knockout specs; none equals a clean
 * suite run; random-image repetitions use distinct seeds and their mean/std/min/max match the
 * per-run scores; the hard block of image->text attention changes the outputs of a model that reads
 * the image; the files (knockout.json, knockout.md, every run's predictions) are written; no tensors
 * leak; the CLI prints the markdown table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { runKnockoutTable, runSuite } from '../../src/eval/index.js';
import { parseCaptionResults } from '../../src/metrics/index.js';
import { evalFixture, writeText } from '../helpers/eval-tiny.js';
import { useBackend } from '../helpers/tiny.js';

await useBackend('cpu');
const f = await evalFixture(3);
const suite = writeText(join(f.root, 'ko.yaml'), [
  'name: ko',
  `dataset: ${JSON.stringify(f.data)}`,
  'seed: 11',
  'decoding: {max_new_tokens: 5, batch_size: 8}',
  'tasks:',
  '  - {type: captioning, max_new_tokens: 6}',
  '  - {type: vqa, attributes: [count, color], max_new_tokens: 2}',
  '  - {type: classification, name: shape, field: shape, prompt: "a picture of a {color}"}',
].join('\n'));
const CONDITIONS = ['none', 'eoi', 'last-image', 'random-image:3', 'image-to-text'];

test('knockout table: every condition x mode x row, modes and specs recorded, none == clean, spread over seeded repetitions', async () => {
  const out = join(f.root, 'e6');
  const before = tf.memory().numTensors;
  const t = await runKnockoutTable({ checkpoint: f.native, suite, conditions: CONDITIONS, repetitions: 2, out });
  assert.equal(tf.memory().numTensors, before, 'tensors leaked by the knockout table');
  assert.deepEqual(t.modes, ['zero', 'renormalize']);
  assert.deepEqual(t.rows, [
    { task: 'captioning', metric: 'CIDEr-D' }, { task: 'captioning', metric: 'object_count' },
    { task: 'vqa', metric: 'accuracy' }, { task: 'vqa', metric: 'object_count' },
    { task: 'shape', metric: 'accuracy' },
  ]);
  assert.equal(t.cells.length, CONDITIONS.length * 2 * t.rows.length);
  for (const mode of t.modes) {
    for (const c of CONDITIONS) {
      for (const row of t.rows) {
        const cell = t.cells.find((x) => x.mode === mode && x.condition === c && x.task === row.task && x.metric === row.metric);
        assert.ok(cell, `${c} ${mode} ${row.task}/${row.metric}`);
        assert.equal(cell.knockout, c !== 'none');
        if (c === 'none') assert.deepEqual(cell.specs, []);
        else assert.ok(cell.specs.every((s) => s.type === 'knockout' && s.mode === mode && s.layers === 'all' && s.heads === 'all'));
      }
    }
  }
  const cell = (c: string, mode: string, task: string, metric: string) => t.cells.find((x) => x.condition === c && x.mode === mode && x.task === task && x.metric === metric)!;
  assert.deepEqual(cell('eoi', 'zero', 'vqa', 'accuracy').specs, [{ type: 'knockout', queries: '@all', keys: '@eoi', layers: 'all', heads: 'all', mode: 'zero' }]);
  assert.deepEqual(cell('image-to-text', 'renormalize', 'shape', 'accuracy').specs, [{ type: 'knockout', queries: '@text-after-image', keys: '@all-image', layers: 'all', heads: 'all', mode: 'renormalize' }]);

  // none == a clean suite run (same predictions, same scores)
  const clean = await runSuite({ checkpoint: f.native, suite });
  const noneRun = t.suite.runs.find((r) => r.condition === 'none')!;
  for (const [name, tr] of Object.entries(clean.runs[0]!.tasks)) {
    assert.deepEqual(noneRun.tasks[name]!.predictions, tr.predictions);
    assert.deepEqual(noneRun.tasks[name]!.metrics, tr.metrics);
  }
  for (const mode of t.modes) assert.equal(cell('none', mode, 'vqa', 'accuracy').mean, clean.runs[0]!.tasks.vqa!.metrics.accuracy);

  // random-image: two repetitions with seeds 11, 12; the spread is computed from the runs' own scores
  for (const mode of t.modes) {
    const runs = t.suite.runs.filter((r) => r.condition === 'random-image:3' && r.mode === mode);
    assert.deepEqual(runs.map((r) => r.seed), [11, 12]);
    for (const row of t.rows) {
      const v = runs.map((r) => r.tasks[row.task]!.metrics[row.metric]!);
      const c = cell('random-image:3', mode, row.task, row.metric);
      const mean = (v[0]! + v[1]!) / 2;
      assert.ok(Math.abs(c.mean - mean) < 1e-12);
      assert.ok(Math.abs(c.std - Math.abs(v[0]! - v[1]!) / Math.SQRT2) < 1e-12);
      assert.deepEqual([c.min, c.max, c.repetitions, c.seeds], [Math.min(...v), Math.max(...v), 2, [11, 12]]);
    }
  }

  // cutting every text->image edge before the softmax changes what a (random) model says about the image
  const i2t = t.suite.runs.find((r) => r.id === 'image-to-text.renormalize')!;
  assert.ok(Object.keys(noneRun.tasks).some((k) => JSON.stringify(i2t.tasks[k]!.predictions) !== JSON.stringify(noneRun.tasks[k]!.predictions)));

  // files: the table and every run's standard-format predictions
  const doc = JSON.parse(readFileSync(join(out, 'knockout.json'), 'utf8')) as { cells: unknown[]; modes: string[]; experiment: string };
  assert.deepEqual([doc.experiment, doc.modes, doc.cells.length], ['E6', ['zero', 'renormalize'], t.cells.length]);
  const md = readFileSync(join(out, 'knockout.md'), 'utf8');
  assert.match(md, /### Knockout mode zero: post-softmax zeroing/);
  assert.match(md, /\| task \/ metric \| none \| eoi \| last-image \| random-image:3 \| image-to-text \|/);
  for (const r of t.suite.runs) assert.equal(parseCaptionResults(JSON.parse(readFileSync(join(out, 'runs', r.id, 'captioning.json'), 'utf8')), r.id).length, 3);
});

test('CLI: narrowgate knockout prints the table and writes knockout.json', () => {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const mainJs = join(here, '../../src/cli/main.js');
  const main = existsSync(mainJs) ? mainJs : join(here, '../../src/cli/main.ts');
  const execArgv = process.execArgv.filter((a, i, all) => a === '--import' || all[i - 1] === '--import' || a.startsWith('--import='));
  const out = join(f.root, 'cli-e6');
  const r = spawnSync(process.execPath, [...execArgv, main, 'knockout', '--checkpoint', f.adapter, '--suite', suite, '--conditions', 'none,eoi', '--modes', 'renormalize', '--limit', '2', '--out', out, '--backend', 'cpu', '--quiet'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /### Knockout mode renormalize/);
  assert.match(r.stdout, /\| shape \/ accuracy \| \d\.\d{3} \| \d\.\d{3} \|/);
  const doc = JSON.parse(readFileSync(join(out, 'knockout.json'), 'utf8')) as { cells: { mode: string }[]; n_images: number };
  assert.equal(doc.n_images, 2);
  assert.ok(doc.cells.every((c) => c.mode === 'renormalize'));
  const bad = spawnSync(process.execPath, [...execArgv, main, 'knockout', '--checkpoint', f.adapter, '--suite', suite, '--modes', 'soft', '--out', join(out, 'x'), '--backend', 'cpu', '--quiet'], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^narrowgate: --modes "soft" has "soft"; expected zero and\/or renormalize\./);
});
