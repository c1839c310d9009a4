import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile, type TopLevelSpec } from 'vega-lite';
import { buildFigures } from '../../src/report/figures.js';
import { rebuildReport, writeReport } from '../../src/report/write.js';
import { UserError } from '../../src/util/errors.js';
import { externalRefs, sampleDoc } from '../helpers/report-doc.js';

const here = dirname(fileURLToPath(import.meta.url));
const fromDist = import.meta.url.includes('/dist/test/');
const ROOT = resolve(here, fromDist ? '../../..' : '../..');
const CLI = fromDist ? ['dist/src/cli/main.js'] : ['--import', 'tsx', 'src/cli/main.ts'];

const tmp = mkdtempSync(join(tmpdir(), 'narrowgate-report-html-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));
const doc = await sampleDoc();

test('writeReport writes report.html, results.json and a PNG + vega-lite spec per figure; the page is self-contained', async () => {
  const out = join(tmp, 'run');
  const r = await writeReport(doc, out);
  const ids = buildFigures(doc).map((f) => f.id);
  const files = readdirSync(join(out, 'figures')).sort();
  assert.deepEqual(files, ids.flatMap((id) => [`${id}.png`, `${id}.vl.json`]).sort());
  for (const id of ids) {
    const spec = JSON.parse(readFileSync(join(out, 'figures', `${id}.vl.json`), 'utf8'));
    assert.ok(compile(spec as TopLevelSpec).spec.marks, `${id}.vl.json compiles on its own (data inline)`);
    assert.ok(readFileSync(join(out, 'figures', `${id}.png`)).length > 1000);
  }
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')), JSON.parse(JSON.stringify(doc)));
  const html = readFileSync(r.html, 'utf8');
  assert.deepEqual(externalRefs(html), [], 'no external URL in report.html');
  assert.doesNotMatch(html, /<script|<link|@import/i);
  // One inline PNG per figure, plus the sample's example images (3 models x 1) and generated images (2 native models x 1).
  assert.equal((html.match(/src="data:image\/png;base64,/g) ?? []).length, ids.length + 3 + 2);
  // Each figure's inline image decodes (whitespace dropped, as browsers do) to the PNG written beside it.
  for (const id of ids) {
    const m = new RegExp(`id="fig-${id}"><img alt="[^"]*" src="data:image/png;base64,([^"]*)"`).exec(html);
    assert.ok(m, `${id} is inlined`);
    assert.doesNotMatch(m[1]!, /\/\//, 'no two slashes in a row inside the data URI');
    assert.deepEqual(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'), readFileSync(join(out, 'figures', `${id}.png`)));
  }
  assert.ok(!readdirSync(out).some((f) => f.startsWith('.tmp-')), 'no temporary files left behind');
});

test('report.html carries the generated sentences, the knockout table and "not run" for missing experiments', async () => {
  const d = JSON.parse(JSON.stringify(doc));
  delete d.models[1].e5;
  const out = join(tmp, 'run2');
  const r = await writeReport(d, out);
  const html = readFileSync(r.html, 'utf8');
  assert.match(html, /changes caption CIDEr-D from 0\.52 to 0\.03 \(-94%; a drop of 50% or more\): captioning collapses\./);
  assert.match(html, /<b>adapter<\/b> Not run\./);
  // The knockout table: native's caption row, none 0.52 ... [EOI] zero 0.03, random 0.50 +- 0.02.
  assert.match(html, /<td class="l">caption<\/td><td class="l">CIDEr-D<\/td><td>0\.52<\/td><td>0\.03<\/td>/);
  assert.match(html, /0\.50 &plusmn; 0\.02/);
  // User text is escaped.
  assert.match(html, /red -&gt; blue/);
});

test('an invalid document is refused before anything is written', async () => {
  const out = join(tmp, 'bad');
  const bad = JSON.parse(JSON.stringify(doc));
  bad.models[0].e3.records[0].share = 'x';
  await assert.rejects(writeReport(bad, out), (e: unknown) => e instanceof UserError && e.message.includes('models[0].e3.records[0].share'));
  assert.equal(existsSync(out), false);
});

test('rebuildReport regenerates the page and the figures from results.json alone', async () => {
  const out = join(tmp, 'rebuild');
  await writeReport(doc, out);
  rmSync(join(out, 'figures'), { recursive: true });
  rmSync(join(out, 'report.html'));
  const r = await rebuildReport(out);
  assert.equal(r.figures.length, buildFigures(doc).length);
  for (const f of r.figures) assert.ok(existsSync(f.png) && existsSync(f.spec));
  assert.deepEqual(externalRefs(readFileSync(r.html, 'utf8')), []);
});

test('narrowgate report RUN_DIR rebuilds the report; a malformed results.json exits 1 with one sentence naming the field', async () => {
  const out = join(tmp, 'cli');
  await writeReport(doc, out);
  rmSync(join(out, 'report.html'));
  const ok = spawnSync(process.execPath, [...CLI, 'report', out, '--json', '--scale', '1'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(ok.status, 0, ok.stderr);
  const j = JSON.parse(ok.stdout);
  assert.equal(j.html, join(out, 'report.html'));
  assert.ok(existsSync(j.html));
  const bad = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  bad.models[1].e6.rows[2].value = 'n/a';
  writeFileSync(join(out, 'results.json'), JSON.stringify(bad));
  const r = spawnSync(process.execPath, [...CLI, 'report', out], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^narrowgate: .*models\[1\]\.e6\.rows\[2\]\.value/);
  assert.equal(r.stderr.trim().split('\n').length, 1, 'one line, no stack trace');
});

test('an in-memory NaN (undefined measurement) is written as null and shown as missing; extra runner fields are kept', async () => {
  const d = JSON.parse(JSON.stringify(doc));
  d.models[0].e2.records[1].homogeneity = Number.NaN;
  d.models[0].e2.records[1].twoNN = 7.5;
  d.models[0].e2.records[1].extraNote = 'kept';
  const out = join(tmp, 'nan');
  await writeReport(d, out);
  const back = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.equal(back.models[0].e2.records[1].homogeneity, null);
  assert.equal(back.models[0].e2.records[1].extraNote, 'kept');
  const spec = JSON.parse(readFileSync(join(out, 'figures', 'e2-modality-gap-homogeneity.vl.json'), 'utf8'));
  assert.equal(spec.data.values.filter((v: { model: string }) => v.model === 'native').length, 3, 'the undefined layer is left out of the figure');
});
