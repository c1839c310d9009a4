/**
 * `eval suite` and `eval robustness` end to end on tiny random checkpoints of both families and a
 * tiny shapes dataset: the predictions files are in the standard formats and the metrics read them
 * back to the same scores; a next-token classification equals the argmax of a direct forward pass; a
 * knockout that resolves to no positions leaves every score equal to the clean run; robustness
 * deltas equal edited - clean of two separate runs; no tensors leak; the CLI writes the same files
 * and turns a bad suite into one sentence with exit code 1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { runRobustness, runSuite } from '../../src/eval/index.js';
import { loadPipeline } from '../../src/interventions/pipeline.js';
import { evaluateCocoCaptions, evaluateVqa, parseCaptionAnnotations, parseCaptionResults, parseVqaAnnotations, parseVqaResults } from '../../src/metrics/index.js';
import { readJson } from '../../src/util/fs.js';
import { evalFixture, tinySuiteYaml, writeText } from '../helpers/eval-tiny.js';
import { useBackend } from '../helpers/tiny.js';

await useBackend('cpu');
const f = await evalFixture(4);
const suite = writeText(join(f.root, 'tiny.yaml'), tinySuiteYaml(f.data));
const read = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as unknown;

for (const [family, ck] of [['native', f.native], ['adapter', f.adapter]] as const) {
  test(`suite (${family}): standard results files that the metrics read back to the same scores`, async () => {
    const out = join(f.root, `suite-${family}`);
    const before = tf.memory().numTensors;
    const r = await runSuite({ checkpoint: ck, suite, out });
    assert.equal(tf.memory().numTensors, before, 'tensors leaked by a suite run');
    assert.deepEqual(r.runs.map((x) => x.id), ['none']);
    const scores = read(join(out, 'scores.json')) as { runs: { id: string; specs: unknown[]; mode: null; tasks: Record<string, { metrics: Record<string, number> }> }[]; checkpoint_sha256: string; edit: unknown[] };
    assert.match(scores.checkpoint_sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual([scores.edit, scores.runs[0]!.specs, scores.runs[0]!.mode], [[], [], null]);
    const m = scores.runs[0]!.tasks;
    const dir = join(out, 'runs', 'none');
    // captions: COCO results against the dataset's COCO file (restricted to the evaluated images)
    const caps = parseCaptionResults(read(join(dir, 'captioning.json')), 'captioning.json');
    assert.deepEqual(caps.map((c) => c.image_id), [0, 1, 2, 3]);
    const ann = parseCaptionAnnotations(read(join(f.data, 'captions.json')), 'captions.json');
    const ev = evaluateCocoCaptions(caps, ann, 'whitespace');
    assert.equal(m.captioning!.metrics['CIDEr-D'], ev.corpus['CIDEr-D']);
    assert.equal(m.captioning!.metrics['BLEU-1'], ev.corpus['BLEU-1']);
    assert.ok(m.captioning!.metrics.object_count! >= 0 && m.captioning!.metrics.object_count! <= 1);
    // VQA: results against the dataset's VQAv2 annotations (the suite keeps color, count, exists)
    const answers = parseVqaResults(read(join(dir, 'vqa.json')), 'vqa.json');
    const attrs = new Map(f.ds.vqa.annotations.annotations.map((a) => [a.question_id, a.attribute]));
    assert.equal(answers.length, 4 * 3);
    assert.ok(answers.every((a) => ['color', 'count', 'exists'].includes(attrs.get(a.question_id as number) as string)));
    const wanted = new Set(answers.map((a) => a.question_id));
    const vqaAnn = parseVqaAnnotations(read(join(f.data, 'annotations.json')), 'annotations.json').filter((a) => wanted.has(a.question_id));
    const vev = evaluateVqa(vqaAnn, answers);
    assert.equal(m.vqa!.metrics.accuracy, vev.overall);
    const countQs = vev.perQuestion.filter((q) => attrs.get(q.questionId as number) === 'count');
    assert.equal(m.vqa!.metrics.object_count, countQs.reduce((s, q) => s + q.accuracy, 0) / countQs.length);
    // classification: labels are the dataset's class names; accuracy is the share of matches
    for (const [task, field] of [['shape', 'shape'], ['colour-gen', 'color']] as const) {
      const preds = read(join(dir, `${task}.json`)) as { image_id: number; label: string; prediction: string }[];
      for (const p of preds) assert.equal(p.label, f.ds.labelFields[field]![f.ds.byId(p.image_id).labels[field]!]);
      assert.equal(m[task]!.metrics.accuracy, preds.filter((p) => p.prediction === p.label).length / preds.length);
    }
    const run = read(join(dir, 'run.json')) as { condition: string; specs: unknown[]; checkpoint_sha256: string };
    assert.deepEqual([run.condition, run.specs, run.checkpoint_sha256], ['none', [], scores.checkpoint_sha256]);
  });
}

test('next-token classification equals the argmax over the class words of a direct forward pass', async () => {
  const r = await runSuite({ checkpoint: f.native, suite });
  const preds = r.runs[0]!.tasks.shape!.predictions as { image_id: number; prediction: string }[];
  const p = await loadPipeline(f.native);
  try {
    const names = f.ds.labelFields.shape!;
    const ids = names.map((n) => p.tokenizer.encode(n)[0]!);
    for (const pr of preds) {
      const im = f.ds.byId(pr.image_id);
      const [ex] = await p.prepare([{ id: im.id, image: im, prompt: `a picture of a ${f.ds.labelFields.color![im.labels.color!]}` }]);
      const x = tf.tensor2d([Array.from(ex!.ids)], [1, ex!.ids.length], 'int32');
      const logits = p.model.forward({ ids: x, spans: [ex!.spans] });
      const last = (logits.arraySync() as number[][][])[0]![ex!.ids.length - 1]!;
      logits.dispose();
      x.dispose();
      let best = 0;
      ids.forEach((id, k) => (last[id]! > last[ids[best]!]! ? (best = k) : 0));
      assert.equal(pr.prediction, names[best]);
    }
  } finally {
    p.dispose();
  }
});

test('a knockout that resolves to no positions (both modes) scores exactly as the clean run', async () => {
  const none = writeText(join(f.root, 'nothing.json'), JSON.stringify([
    { type: 'knockout', queries: '@all', keys: '500:600', mode: 'zero' },
    { type: 'knockout', queries: '@all', keys: '500:600', mode: 'renormalize' },
  ]));
  const clean = await runSuite({ checkpoint: f.native, suite });
  const edited = await runSuite({ checkpoint: f.native, suite, edit: none });
  assert.equal(edited.edit.length, 2);
  assert.equal(edited.runs[0]!.specs.length, 2);
  for (const [name, t] of Object.entries(clean.runs[0]!.tasks)) {
    assert.deepEqual(edited.runs[0]!.tasks[name]!.predictions, t.predictions, name);
    assert.deepEqual(edited.runs[0]!.tasks[name]!.metrics, t.metrics, name);
  }
});

test('robustness: deltas are edited - clean of two separate suite runs; outputs record the edit', async () => {
  const steer = writeText(join(f.root, 'steer.json'), JSON.stringify({ type: 'steer', layer: 1, position: '@text-after-image', op: 'add', vector: { values: Array.from({ length: 16 }, (_, i) => (i % 3 ? 30 : -30)) } }));
  const out = join(f.root, 'robust');
  const before = tf.memory().numTensors;
  const r = await runRobustness({ checkpoint: f.native, suite, edit: steer, out });
  assert.equal(tf.memory().numTensors, before, 'tensors leaked by a robustness run');
  const clean = await runSuite({ checkpoint: f.native, suite });
  const edited = await runSuite({ checkpoint: f.native, suite, edit: steer });
  const metric = (s: typeof clean, task: string, m: string) => s.runs[0]!.tasks[task]!.metrics[m]!;
  assert.ok(r.rows.length > 10);
  for (const row of r.rows) {
    assert.equal(row.clean, metric(clean, row.task, row.metric));
    assert.equal(row.edited, metric(edited, row.task, row.metric));
    assert.equal(row.delta, metric(edited, row.task, row.metric) - metric(clean, row.task, row.metric));
  }
  assert.ok(r.rows.some((x) => x.delta !== 0), 'a strong steer changes some score');
  const doc = read(join(out, 'robustness.json')) as { edit: { type: string }[]; rows: unknown[] };
  assert.deepEqual(doc.edit.map((e) => e.type), ['steer']);
  assert.equal(doc.rows.length, r.rows.length);
  const er = read(join(out, 'edited', 'runs', 'none', 'run.json')) as { specs: { type: string }[] };
  assert.deepEqual(er.specs.map((s) => s.type), ['steer']);
  assert.deepEqual((read(join(out, 'clean', 'runs', 'none', 'run.json')) as { specs: unknown[] }).specs, []);
  assert.ok(existsSync(join(out, 'edited', 'runs', 'none', 'captioning.json')));
});

test('CLI: eval suite and eval robustness write their outputs; a bad suite is one sentence, exit 1', async () => {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const mainJs = join(here, '../../src/cli/main.js');
  const main = existsSync(mainJs) ? mainJs : join(here, '../../src/cli/main.ts');
  const execArgv = process.execArgv.filter((a, i, all) => a === '--import' || all[i - 1] === '--import' || a.startsWith('--import='));
  const cli = (args: string[]) => spawnSync(process.execPath, [...execArgv, main, ...args, '--backend', 'cpu', '--quiet'], { encoding: 'utf8' });
  const out = join(f.root, 'cli-suite');
  const s = cli(['eval', 'suite', suite, '--checkpoint', f.adapter, '--limit', '2', '--out', out, '--json']);
  assert.equal(s.status, 0, s.stderr);
  const parsed = JSON.parse(s.stdout) as { n_images: number; summary: { task: string; metric: string; mean: number }[] };
  assert.equal(parsed.n_images, 2);
  const scores = await readJson<{ summary: { task: string; metric: string; mean: number }[] }>(join(out, 'scores.json'));
  assert.deepEqual(parsed.summary, scores.summary);
  const rob = cli(['eval', 'robustness', '--suite', suite, '--checkpoint', f.adapter, '--edit', join(f.root, 'nothing.json'), '--limit', '2', '--out', join(f.root, 'cli-rob')]);
  assert.equal(rob.status, 0, rob.stderr);
  assert.match(rob.stdout, /none\s+captioning \/ CIDEr-D\s+\d\.\d{4} \d\.\d{4} \+0\.0000/);
  const bad = writeText(join(f.root, 'bad.yaml'), tinySuiteYaml(f.data, 'condtions: [eoi]'));
  const b = cli(['eval', 'suite', bad, '--checkpoint', f.adapter, '--out', join(f.root, 'never')]);
  assert.equal(b.status, 1);
  assert.equal(b.stderr.trim(), `narrowgate: Suite ${bad}: unknown key "condtions"; check the spelling against the suite format in src/eval/suite-schema.ts.`);
  assert.equal(existsSync(join(f.root, 'never')), false);
});
