/**
 * The E6 knockout table and E8 steering commands run on Hugging Face folders exactly as on
 * narrowgate's own checkpoints (issue 11): the tiny random-weight Chameleon and LLaVA-OneVision
 * fixtures, a tiny shapes dataset, through the real CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliAsync } from '../helpers/cli.js';
import { fixtureDir, type Family } from '../helpers/hf-fixtures.js';
import { buildShapesDataset } from '../../src/data/shapes.js';
import { loadHfTokenizer } from '../../src/hf/tokenizer.js';

const work = mkdtempSync(join(tmpdir(), 'ng-hf-cmd-'));
const data = join(work, 'single');
const suite = join(work, 'suite.yaml');
const ready = (async () => {
  await buildShapesDataset(data, { n: 12, seed: 5, single: true });
  // generate-method classification: the fixtures' tiny BPE splits class names into shared first tokens
  writeFileSync(
    suite,
    [
      'name: hf-smoke',
      `dataset: ${data}`,
      'decoding: {max_new_tokens: 3, batch_size: 4, text_only: true}',
      'tasks:',
      '  - {type: captioning, prompt: "describe it"}',
      '  - {type: classification, name: shape, field: shape, prompt: "what shape is this?", method: generate}',
      'conditions: [none]',
      'modes: [zero]',
      'repetitions: 1',
    ].join('\n'),
  );
})();

const families: Family[] = ['chameleon', 'llava_onevision'];

for (const family of families) {
  test(`knockout (E6) runs on the ${family} fixture: every condition x mode cell, with its specs`, async () => {
    await ready;
    const out = join(work, `ko-${family}`);
    const r = await cliAsync(['knockout', '--checkpoint', fixtureDir(family), '--suite', suite, '--limit', '3', '--repetitions', '2', '--out', out, '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(readFileSync(join(out, 'knockout.json'), 'utf8')) as {
      cells: { condition: string; mode: string; specs: { keys?: unknown }[] }[];
    };
    for (const condition of ['none', 'eoi', 'last-image', 'random-image:10', 'image-to-text']) {
      for (const mode of ['zero', 'renormalize']) {
        const cells = doc.cells.filter((c) => c.condition === condition && c.mode === mode);
        assert.ok(cells.length > 0, `no cell for ${condition} / ${mode}`);
        if (condition === 'none') assert.deepEqual(cells[0]!.specs, []);
        if (condition === 'eoi') assert.equal(JSON.stringify(cells[0]!.specs[0]!.keys), JSON.stringify('@eoi'));
      }
    }
  });

  test(`steer (E8) on the ${family} fixture: strength 0 leaves the generated text unchanged`, async () => {
    await ready;
    const r = await cliAsync(['steer', '--checkpoint', fixtureDir(family), '--data', data, '--attribute', 'shape', '--from', 'circle', '--to', 'square', '--layer', '1', '--alpha', '0', '--limit', '4', '--out', join(work, `st-${family}`), '--quiet', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { before: string; after: string };
    assert.equal(res.after, res.before);
  });
}

test('Hugging Face decode of an empty generation or of padded embedding rows is the empty string', () => {
  const tok = loadHfTokenizer(fixtureDir('llava_onevision'));
  assert.equal(tok.decode([]), '');
  assert.equal(tok.decode([tok.size + 3]), ''); // a padded row: config vocab_size > tokenizer size
});
