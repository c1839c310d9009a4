import { test } from 'node:test';
import assert from 'node:assert/strict';
import { narrate, THRESHOLDS } from '../../src/report/narrative.js';
import { changeClause } from '../../src/report/narrative-util.js';
import type { ModelResults, ResultsDoc } from '../../src/report/results.js';
import { sampleDoc } from '../helpers/report-doc.js';

const doc = await sampleDoc();

function said(d: ResultsDoc, model: string, exp: string): string {
  const n = narrate(d).find((x) => x.model === model)!;
  return n.items.filter((it) => it.experiment === exp).flatMap((it) => it.sentences).join(' ');
}

/** A one-model document whose only experiment is a captioning E6 with none = a, [EOI] = b. */
function e6Doc(a: number, b: number): ResultsDoc {
  const m: ModelResults = {
    name: 'm',
    family: 'native',
    checkpointHash: 'h',
    numLayers: 2,
    e6: {
      rows: [
        { task: 'caption', taskType: 'captioning', metric: 'CIDEr-D', condition: 'none', mode: 'zero', value: a },
        { task: 'caption', taskType: 'captioning', metric: 'CIDEr-D', condition: 'eoi', mode: 'zero', value: b },
      ],
    },
  };
  return { format: 'narrowgate-results', version: 1, createdAt: 'now', models: [m] };
}

test('an [EOI] knockout that takes CIDEr-D from 0.52 to 0.03 is called a collapse, with the numbers and the threshold', () => {
  const s = said(e6Doc(0.52, 0.03), 'm', 'E6');
  // (0.03 - 0.52) / 0.52 = -94.2 %
  assert.match(s, /Knocking out \[EOI\] \(mode zero\) changes caption CIDEr-D from 0\.52 to 0\.03 \(-94%; a drop of 50% or more\): captioning collapses\./);
});

test('from 0.52 to 0.49 is no collapse; the sentence states the 10% threshold', () => {
  const s = said(e6Doc(0.52, 0.49), 'm', 'E6');
  // (0.49 - 0.52) / 0.52 = -5.8 %
  assert.match(s, /from 0\.52 to 0\.49 \(-6%; a change under 10%\): no collapse\./);
  assert.doesNotMatch(s, /collapses/);
});

test('the verdict bands follow THRESHOLDS at their edges', () => {
  assert.equal(THRESHOLDS.collapse, 0.5);
  assert.match(changeClause(1, 0.5, 'x'), /x collapses$/, 'exactly -50% is a collapse');
  assert.match(changeClause(1, 0.51, 'x'), /x degrades but does not collapse$/);
  assert.match(changeClause(1, 0.9, 'x'), /degrades/, 'exactly -10% is a degradation');
  assert.match(changeClause(1, 0.95, 'x'), /no collapse$/);
  assert.match(changeClause(1, 1.2, 'x'), /\+20%; a rise of 10% or more\): x improves$/);
  assert.match(changeClause(0, 0.3, 'x'), /absolute change of 0\.30/);
});

test('the same model reads differently when its numbers differ: native (gate) vs adapter (no gate)', () => {
  assert.match(said(doc, 'native', 'E3'), /70% of their attention to the image to \[EOI\].*more than 50%/);
  assert.match(said(doc, 'adapter', 'E3'), /5\.0% of their attention to the image to \[EOI\].*less than 50%/);
  assert.match(said(doc, 'native', 'E1'), /stays at or below 0\.10 at every depth/);
  assert.match(said(doc, 'adapter', 'E1'), /ranges from 0\.10 \(depth 0\.00\) to 0\.40 \(depth 1\.00\); it exceeds 0\.10 at 3 of 4 depths/);
  assert.match(said(doc, 'adapter', 'E2'), /lowest 0\.35 at depth 1\.00\); it falls below 0\.90/);
  assert.match(said(doc, 'native', 'E4'), /At \[EOI\] the overlap peaks at 0\.80 \(layer 3, depth 1\.00\); chance is 0\.10 .* it carries the class labels/);
  assert.match(said(doc, 'native', 'E7'), /at most 75% of 20 pairs \(layer 3/);
  assert.match(said(doc, 'adapter', 'E7'), /flips no pair of 20 at any layer; similarity to the target distribution reaches at most 0\.20 against 0\.20/);
  assert.match(said(doc, 'native', 'E8'), /success rate of 100% at layer 2, alpha 4/);
  assert.match(said(doc, 'adapter', 'E8'), /never succeeds/);
});

test('E3 leaves layer 0 out of its averages', () => {
  const d = JSON.parse(JSON.stringify(doc)) as ResultsDoc;
  // A huge [EOI] share at layer 0 only must not change the sentence.
  for (const r of d.models[1]!.e3!.records) if (r.layer === 0) r.share = r.label === '[EOI]' ? 0.97 : 0.01;
  assert.equal(said(d, 'adapter', 'E3'), said(doc, 'adapter', 'E3'));
});

test('E9 compares the [EOI] knockout before and after the fine-tune', () => {
  // native: (0.03 - 0.52) / 0.52 = -94 %; native-distribute: (0.50 - 0.52) / 0.52 = -4 %.
  assert.match(said(doc, 'native-distribute', 'E9'), /\[EOI\] knockout \(mode zero\) changed caption CIDEr-D by -94% before the distribute fine-tune \(native\) and by -4% after it/);
});

test('missing experiments read "Not run."; failed ones give their error', () => {
  const d = JSON.parse(JSON.stringify(doc)) as ResultsDoc;
  delete d.models[0]!.e5;
  delete d.models[0]!.e2;
  d.models[0]!.errors = { e2: 'too few points for Gride' };
  const n = narrate(d).find((x) => x.model === 'native')!;
  const e5 = n.items.find((it) => it.experiment === 'E5')!;
  assert.equal(e5.status, 'not run');
  assert.deepEqual(e5.sentences, ['Not run.']);
  const e2 = n.items.find((it) => it.experiment === 'E2')!;
  assert.equal(e2.status, 'failed');
  assert.match(e2.sentences[0]!, /too few points for Gride/);
  assert.ok(!n.items.some((it) => it.experiment === 'E9'), 'a base model has no E9 item');
});

test('E7 with some flips states the best layer and the 50% threshold', () => {
  const d = JSON.parse(JSON.stringify(doc)) as ResultsDoc;
  d.models[1]!.e7!.records = [0, 1, 2, 3].map((l) => ({ layer: l, variant: 'resid', similarity: 0.3, baseline: 0.2, flipAccuracy: l === 2 ? 0.3 : 0.1 }));
  assert.match(said(d, 'adapter', 'E7'), /flips the class order in at most 30% of 20 pairs \(layer 2, depth 0\.67\).*below 50%: most pairs keep their answer/);
});
