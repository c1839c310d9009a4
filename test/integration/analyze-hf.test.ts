/**
 * The experiment runners on the tiny Hugging Face fixtures (random weights): attention (E3) and
 * patching (E7) run unchanged on a Chameleon folder and a LLaVA-OneVision folder, with the invariants
 * that hold for any weights (shares sum to 1; the self-donor control leaves the baseline unchanged).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { experimentsFixture } from '../helpers/experiments-tiny.js';
import { fixtureDir } from '../helpers/hf-fixtures.js';
import { runAttentionFlow, runPatching } from '../../src/experiments/index.js';

for (const family of ['chameleon', 'llava_onevision'] as const) {
  test(`E3 and E7 run on the Hugging Face ${family} fixture`, async () => {
    const f = await experimentsFixture();
    const ck = fixtureDir(family);
    const a = await runAttentionFlow({ checkpoint: ck, data: f.data, limit: 2, batchSize: 2, prompt: 'what is it' , withCaption: false });
    for (const s of a.flow.shares) assert.ok(Math.abs(s.reduce((x, y) => x + y, 0) - 1) < 1e-9);
    assert.equal(a.doc.models[0]!.family, family === 'chameleon' ? 'native' : 'adapter');
    // "large" / "small": distinct first tokens even for the fixtures' tiny BPE vocabularies
    const imgs = [...f.singleDs.images()];
    const big = imgs.find((im) => f.singleDs.labelFields.size![im.labels.size!] === 'large')!, small = imgs.find((im) => f.singleDs.labelFields.size![im.labels.size!] === 'small')!;
    const p = await runPatching({ checkpoint: ck, data: f.single, attribute: 'size', prompt: 'the size is', pairList: [{ base: big.index, target: small.index }, { base: small.index, target: big.index }], layers: [0], selfDonor: true });
    for (const r of p.records) {
      assert.ok(Math.abs(r.similarity - r.baseline) < 1e-6);
      assert.equal(r.flipAccuracy, 0);
    }
  });
}
