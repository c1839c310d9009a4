/**
 * Determinism: the same recipe and seed give identical losses (every logged value) and identical
 * weights and optimizer state (bytes) on the same backend; another seed gives different ones (so the
 * comparison is not vacuous). Pinned for the native and adapter families on cpu and wasm, and for the
 * image tokenizer recipe.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRecipe, train } from '../../src/training/index.js';
import { tinySets, tinyWorld, type TinyWorld } from '../helpers/train.js';
import { useBackend } from '../helpers/tiny.js';

let w: TinyWorld;
before(async () => {
  w = await tinyWorld();
});
after(() => w?.cleanup());

/** Every metrics line without the wall-clock fields. */
function metrics(out: string): Record<string, unknown>[] {
  return readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => {
    const { elapsed_s: _e, tok_per_s: _t, ...rest } = JSON.parse(l) as Record<string, unknown>;
    return rest;
  });
}

const bytes = (out: string, f: string) => readFileSync(join(out, f));
let runId = 0;

async function run(recipe: string, seed: number, sets: string[] = []): Promise<string> {
  const out = join(w.root, `det-${runId++}`);
  const loaded = loadRecipe(recipe, [...tinySets(w, 6), 'train.ckpt_every=3', 'train.val_every=3', 'train.grad_accum=2', `seed=${seed}`, ...sets]);
  const r = await train(loaded, { out });
  assert.equal(r.status, 'done');
  return out;
}

const KO = ['intervention.knockouts=[{type: knockout, queries: "@text-after-image", keys: "@eoi", mode: renormalize}]', 'intervention.probability=0.5'];

for (const backend of ['cpu', 'wasm'] as const) {
  for (const recipe of ['recipes/native-shapes.yaml', 'recipes/adapter-shapes.yaml']) {
    test(`${recipe} on ${backend}: same seed, same losses and weights; another seed, different`, async () => {
      await useBackend(backend);
      const a = await run(recipe, 11, KO);
      const b = await run(recipe, 11, KO);
      const c = await run(recipe, 12, KO);
      const ma = metrics(a);
      assert.ok(ma.filter((m) => m.split === 'train').length === 6 && ma.some((m) => m.split === 'val'));
      assert.deepEqual(metrics(b), ma);
      for (const f of ['final/model.safetensors', 'checkpoints/step-00000006/optimizer.safetensors', 'checkpoints/step-00000006/trainer_state.json']) {
        if (f.endsWith('.json')) {
          const { elapsedS: _x, ...sa } = JSON.parse(bytes(a, f).toString()) as Record<string, unknown>;
          const { elapsedS: _y, ...sb } = JSON.parse(bytes(b, f).toString()) as Record<string, unknown>;
          assert.deepEqual(sb, sa, f);
        } else assert.ok(bytes(a, f).equals(bytes(b, f)), `${f} differs between two runs with the same seed`);
      }
      assert.notDeepEqual(metrics(c), ma, 'another seed should give other losses');
      assert.ok(!bytes(c, 'final/model.safetensors').equals(bytes(a, 'final/model.safetensors')), 'another seed should give other weights');
    });
  }
}

test('the image tokenizer recipe (k-means) is deterministic too', async () => {
  await useBackend('cpu');
  const fit = async (seed: number) => {
    const out = join(w.root, `vq-${runId++}`);
    const r = await train(loadRecipe('recipes/vq-shapes.yaml', [`data.dir=${w.ds}`, 'data.n=40', 'vq.codebook=16', 'vq.sample_patches=1500', 'vq.iterations=4', `seed=${seed}`]), { out });
    return readFileSync(join(r.finalDir as string, 'image_tokenizer.safetensors'));
  };
  const a = await fit(3);
  assert.ok((await fit(3)).equals(a));
  assert.ok(!(await fit(4)).equals(a));
});
