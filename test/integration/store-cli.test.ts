/**
 * `narrowgate extract` and `narrowgate generate` end to end on tiny checkpoints of both families
 * (saved with saveModel) and a tiny shapes dataset: the store's rows equal a direct forward pass on
 * the same inputs, and generate prints the output with and without the edit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { buildShapesDataset } from '../../src/data/shapes.js';
import { openDataset } from '../../src/data/open.js';
import { encodePng } from '../../src/data/images.js';
import { extractDataset, generateWithEdit, runImageDonors } from '../../src/interventions/commands.js';
import { compile } from '../../src/interventions/compile.js';
import { parseInterventions } from '../../src/interventions/spec.js';
import { loadPipeline } from '../../src/interventions/pipeline.js';
import { resolve } from '../../src/interventions/selectors.js';
import { runWithCache, runWithHooks } from '../../src/hooks/run.js';
import { AdapterModel } from '../../src/model/adapter.js';
import { saveModel } from '../../src/model/checkpoint.js';
import { decoderConfig } from '../../src/model/config.js';
import { NativeModel } from '../../src/model/native.js';
import { KMeansImageTokenizer } from '../../src/tokenizers/kmeans.js';
import { VocabLayout } from '../../src/tokenizers/vocab.js';
import { WordTokenizer } from '../../src/tokenizers/word.js';
import { openStore } from '../../src/store/index.js';
import { noProgress } from '../../src/util/progress.js';
import { maxAbsDiff, randomizeParams, useBackend } from '../helpers/tiny.js';

await useBackend('cpu');

const root = mkdtempSync(join(tmpdir(), 'ng-cli-'));
const data = join(root, 'data');
await buildShapesDataset(data, { n: 8, seed: 1, size: 16, supersample: 1, single: true });
const ds = await openDataset(data);
const tok = WordTokenizer.build(ds.coco.annotations.map((a) => a.caption));

async function nativeCheckpoint(dir: string): Promise<void> {
  const imgs = { data: new Uint8Array(ds.length * 16 * 16 * 3), shape: [ds.length, 16, 16, 3] as [number, number, number, number] };
  for (let i = 0; i < ds.length; i++) imgs.data.set(ds.get(i).pixels, i * 768);
  const { tokenizer: it } = await KMeansImageTokenizer.fit(imgs, 8, { numCodes: 6, iters: 3, seed: 1 });
  const f = new VocabLayout(tok.size, 6).modelFields();
  const model = new NativeModel(
    { family: 'native', decoder: decoderConfig({ vocabSize: f.vocabSize, dModel: 16, nLayers: 2, nHeads: 2, dMlp: 24 }), special: f.special, imageCodeStart: f.imageCodeStart, imageCodeCount: f.imageCodeCount },
    { seed: 1 },
  );
  randomizeParams(model.namedParameters(), 7);
  await saveModel(dir, model, { tokenizer: tok, imageTokenizer: it, recipe: 'name: tiny-native\n' });
  model.dispose();
  it.dispose();
}

async function adapterCheckpoint(dir: string): Promise<void> {
  const f = new VocabLayout(tok.size, 0).modelFields();
  const model = new AdapterModel(
    {
      family: 'adapter',
      decoder: decoderConfig({ vocabSize: f.vocabSize, dModel: 16, nLayers: 1, nHeads: 2, dMlp: 24 }),
      special: f.special,
      vision: { imageSize: 16, patchSize: 8, channels: 3, dModel: 16, nLayers: 1, nHeads: 2, dMlp: 24, rmsNormEps: 1e-6 },
      projector: { dIn: 16, dHidden: 20, activation: 'gelu_tanh' },
    },
    { seed: 2 },
  );
  randomizeParams(model.namedParameters(), 8);
  await saveModel(dir, model, { tokenizer: tok });
  model.dispose();
}

const native = join(root, 'native');
const adapter = join(root, 'adapter');
await nativeCheckpoint(native);
await adapterCheckpoint(adapter);

for (const [family, ck, layers] of [['native', native, [0, 1]], ['adapter', adapter, [0]]] as const) {
  test(`extract (${family}): rows equal a direct forward pass of the same prepared inputs`, async () => {
    const out = join(root, `${family}.arrow`);
    const r = await extractDataset({
      checkpoint: ck, data, hooks: ['resid_post'], layers: 'all', positions: '@eoi,@last-image', out,
      prompt: 'what colour', batchSize: 3, backend: 'cpu', progress: noProgress,
    });
    assert.equal(r.examples, ds.length);
    assert.deepEqual(r.layers, layers);
    const store = await openStore(out);
    assert.equal(store.numRows, ds.length * 2 * layers.length);
    assert.match(store.metadata.checkpointHash, /^sha256:[0-9a-f]{64}$/);
    assert.equal(store.metadata.interventions, '[]');
    const p = await loadPipeline(ck);
    try {
      const exs = await p.prepare([...ds.images()].map((im) => ({ id: im.id, label: im.label, image: im, prompt: 'what colour' })));
      for (const layer of layers) {
        const s = await store.slice('resid_post', layer, 'eoi');
        assert.equal(s.n, ds.length);
        for (let i = 0; i < s.n; i++) {
          const e = exs.find((x) => x.id === s.exampleIds[i])!;
          assert.equal(s.labels[i], e.label);
          assert.equal(s.pos[i], resolve('@eoi', e.spans)[0]);
          const x = { ids: tf.tensor2d([Array.from(e.ids)], [1, e.ids.length], 'int32'), spans: [e.spans], pixels: e.pixels ? tf.tensor4d(e.pixels, [1, 16, 16, 3]) : undefined };
          const name = `blocks.${layer}.hook_resid_post`;
          const { logits, cache } = runWithCache(p.model, x, { names: [name] });
          const want = (cache.get(name).arraySync() as number[][][])[0]![s.pos[i]!]!;
          assert.ok(maxAbsDiff(s.values.subarray(i * 16, (i + 1) * 16), want) < 1e-5);
          logits.dispose();
          cache.dispose();
          x.ids.dispose();
          x.pixels?.dispose();
        }
      }
    } finally {
      p.dispose();
    }
  });
}

test('generate: output with and without an edit; a zero-strength steer changes nothing', async () => {
  const img = ds.get(0);
  const png = join(root, 'img.png');
  writeFileSync(png, await encodePng(img));
  const identity = join(root, 'identity.json');
  writeFileSync(identity, JSON.stringify({ type: 'steer', layer: 0, position: '@text-after-image', op: 'add', vector: { values: new Array(16).fill(1) }, strength: 0 }));
  const r0 = await generateWithEdit({ checkpoint: native, image: png, edit: identity, maxNewTokens: 5 });
  assert.equal(r0.edited, r0.output);
  const strong = join(root, 'strong.json');
  const v = Array.from({ length: 16 }, (_, i) => (i % 2 ? 40 : -40));
  writeFileSync(strong, JSON.stringify([{ type: 'knockout', queries: '@text-after-image', keys: '@all-image' }, { type: 'steer', layer: 1, position: '@text-after-image', op: 'add', vector: { values: v } }]));
  const r1 = await generateWithEdit({ checkpoint: native, image: png, prompt: 'what colour', edit: strong, maxNewTokens: 5 });
  assert.notEqual(r1.edited, r1.output);

  // patching from an image donor: the same image changes nothing; another image's [EOI] changes the logits after it
  const other = join(root, 'other.png');
  {
    // a donor image whose image codes differ from image 0's (the tiny k-means tokenizer may map two images alike)
    const pp = await loadPipeline(native);
    const exs = await pp.prepare([...ds.images()].map((im) => ({ id: im.id, image: im })));
    pp.dispose();
    const j = exs.findIndex((e) => Array.from(e.ids).join() !== Array.from(exs[0]!.ids).join());
    assert.ok(j > 0, 'two images with different codes');
    writeFileSync(other, await encodePng(ds.get(j)));
  }
  const selfPatch = join(root, 'self-patch.json');
  writeFileSync(selfPatch, JSON.stringify({ type: 'patch', hook: 'blocks.0.hook_resid_post', positions: '@all', donor: { image: 'img.png', prompt: 'what colour' } }));
  const rs = await generateWithEdit({ checkpoint: native, image: png, prompt: 'what colour', edit: selfPatch, maxNewTokens: 5 });
  assert.equal(rs.edited, rs.output);
  const p = await loadPipeline(native);
  try {
    const specs = parseInterventions({ type: 'patch', hook: 'blocks.1.hook_resid_post', positions: '@eoi', donor: { image: 'other.png' } });
    const donors = await runImageDonors(p, specs, root);
    const hooks = await compile(specs, p.model, { donors: donors.donors });
    const [ex] = await p.prepare([{ id: 0, image: img }]);
    const x = { ids: tf.tensor2d([Array.from(ex!.ids)], [1, ex!.ids.length], 'int32'), spans: [ex!.spans] };
    const base = runWithHooks(p.model, x, []);
    const patched = runWithHooks(p.model, x, hooks);
    const eoi = ex!.spans.eoi!;
    const V = base.shape[2]!;
    const [b, q] = [base.dataSync(), patched.dataSync()];
    assert.deepEqual(q.subarray(0, eoi * V), b.subarray(0, eoi * V));
    assert.ok(maxAbsDiff(q.subarray(eoi * V), b.subarray(eoi * V)) > 1e-4);
    tf.dispose([base, patched, x.ids]);
    donors.dispose();
  } finally {
    p.dispose();
  }

  // the CLI itself, in a child process
  const here = fileURLToPath(new URL('.', import.meta.url));
  const mainJs = join(here, '../../src/cli/main.js');
  const main = existsSync(mainJs) ? mainJs : join(here, '../../src/cli/main.ts');
  const execArgv = process.execArgv.filter((a, i, all) => a === '--import' || all[i - 1] === '--import' || a.startsWith('--import='));
  const cli = (args: string[]) => spawnSync(process.execPath, [...execArgv, main, ...args, '--backend', 'cpu', '--quiet'], { encoding: 'utf8' });
  const g = cli(['generate', '--checkpoint', native, '--image', png, '--prompt', 'what colour', '--edit', strong, '--max-tokens', '5', '--json']);
  assert.equal(g.status, 0, g.stderr);
  const parsed = JSON.parse(g.stdout.slice(g.stdout.indexOf('{'))) as { output: string; edited: string };
  assert.deepEqual([parsed.output, parsed.edited], [r1.output, r1.edited]);
  const out = join(root, 'cli.arrow');
  const x = cli(['extract', '--checkpoint', adapter, '--data', data, '--positions', '@eoi,@random-image:2', '--layers', '0', '--edit', strong.replace('strong', 'identity'), '--out', out]);
  assert.equal(x.status, 0, x.stderr);
  assert.match(x.stdout, /wrote 24 rows \(8 examples/);
  assert.equal((await openStore(out)).numRows, 24);
  const bad = cli(['extract', '--checkpoint', adapter, '--data', data, '--positions', '@eos', '--out', join(root, 'bad.arrow')]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^narrowgate: Unknown position selector "@eos"; expected one of @bos/);
  assert.equal(existsSync(join(root, 'bad.arrow')), false);
});
