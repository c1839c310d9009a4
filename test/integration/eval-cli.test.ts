/**
 * `narrowgate eval caption|vqa` end to end: spawns the CLI (the sources through tsx, or the build when
 * the tests run from dist/) on the parity fixtures and checks exit codes, --json output against the
 * reference values, and the error messages for bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, metricFixturePath, readMetricFixture, FIXTURE_KEYS } from '../helpers/metrics-fixtures.js';

const fromDist = import.meta.url.includes('/dist/test/');
const CLI = fromDist ? ['dist/src/cli/main.js'] : ['--import', 'tsx', 'src/cli/main.ts'];

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const F = metricFixturePath;
const tmp = mkdtempSync(join(tmpdir(), 'narrowgate-eval-cli-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));
function tmpJson(name: string, value: unknown | string): string {
  const p = join(tmp, name);
  writeFileSync(p, typeof value === 'string' ? value : JSON.stringify(value));
  return p;
}

test('eval caption --json prints the corpus metrics of the fixture (pycocoevalcap values)', () => {
  const expected = readMetricFixture('caption-expected.json');
  for (const tok of ['ptb', 'whitespace']) {
    const r = cli('eval', 'caption', '--results', F('caption-results.json'), '--annotations', F('caption-annotations.json'), '--tokenize', tok, '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.n_images, 60);
    for (const [fk, ours] of Object.entries(FIXTURE_KEYS)) {
      assert.ok(Math.abs(out[ours] - expected.corpus[fk]) <= 1e-9, `${tok} ${ours}: ${out[ours]} vs ${expected.corpus[fk]}`);
    }
  }
});

test('eval caption prints a readable table without --json', () => {
  const r = cli('eval', 'caption', '--results', F('caption-results.json'), '--annotations', F('caption-annotations.json'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /60 images, ptb tokens/);
  assert.match(r.stdout, /CIDEr-D\s+2\.2623/);
  assert.match(r.stdout, /ROUGE-L\s+0\.6167/);
});

test('eval vqa --json prints the official accuracy on the 0-1 scale', () => {
  const expected = readMetricFixture('vqa-expected.json');
  const r = cli('eval', 'vqa', '--results', F('vqa-results.json'), '--annotations', F('vqa-annotations.json'), '--questions', F('vqa-questions.json'), '--json');
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.n_questions, 80);
  assert.ok(Math.abs(out.overall - expected.overall_unrounded_0_1) <= 1e-9);
  for (const [k, v] of Object.entries(expected.perAnswerType_unrounded_0_1 as Record<string, number>)) {
    assert.ok(Math.abs(out.perAnswerType[k] - v) <= 1e-9, k);
  }
  for (const [k, v] of Object.entries(expected.perQuestionType_unrounded_0_1 as Record<string, number>)) {
    assert.ok(Math.abs(out.perQuestionType[k] - v) <= 1e-9, k);
  }
  const human = cli('eval', 'vqa', '--results', F('vqa-results.json'), '--annotations', F('vqa-annotations.json'));
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /overall\s+0\.7350/);
});

test('ids present in one file and not the other are an error that names them', () => {
  const results = readMetricFixture('caption-results.json') as { image_id: number; caption: string }[];
  const partial = tmpJson('partial.json', [...results.slice(2), { image_id: 123456789, caption: 'a dog' }]);
  const r = cli('eval', 'caption', '--results', partial, '--annotations', F('caption-annotations.json'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /1 image id is in the results but not in the annotations \(123456789\)/);
  const m = /2 image ids are in the annotations but not in the results \((\d+), (\d+)\)/.exec(r.stderr);
  assert.ok(m, r.stderr);
  assert.deepEqual(new Set([Number(m[1]), Number(m[2])]), new Set([results[0]!.image_id, results[1]!.image_id]));
  assert.equal(r.stdout, '');

  const vres = readMetricFixture('vqa-results.json') as { question_id: number }[];
  const vpartial = tmpJson('vpartial.json', vres.slice(1));
  const v = cli('eval', 'vqa', '--results', vpartial, '--annotations', F('vqa-annotations.json'));
  assert.equal(v.code, 1);
  assert.match(v.stderr, new RegExp(`1 question id is in the annotations but not in the results \\(${vres[0]!.question_id}\\)`));
});

test('malformed JSON, missing keys and missing files are one-sentence errors with exit code 1', () => {
  const bad = tmpJson('bad.json', '{"images": [');
  let r = cli('eval', 'caption', '--results', F('caption-results.json'), '--annotations', bad);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bad\.json is not valid JSON/);

  const noCaption = tmpJson('nocaption.json', [{ image_id: 1 }]);
  r = cli('eval', 'caption', '--results', noCaption, '--annotations', F('caption-annotations.json'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /nocaption\.json: entry 0 lacks "caption"/);

  const noImages = tmpJson('noimages.json', { annotations: [] });
  r = cli('eval', 'caption', '--results', F('caption-results.json'), '--annotations', noImages);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /has no "images" list/);

  r = cli('eval', 'vqa', '--results', join(tmp, 'does-not-exist.json'), '--annotations', F('vqa-annotations.json'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Cannot read results file .*does-not-exist\.json/);
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, 'no stack trace without --verbose');
});

test('every eval subcommand has --help with an example', () => {
  for (const sub of ['caption', 'vqa']) {
    const r = cli('eval', sub, '--help');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Examples:/);
    assert.match(r.stdout, new RegExp(`narrowgate eval ${sub} --results`));
  }
  const bad = cli('eval', 'caption', '--results', F('caption-results.json'), '--annotations', F('caption-annotations.json'), '--tokenize', 'nltk');
  assert.notEqual(bad.code, 0);
});
