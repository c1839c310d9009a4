import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadRecipe, train } from '../../src/training/index.js';
import { UserError } from '../../src/util/errors.js';
import { tinySets, tinyWorld, type TinyWorld } from '../helpers/train.js';

let w: TinyWorld;
before(async () => {
  w = await tinyWorld();
});
after(() => w?.cleanup());

/** A fine-tune-like run that exercises every piece of restored state: accumulation, clipping, knockout draws. */
function recipe(steps: number) {
  return loadRecipe('recipes/native-shapes.yaml', [
    ...tinySets(w, steps),
    'train.ckpt_every=2', 'train.val_every=2', 'train.grad_accum=2',
    'intervention.knockouts=[{type: knockout, queries: "@text-after-image", keys: "@eoi", mode: renormalize}]',
    'intervention.probability=0.5',
  ]);
}

const trainLines = (out: string) =>
  readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
const losses = (out: string) => trainLines(out).filter((m) => m.split === 'train').map((m) => [m.step, m.loss, m.grad_norm, m.lr, m.knockout, m.tokens]);
const vals = (out: string) => trainLines(out).filter((m) => m.split === 'val').map((m) => [m.step, m.knockout, m.loss, m.token_acc]);

test('resume equivalence: 4 steps straight == 2 steps, interrupted, resumed for 2 (losses, weights, optimizer)', async () => {
  const straight = join(w.root, 'straight');
  const split = join(w.root, 'split');
  const tensorsBefore = tf.memory().numTensors;
  const a = await train(recipe(4), { out: straight });
  assert.equal(tf.memory().numTensors, tensorsBefore, 'a whole training run leaks no tensors');
  assert.equal(a.status, 'done');
  const b1 = await train(recipe(4), { out: split, stopAfter: 2 });
  assert.equal(b1.status, 'stopped');
  assert.equal(b1.finalDir, null);
  // as if killed after step 3's log line and in the middle of the next one
  appendFileSync(join(split, 'metrics.jsonl'), '{"step":3,"split":"train","loss":9}\n{"step":4,"spl');
  const b2 = await train(recipe(4), { out: split, resume: true });
  assert.equal(b2.status, 'done');
  assert.equal(b2.step, 4);
  assert.deepEqual(losses(split), losses(straight));
  assert.equal(losses(straight).length, 4);
  assert.ok(losses(straight).some((l) => l[4] !== null) && losses(straight).some((l) => l[4] === null), 'the knockout should be drawn on some batches only');
  assert.deepEqual(vals(split), vals(straight));
  for (const f of ['final/model.safetensors', 'checkpoints/step-00000004/optimizer.safetensors']) {
    assert.ok(readFileSync(join(straight, f)).equals(readFileSync(join(split, f))), `${f} differs`);
  }
  const card = readFileSync(join(straight, 'final', 'README.md'), 'utf8');
  assert.match(card, /# native-shapes/);
  assert.match(card, /hard block/);
  assert.match(card, /under training knockout 0 \("@text-after-image" -> "@eoi".*\): loss \d/);
});

test('resume refuses a changed recipe, and a used run directory needs --resume', async () => {
  const out = join(w.root, 'refuse');
  await train(recipe(4), { out, stopAfter: 1 });
  assert.ok(existsSync(join(out, 'latest.json')));
  await assert.rejects(train(recipe(4), { out }), (e: unknown) => e instanceof UserError && /--resume/.test(e.message));
  const changed = loadRecipe('recipes/native-shapes.yaml', [...tinySets(w, 4), 'optim.lr=1e-3']);
  await assert.rejects(train(changed, { out, resume: true }), (e: unknown) => e instanceof UserError && /"optim"/.test(e.message));
});

test('with 2 workers: resume is exact too, and the losses match the single-thread run up to rounding', async () => {
  const one = join(w.root, 'one');
  const straight = join(w.root, 'w2-straight');
  const split = join(w.root, 'w2-split');
  await train(recipe(3), { out: one });
  await train(recipe(3), { out: straight, workers: 2 });
  await train(recipe(3), { out: split, workers: 2, stopAfter: 2 });
  await train(recipe(3), { out: split, workers: 2, resume: true });
  assert.deepEqual(losses(split), losses(straight));
  assert.ok(readFileSync(join(straight, 'final/model.safetensors')).equals(readFileSync(join(split, 'final/model.safetensors'))));
  const a = losses(one), b = losses(straight);
  assert.equal(a.length, 3);
  a.forEach((l, i) => assert.ok(Math.abs((l[1] as number) - (b[i]![1] as number)) < 1e-4, `step ${l[0]}: ${l[1]} vs ${b[i]![1]}`));
  const state = JSON.parse(readFileSync(join(straight, 'checkpoints/step-00000003/trainer_state.json'), 'utf8')) as { workers: number };
  assert.equal(state.workers, 2);
});
