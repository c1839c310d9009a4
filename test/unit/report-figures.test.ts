import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { compile, type TopLevelSpec } from 'vega-lite';
import { FIGURE_BUILDERS, buildFigures, e1Figure, e3Figure, e6Figure, e9Figure } from '../../src/report/figures.js';
import { renderFigure, renderSvg } from '../../src/report/render.js';
import type { ResultsDoc } from '../../src/report/results.js';
import { UserError } from '../../src/util/errors.js';
import { sampleDoc } from '../helpers/report-doc.js';

const doc = await sampleDoc();
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function values(spec: Record<string, unknown>): Record<string, unknown>[] {
  return (spec.data as { values: Record<string, unknown>[] }).values;
}

test('every figure builder gives a spec that vega-lite compiles and that renders to non-empty SVG and PNG', async () => {
  const figs = buildFigures(doc);
  assert.equal(figs.length, FIGURE_BUILDERS.length, 'the sample document fills every figure');
  assert.equal(new Set(figs.map((f) => f.id)).size, figs.length, 'figure ids are unique');
  for (const f of figs) {
    const vg = compile(f.spec as unknown as TopLevelSpec).spec;
    assert.ok(Array.isArray(vg.marks) && vg.marks.length > 0, `${f.id}: compiled vega has marks`);
    const { svg, png } = await renderFigure(f.spec, 1);
    assert.match(svg, /^<svg[\s\S]*<\/svg>$/, `${f.id}: an SVG document`);
    assert.ok(svg.includes('<path') || svg.includes('<rect'), `${f.id}: the SVG draws marks`);
    const title = f.spec.title as string;
    assert.ok(svg.includes(title.replace(/&/g, '&amp;').replace(/>/g, '&gt;')), `${f.id}: the title is rendered as SVG text`);
    assert.deepEqual(png.subarray(0, 8), PNG_MAGIC, `${f.id}: PNG signature`);
    const meta = await sharp(png).metadata();
    assert.ok((meta.width ?? 0) > 100 && (meta.height ?? 0) > 100, `${f.id}: PNG of a plausible size`);
    // Not a blank page: the rendered chart has dark pixels (text, lines) as well as white background.
    const stats = await sharp(png).stats();
    assert.ok(stats.channels[0]!.min < 100 && stats.channels[0]!.max > 200, `${f.id}: the PNG has content`);
  }
});

test('E1 data are the records as given: median and IQR per model and depth', () => {
  const f = e1Figure(doc)!;
  const v = values(f.spec);
  assert.equal(v.length, 3 * 4);
  const adapterLast = v.find((r) => r.model === 'adapter' && r.layer === 3)!;
  assert.deepEqual([adapterLast.depth, adapterLast.median, adapterLast.q25, adapterLast.q75].map((x) => Math.round((x as number) * 1e6) / 1e6), [1, 0.4, 0.35, 0.45]);
});

test('E3 marks layer 0 (faded and labelled "emb.": [EOI] is only its embedding there)', async () => {
  const f = e3Figure(doc)!;
  const v = values(f.spec);
  assert.ok(v.filter((r) => r.layer === 0).every((r) => r.layer0 === true));
  assert.ok(v.filter((r) => r.layer !== 0).every((r) => r.layer0 === false));
  const svg = await renderSvg(f.spec);
  assert.equal((svg.match(/>emb\.</g) ?? []).length, doc.models.length, 'one "emb." label per model panel');
  // Shares per (model, layer) stack to 1 in the sample: the stacked bars reach the 1.0 gridline.
  for (const m of doc.models) for (const l of [0, 1, 2, 3]) {
    const s = v.filter((r) => r.model === m.name && r.layer === l).reduce((a, r) => a + (r.share as number), 0);
    assert.ok(Math.abs(s - 1) < 1e-9);
  }
});

test('E6 shows the none condition once per task metric and model, and every knocked-out cell with its mode', () => {
  const v = values(e6Figure(doc)!.spec);
  const none = v.filter((r) => r.condition === 'none');
  assert.equal(none.length, 3 * 2, 'three models x two task metrics');
  assert.ok(none.every((r) => r.mode === 'none'));
  const eoi = v.filter((r) => r.model === 'native' && r.condition === '[EOI]' && r.measure === 'caption: CIDEr-D');
  assert.deepEqual(eoi.map((r) => r.mode).sort(), ['renormalize', 'zero']);
  const rnd = v.find((r) => r.model === 'native' && r.condition === '10 random image tokens')!;
  assert.ok(Math.abs((rnd.lo as number) - 0.48) < 1e-9 && Math.abs((rnd.hi as number) - 0.52) < 1e-9, 'whisker = value +- spread');
});

test('E9 compares a base model with its fine-tune only, in mode zero', () => {
  const v = values(e9Figure(doc)!.spec);
  assert.deepEqual([...new Set(v.map((r) => r.variant))].sort(), ['native (base)', 'native-distribute (distribute)']);
  assert.ok(v.every((r) => r.mode !== 'renormalize'));
  assert.deepEqual([...new Set(v.map((r) => r.condition))].sort(), ['[EOI]', 'image->text', 'none']);
});

test('a figure is left out when no model has its data, and null values are dropped', async () => {
  const bare: ResultsDoc = { ...doc, models: doc.models.map(({ e1, e7, ...m }) => ({ ...m, errors: { e1: 'out of memory' } })) };
  assert.equal(e1Figure(bare), null, 'a failed E1 gives no figure');
  assert.ok(!buildFigures(bare).some((f) => f.experiment === 'E7'));
  const sparse = JSON.parse(JSON.stringify(doc)) as ResultsDoc;
  sparse.models[0]!.e1!.records[2]!.median = null;
  assert.equal(values(e1Figure(sparse)!.spec).length, 3 * 4 - 1);
  assert.equal(e9Figure({ ...doc, models: doc.models.slice(0, 2) }), null, 'no fine-tunes, no E9 figure');
});

test('a spec vega-lite cannot compile gives a UserError', async () => {
  await assert.rejects(renderSvg({ mark: 'no-such-mark', data: { values: [] } }), UserError);
});
