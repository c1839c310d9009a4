import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadRecipe, train } from '../../src/training/index.js';
import { readSafetensors } from '../../src/model/safetensors.js';
import { UserError } from '../../src/util/errors.js';
import { tinySets, tinyWorld, type TinyWorld } from '../helpers/train.js';

let w: TinyWorld;
before(async () => {
  w = await tinyWorld();
});
after(() => w?.cleanup());

async function allFinite(file: string): Promise<boolean> {
  const { tensors } = await readSafetensors(file);
  return [...tensors.values()].every((t) => Array.from(t.data).every((x) => Number.isFinite(x)));
}

test('a NaN loss stops the run with a clear message and keeps the last good checkpoint', async () => {
  const out = join(w.root, 'nan');
  const loaded = loadRecipe('recipes/native-shapes.yaml', [...tinySets(w, 6), 'train.ckpt_every=2']);
  // from update index 2 on (step 3), a hook turns the embeddings into NaN
  const poison = (step: number) => (step >= 2 ? [{ name: 'hook_embed', fn: (x: tf.Tensor) => tf.mul(x, NaN) }] : []);
  await assert.rejects(train(loaded, { out, extraHooks: poison }), (e: unknown) => {
    assert.ok(e instanceof UserError, String(e));
    assert.match(e.message, /stopped at step 3: the loss is NaN/);
    assert.match(e.message, /last good checkpoint is .*step-00000002 \(step 2\)/);
    return true;
  });
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')), { step: 2, dir: 'checkpoints/step-00000002' });
  assert.ok(await allFinite(join(out, 'checkpoints', 'step-00000002', 'model.safetensors')));
  assert.ok(await allFinite(join(out, 'checkpoints', 'step-00000002', 'optimizer.safetensors')));
  const events = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; event?: string });
  assert.deepEqual(events.at(-1), { step: 3, split: 'train', event: 'non-finite', loss: 'NaN', grad_norm: 'NaN' });
  // the good checkpoint resumes (without the poison) to the end
  const resumed = await train(loaded, { out, resume: true });
  assert.equal(resumed.status, 'done');
  assert.ok(await allFinite(join(out, 'final', 'model.safetensors')));
});

test('an exploding learning rate is caught the same way', async () => {
  const out = join(w.root, 'lr');
  const loaded = loadRecipe('recipes/native-shapes.yaml', [...tinySets(w, 6), 'optim.lr=1e38', 'schedule.warmup=0', 'optim.clip=null']);
  await assert.rejects(train(loaded, { out }), (e: unknown) => e instanceof UserError && /Training stopped at step \d: the (loss|gradient norm) is (NaN|Infinity)/.test(e.message) && /; lower optim\.lr/.test(e.message));
});
