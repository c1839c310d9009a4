/**
 * `narrowgate demo --quick` end to end on tiny random checkpoints (native 2 layers, adapter 1 layer,
 * and a "distribute" fine-tune of the native one): every figure and result file is produced, the
 * results document validates, and report.html references nothing outside itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { discoverCheckpoints } from '../../src/demo/models.js';
import { loadResults } from '../../src/report/results.js';
import { evalFixture } from '../helpers/eval-tiny.js';
import { externalRefs } from '../helpers/report-doc.js';

const here = dirname(fileURLToPath(import.meta.url));
const fromDist = import.meta.url.includes('/dist/test/');
const ROOT = resolve(here, fromDist ? '../../..' : '../..');
const CLI = fromDist ? ['dist/src/cli/main.js'] : ['--import', 'tsx', 'src/cli/main.ts'];

const f = await evalFixture(6);
test.after(() => rmSync(f.root, { recursive: true, force: true }));

// A fine-tune of the native checkpoint, as the recipes' distribute fine-tune would record it (E9).
const tuned = join(f.root, 'native-distribute');
cpSync(f.native, tuned, { recursive: true });
writeFileSync(
  join(tuned, 'recipe.resolved.yaml'),
  [
    'name: distribute',
    'data: {source: shapes}',
    `init: {from: ${JSON.stringify(f.native)}}`,
    'intervention:',
    '  knockouts: [{type: knockout, queries: "@text-after-image", keys: "@eoi", layers: all, heads: all, mode: renormalize}]',
    '  probability: 1',
    '',
  ].join('\n'),
);

test('checkpoint discovery finds both families, reads the fine-tune relation and skips what is not a VLM', () => {
  const notVlm = join(f.root, 'not-a-vlm');
  cpSync(f.native, notVlm, { recursive: true });
  writeFileSync(join(notVlm, 'config.json'), JSON.stringify({ type: 'narrowgate-vqvae' }));
  const d = discoverCheckpoints([f.root]);
  assert.deepEqual(d.models.map((m) => [m.name, m.family, m.numLayers]).sort(), [['adapter', 'adapter', 1], ['native', 'native', 2], ['native-distribute', 'native', 2]]);
  assert.deepEqual(d.models.find((m) => m.name === 'native-distribute')!.finetune, { of: 'native', kind: 'distribute' });
  assert.equal(d.models.find((m) => m.name === 'native')!.finetune, undefined);
  assert.deepEqual(d.skipped.map((s) => s.dir), [notVlm]);
  rmSync(notVlm, { recursive: true });
});

test('demo --quick writes report.html, results.json and every figure (PNG + vega-lite) for all models; the page is self-contained', async () => {
  const out = join(f.root, 'demo');
  const r = spawnSync(process.execPath, [...CLI, 'demo', '--quick', '--checkpoints', f.native, f.adapter, tuned, '--out', out, '--json', '--seed', '1'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 300_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { events: { model: string; stage: string; status: string; message?: string }[]; seconds: number };
  const failed = j.events.filter((e) => e.status === 'failed');
  assert.deepEqual(failed, [], 'no stage fails on the tiny models');
  // Skipped on purpose: image generation for the adapter only.
  assert.deepEqual(j.events.filter((e) => e.status === 'skipped').map((e) => `${e.model}/${e.stage}`), ['adapter/generated']);

  const figures = [
    'e1-modality-gap-cosine', 'e2-modality-gap-homogeneity', 'e3-attention-flow', 'e4-overlap', 'e5-progressive-knockout',
    'e6-knockout-table', 'e7-patching', 'e8-steering', 'e8-robustness', 'e9-finetune',
  ];
  for (const id of figures) {
    assert.ok(existsSync(join(out, 'figures', `${id}.png`)), `${id}.png`);
    const spec = JSON.parse(readFileSync(join(out, 'figures', `${id}.vl.json`), 'utf8'));
    assert.ok(Array.isArray(spec.data.values) && spec.data.values.length > 0, `${id}.vl.json carries its data`);
  }
  const doc = await loadResults(join(out, 'results.json'));
  assert.deepEqual(doc.models.map((m) => m.name), ['native', 'adapter', 'native-distribute'], 'in the order given');
  for (const m of doc.models) {
    for (const k of ['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8'] as const) assert.ok(m[k], `${m.name} has ${k}`);
    assert.equal(m.errors, undefined);
    assert.ok(m.e8!.robustness!.length > 0 && m.e8!.examples!.length > 0, `${m.name}: robustness rows and edit examples`);
    assert.equal(m.checkpointHash.length, 'sha256:'.length + 64);
  }
  assert.ok(doc.models.filter((m) => m.family === 'native').every((m) => (m.generated ?? []).length > 0), 'native models draw images');
  assert.deepEqual(doc.models.find((m) => m.name === 'native-distribute')!.finetune, { of: 'native', kind: 'distribute' });

  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.deepEqual(externalRefs(html), []);
  assert.doesNotMatch(html, /https?:\/\/|\/\/cdn/i);
  for (const id of figures) assert.ok(html.includes(`id="fig-${id}"`), `${id} is in the page`);
  assert.ok(!existsSync(join(out, 'work')), 'scratch data removed');
});

test('demo without checkpoints, or with an unknown stage, exits 1 with one sentence', () => {
  const empty = join(f.root, 'empty');
  mkdirSync(empty, { recursive: true });
  const a = spawnSync(process.execPath, [...CLI, 'demo', '--checkpoints', empty, '--out', join(f.root, 'x')], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(a.status, 1);
  assert.match(a.stderr, /^narrowgate: No vision-language checkpoints under .*empty/);
  const b = spawnSync(process.execPath, [...CLI, 'demo', '--checkpoints', f.native, '--stages', 'gap,nope', '--out', join(f.root, 'y')], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(b.status, 1);
  assert.match(b.stderr, /^narrowgate: Unknown demo stage nope; expected some of gap, attention/);
  assert.ok(!existsSync(join(f.root, 'x')) && !existsSync(join(f.root, 'y')), 'nothing written');
});
