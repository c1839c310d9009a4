/**
 * `narrowgate analyze`, `patch` and `steer` end to end: spawns the CLI (sources through tsx, or the
 * build from dist/) on the tiny checkpoints; --json equals the library's numbers, tables print,
 * results.json validates as a report document, bad input gives one sentence and exit code 1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/metrics-fixtures.js';
import { experimentsFixture } from '../helpers/experiments-tiny.js';
import { runAttentionFlow } from '../../src/experiments/index.js';
import { validateResults } from '../../src/report/results.js';

const fromDist = import.meta.url.includes('/dist/test/');
const CLI = fromDist ? ['dist/src/cli/main.js'] : ['--import', 'tsx', 'src/cli/main.ts'];

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...CLI, ...args, '--backend', 'cpu'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('analyze attention --json equals the library; results.json and figure data written', async () => {
  const f = await experimentsFixture();
  const out = mkdtempSync(join(tmpdir(), 'ng-cli-e3-'));
  const r = cli('analyze', 'attention', '--checkpoint', f.native, '--data', f.data, '--limit', '5', '--prompt', 'what color is the shape ?', '--no-with-caption', '--out', out, '--json');
  assert.equal(r.code, 0, r.stderr);
  const doc = validateResults(JSON.parse(r.stdout));
  const lib = await runAttentionFlow({ checkpoint: f.native, data: f.data, limit: 5, prompt: 'what color is the shape ?', withCaption: false });
  const recs = doc.models[0]!.e3!.records;
  lib.doc.models[0]!.e3!.records.forEach((x, i) => {
    assert.equal(recs[i]!.label, x.label);
    assert.ok(Math.abs(recs[i]!.share! - x.share!) < 1e-9);
  });
  assert.ok(existsSync(join(out, 'results.json')) && existsSync(join(out, 'figure-e3.json')));
});

test('patch prints its table; steer --sweep --json; analyze modality-gap and overlap write results', async () => {
  const f = await experimentsFixture();
  const out = mkdtempSync(join(tmpdir(), 'ng-cli-e7-'));
  const p = cli('patch', '--checkpoint', f.native, '--data', f.single, '--pairs', '3', '--out', join(out, 'e7'));
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stdout, /E7 patching on \d+ pairs/);
  assert.match(p.stdout, /layer\s+variant\s+similarity\s+baseline\s+flip acc\./);
  assert.equal(validateResults(JSON.parse(readFileSync(join(out, 'e7', 'results.json'), 'utf8'))).models[0]!.e7!.records.length, 4);
  const names = f.singleDs.labelFields.shape!;
  const present = [...new Set([...f.singleDs.images()].map((im) => names[im.labels.shape!]!))];
  const s = cli('steer', '--checkpoint', f.native, '--data', f.single, '--from', present[0]!, '--to', present[1]!, '--sweep', '--layers', '1', '--alphas', '0,50', '--limit', '2', '--max-tokens', '2', '--json');
  assert.equal(s.code, 0, s.stderr);
  const sd = validateResults(JSON.parse(s.stdout));
  assert.deepEqual(sd.models[0]!.e8!.records.map((x) => [x.layer, x.alpha]), [[1, 0], [1, 50]]);
  const g = cli('analyze', 'modality-gap', '--checkpoint', f.adapter, '--data', f.data, '--limit', '10', '--out', join(out, 'e1'));
  assert.equal(g.code, 0, g.stderr);
  assert.match(g.stdout, /layer\s+depth\s+median/);
  const o = cli('analyze', 'overlap', '--checkpoint', f.native, '--data', f.data, '--k', '5', '--exact', '--out', join(out, 'e4'));
  assert.equal(o.code, 0, o.stderr);
  assert.match(o.stdout, /E4 overlap, k = 5/);
});

test('bad input: one sentence, exit code 1; --help shows an example', async () => {
  const f = await experimentsFixture();
  const e = cli('analyze', 'overlap', '--checkpoint', f.native, '--data', f.data, '--out', join(f.root, 'x'));
  assert.equal(e.code, 1);
  assert.match(e.stderr, /^narrowgate: E4 with k = 30 needs more than 30 examples, got 16; raise --limit or lower --k\.\n$/);
  const h = cli('steer', '--help');
  assert.equal(h.code, 0);
  assert.match(h.stdout, /Examples:/);
  assert.match(h.stdout, /--sweep/);
  const l = cli('patch', '--checkpoint', f.native, '--data', f.single, '--layers', '1-x', '--out', join(f.root, 'y'));
  assert.equal(l.code, 1);
  assert.match(l.stderr, /--layers "1-x" is invalid/);
});
