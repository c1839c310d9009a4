/**
 * Memory: no tensor leak across 1,000 training steps, 200 generations with interventions (both model
 * families, every intervention kind) and full extractions. tf.memory().numTensors is sampled during
 * the work (every 100 steps / 50 generations) and must not move, and equals its start value after.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { encodePng } from '../../src/data/images.js';
import { generate } from '../../src/model/generate.js';
import { compile } from '../../src/interventions/compile.js';
import { extractDataset, generateWithEdit, runImageDonors } from '../../src/interventions/commands.js';
import { imageTensors, loadPipeline } from '../../src/interventions/pipeline.js';
import { parseInterventions } from '../../src/interventions/spec.js';
import { openStore } from '../../src/store/index.js';
import { loadRecipe, train } from '../../src/training/index.js';
import { noProgress } from '../../src/util/progress.js';
import { evalFixture, type EvalFixture } from '../helpers/eval-tiny.js';
import { tinySets, tinyWorld, type TinyWorld } from '../helpers/train.js';
import { useBackend } from '../helpers/tiny.js';

let w: TinyWorld;
let f: EvalFixture;
let scratch: string;
before(async () => {
  w = await tinyWorld();
  f = await evalFixture(6);
  // wasm: 1,000 steps of the tiny model in ~30 s (the cpu backend needs minutes)
  await useBackend('wasm');
  scratch = mkdtempSync(join(tmpdir(), 'ng-mem-'));
  const img = f.ds.get(1);
  writeFileSync(join(scratch, 'donor.png'), await encodePng({ width: 16, height: 16, channels: 3, pixels: img.pixels }));
  writeFileSync(join(scratch, 'query.png'), await encodePng({ width: 16, height: 16, channels: 3, pixels: f.ds.get(0).pixels }));
});
after(() => {
  w?.cleanup();
  if (f) rmSync(f.root, { recursive: true, force: true });
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('1,000 training steps: the tensor count is the same at every 100th step and back to the start after', async () => {
  const loaded = loadRecipe('recipes/native-shapes.yaml', [
    ...tinySets(w, 1000), 'train.batch_size=1', 'train.log_every=100', 'train.val_every=500', 'train.ckpt_every=500', 'train.grad_accum=2',
    'intervention.knockouts=[{type: knockout, queries: "@text-after-image", keys: "@eoi", mode: renormalize}]', 'intervention.probability=0.5',
  ]);
  const start = tf.memory().numTensors;
  const samples: number[] = [];
  const res = await train(loaded, {
    out: join(scratch, 'train'),
    extraHooks: (step) => {
      if (step % 100 === 0) samples.push(tf.memory().numTensors);
      return [];
    },
  });
  assert.equal(res.status, 'done');
  assert.equal(res.step, 1000);
  assert.ok(res.lastLoss !== null && Number.isFinite(res.lastLoss));
  // the micro-batch loop calls extraHooks once per micro-batch (grad_accum 2): two samples per 100th step
  assert.equal(samples.length, 20);
  // step 0 runs before the optimizer has created its moments; from step 100 on nothing may change
  // (the second micro-batch of a step also holds the first one's loss and accumulated gradients)
  const steady = samples.slice(2);
  for (const k of [0, 1]) {
    const at = steady.filter((_, i) => i % 2 === k);
    assert.deepEqual(at, at.map(() => at[0]!), `tensor counts at micro-batch ${k} of steps 100..900: ${at.join(', ')}`);
  }
  assert.equal(tf.memory().numTensors, start, 'tensors left after train()');
});

test('200 generations with interventions (both families, every kind): no tensor leak', async () => {
  const start = tf.memory().numTensors;
  const specs = parseInterventions([
    { type: 'knockout', queries: '@text-after-image', keys: '@eoi', mode: 'zero' },
    { type: 'knockout', queries: '@all-text', keys: '@last-image', layers: [0], mode: 'renormalize' },
    { type: 'steer', layer: 0, position: '@eoi', op: 'add', vector: { values: Array.from({ length: 16 }, (_, i) => (i % 3) - 1) }, strength: 2 },
    { type: 'ablate', hook: 'blocks.0.hook_mlp_out', positions: '@last-image', mode: 'zero' },
    { type: 'patch', hook: 'blocks.0.hook_resid_post', positions: '@eoi', donor: { image: 'donor.png' } },
  ]);
  let total = 0;
  for (const ck of [f.native, f.adapter]) {
    const p = await loadPipeline(ck);
    const donors = await runImageDonors(p, specs, scratch);
    const hooks = await compile(specs, p.model, { baseDir: scratch, donors: donors.donors });
    const examples = await p.prepare([0, 1, 2, 3].map((i) => {
      const im = f.ds.get(i);
      return { id: i, image: { width: im.width, height: im.height, channels: im.channels, pixels: im.pixels }, prompt: i % 2 ? 'what color' : undefined };
    }));
    const base = tf.memory().numTensors;
    const seen = new Set<string>();
    for (let g = 0; g < 100; g++) {
      const ex = examples[g % examples.length]!;
      const img = imageTensors(p, [ex]);
      const useHooks = g % 5 === 4 ? [] : hooks.slice(0, 1 + (g % hooks.length));
      const r = await generate(p.model, { prompts: [Array.from(ex.ids)], spans: [ex.spans], ...img }, { maxNewTokens: 4, hooks: useHooks, eos: null, strategy: g % 2 ? 'sample' : 'greedy', seed: g });
      img.pixels?.dispose();
      img.features?.dispose();
      assert.equal(r.tokens[0]!.length, 4);
      seen.add(r.tokens[0]!.join());
      total++;
      if (g % 50 === 49) assert.equal(tf.memory().numTensors, base, `${ck}: tensors after ${g + 1} generations`);
    }
    assert.ok(seen.size > 1, 'the generations should differ (sampling, edits)');
    donors.dispose();
    p.dispose();
  }
  assert.equal(total, 200);
  // the public one-call API (pipeline load, donors, plain + edited generation, dispose)
  writeFileSync(join(scratch, 'edit.json'), JSON.stringify(specs));
  for (const ck of [f.native, f.adapter]) {
    const r = await generateWithEdit({ checkpoint: ck, image: join(scratch, 'query.png'), prompt: 'what color', edit: join(scratch, 'edit.json'), maxNewTokens: 3 });
    assert.ok(r.edited !== null);
  }
  assert.equal(tf.memory().numTensors, start, 'tensors left after the generations');
});

test('a full extraction (every layer, hook and position, with an edit) leaves no tensors behind', async () => {
  writeFileSync(join(scratch, 'ko.json'), JSON.stringify({ type: 'knockout', queries: '@all-text', keys: '@eoi' }));
  const start = tf.memory().numTensors;
  for (const [i, ck] of [f.native, f.adapter].entries()) {
    const out = join(scratch, `acts-${i}.arrow`);
    const r = await extractDataset({
      checkpoint: ck, data: f.data, hooks: ['resid_pre', 'resid_mid', 'resid_post', 'attn_out', 'mlp_out'], layers: 'all', positions: '@all',
      out, edit: join(scratch, 'ko.json'), batchSize: 4, backend: tf.getBackend(), progress: noProgress,
    });
    assert.equal(r.examples, 6);
    assert.ok(existsSync(out));
    assert.equal((await openStore(out)).numRows, r.rows);
    assert.equal(tf.memory().numTensors, start, `tensors left after extracting with ${ck}`);
  }
});

test('control: the sampling above catches a leak of one tensor per step', async () => {
  const loaded = loadRecipe('recipes/native-shapes.yaml', [...tinySets(w, 40), 'train.batch_size=1', 'train.log_every=40', 'train.val_every=40', 'train.ckpt_every=40']);
  const samples: number[] = [];
  const leaked: tf.Tensor[] = [];
  await train(loaded, {
    out: join(scratch, 'leak'),
    extraHooks: (step) => {
      if (step % 10 === 0) samples.push(tf.memory().numTensors);
      leaked.push(tf.scalar(step)); // a leak: never disposed during the run
      return [];
    },
  });
  const steady = samples.slice(1);
  assert.notDeepEqual(steady, steady.map(() => steady[0]!), 'a per-step leak must show in the samples');
  assert.equal(steady.at(-1)! - steady[0]!, 20);
  tf.dispose(leaked);
});
