import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import yargs from 'yargs';
import * as tf from '@tensorflow/tfjs';
import { globalOptions } from '../../src/cli/run.js';
import { shipCommand } from '../../src/cli/commands/ship.js';
import { openDataset } from '../../src/data/open.js';
import { parseSuite } from '../../src/eval/suite-schema.js';
import { readSafetensors } from '../../src/model/safetensors.js';
import { loadRecipe, train } from '../../src/training/index.js';
import { ship } from '../../src/training/ship.js';
import type { ShipDoc } from '../../src/training/ship-card.js';
import { UserError } from '../../src/util/errors.js';
import { tinySets, tinyWorld, type TinyWorld } from '../helpers/train.js';

let w: TinyWorld;
const TRAIN_NATIVE = 'narrowgate train recipes/native-shapes.yaml --out native (tiny)';
before(async () => {
  w = await tinyWorld();
  await train(loadRecipe('recipes/native-shapes.yaml', tinySets(w, 2)), { out: join(w.root, 'native'), command: TRAIN_NATIVE });
  await train(loadRecipe('recipes/adapter-shapes.yaml', tinySets(w, 2)), { out: join(w.root, 'adapter'), command: 'narrowgate train recipes/adapter-shapes.yaml (tiny)' });
});
after(() => w?.cleanup());

// the tiny dataset has 4 test images; classification by the greedy answer (40 images need not name every class)
const suite = () => parseSuite({
  name: 'tiny', dataset: 'replaced-by-the-recipe', split: 'test', decoding: { max_new_tokens: 6, batch_size: 8 },
  tasks: [
    { type: 'captioning', tokenize: 'whitespace' },
    { type: 'vqa', max_new_tokens: 3 },
    { type: 'classification', name: 'shape', field: 'shape', prompt: 'what shape is in the {position}?', method: 'generate', max_new_tokens: 2 },
  ],
});

const doc = (dir: string) => JSON.parse(readFileSync(join(dir, 'eval.json'), 'utf8')) as ShipDoc;
const fmt = (v: number | null) => (v === null ? '-' : Number.isInteger(v) ? String(v) : v.toFixed(4));

test('ship (native, F16): every file, the card states the commands, wall time and the eval.json numbers beside chance levels computed from the data', async () => {
  const into = join(w.root, 'ckpt');
  const tensors0 = tf.memory().numTensors;
  const { dir } = await ship({ run: join(w.root, 'native'), name: 'native-tiny', suite: suite(), into, command: 'narrowgate ship native --name native-tiny', samples: 2, drawn: 2 });
  assert.equal(tf.memory().numTensors, tensors0, 'shipping (with image drawing) leaks no tensors');
  for (const f of ['model.safetensors', 'config.json', 'tokenizer.json', 'image_tokenizer/image_tokenizer.json', 'recipe.resolved.yaml', 'metrics.jsonl', 'eval.json', 'README.md']) assert.ok(existsSync(join(dir, f)), f);
  const { tensors } = await readSafetensors(join(dir, 'model.safetensors'));
  assert.ok([...tensors.values()].every((t) => t.dtype === 'F16'));
  const pngs = readdirSync(join(dir, 'samples'));
  assert.equal(pngs.filter((f) => f.startsWith('image-')).length, 2);
  assert.equal(pngs.filter((f) => f.startsWith('generated-')).length, 2, 'a native model draws images from captions');
  for (const f of pngs) assert.ok(statSync(join(dir, 'samples', f)).size < 5000 && readFileSync(join(dir, 'samples', f)).subarray(1, 4).toString() === 'PNG');
  const d = doc(dir);
  const card = readFileSync(join(dir, 'README.md'), 'utf8');
  assert.match(card, /^# native-shapes/);
  assert.ok(card.includes('```\n' + TRAIN_NATIVE + '\nnarrowgate ship native --name native-tiny\n```'));
  assert.match(card, /wall time on this machine: training \d+ s/);
  assert.match(card, /F16 weights/);
  // every metric row of the card is the eval.json row, formatted
  const rows = card.split('\n').filter((l) => /^\| (captioning|vqa|shape) \|/.test(l));
  assert.equal(rows.length, d.held_out.rows.length);
  d.held_out.rows.forEach((r, i) => assert.equal(rows[i], `| ${r.task} | ${r.metric} | ${fmt(r.value)} | ${fmt(r.chance)} | ${fmt(r.n)} |`));
  for (const t of ['captioning', 'vqa', 'shape']) assert.ok(d.held_out.rows.some((r) => r.task === t && r.chance !== null), t);
  assert.ok(d.held_out.rows.some((r) => r.task === 'vqa' && r.metric === 'object_count'));
  assert.ok(d.held_out.rows.some((r) => r.task === 'captioning' && r.metric === 'CIDEr-D'));
  // chance levels by hand from the raw files: majority training answer per question attribute; 1/#shapes
  const ds = await openDataset(w.ds);
  const trainIds = new Set(ds.indices('train').map((i) => ds.get(i).id));
  const testIds = new Set(ds.indices('test').map((i) => ds.get(i).id));
  const anns = (JSON.parse(readFileSync(join(w.ds, 'annotations.json'), 'utf8')) as { annotations: { image_id: number; attribute: string; multiple_choice_answer: string }[] }).annotations;
  const tally = new Map<string, Map<string, number>>();
  for (const a of anns.filter((x) => trainIds.has(x.image_id))) {
    const m = tally.get(a.attribute) ?? new Map<string, number>();
    m.set(a.multiple_choice_answer, (m.get(a.multiple_choice_answer) ?? 0) + 1);
    tally.set(a.attribute, m);
  }
  const major = (attr: string) => [...tally.get(attr)!].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0];
  const testAnns = anns.filter((x) => testIds.has(x.image_id));
  const hit = (xs: typeof testAnns) => xs.filter((x) => x.multiple_choice_answer === major(x.attribute)).length / xs.length;
  const chanceOf = (task: string, metric: string) => d.held_out.rows.find((r) => r.task === task && r.metric === metric)!.chance!;
  assert.ok(Math.abs(chanceOf('vqa', 'accuracy') - hit(testAnns)) < 1e-12, `${chanceOf('vqa', 'accuracy')} vs ${hit(testAnns)}`);
  for (const attr of ['color', 'count', 'exists']) assert.ok(Math.abs(chanceOf('vqa', `attribute.${attr}`) - hit(testAnns.filter((x) => x.attribute === attr))) < 1e-12, attr);
  const labels = JSON.parse(readFileSync(join(w.ds, 'labels.json'), 'utf8')) as { fields: Record<string, string[]> };
  assert.equal(chanceOf('shape', 'accuracy'), 1 / labels.fields.shape!.length);
  assert.equal(labels.fields.shape!.length, 6);
  assert.equal(d.held_out.n_images, testIds.size);
});

test('ship is atomic: a failure just before the rename leaves no checkpoint and no temporary directory; an existing one needs --force', async () => {
  const into = join(w.root, 'atomic');
  const run = join(w.root, 'adapter');
  let seen = '';
  await assert.rejects(ship({ run, name: 'adapter-tiny', suite: suite(), into, dtype: 'F32', beforeRename: async (tmp) => {
    seen = tmp;
    assert.ok(existsSync(join(tmp, 'README.md')) && existsSync(join(tmp, 'eval.json')), 'the directory is complete before the rename');
    throw new Error('injected failure');
  } }), /injected failure/);
  assert.ok(seen !== '' && !existsSync(seen));
  assert.ok(!existsSync(join(into, 'adapter-tiny')));
  assert.deepEqual(readdirSync(into), []);
  const tensors0 = tf.memory().numTensors;
  const { dir } = await ship({ run, name: 'adapter-tiny', suite: suite(), into, dtype: 'F32' });
  assert.equal(tf.memory().numTensors, tensors0, 'shipping leaks no tensors');
  const { tensors } = await readSafetensors(join(dir, 'model.safetensors'));
  assert.ok([...tensors.values()].every((t) => t.dtype === 'F32'));
  assert.ok(readFileSync(join(dir, 'model.safetensors')).equals(readFileSync(join(run, 'final', 'model.safetensors'))), 'F32 ships the trained bytes');
  assert.ok(!readdirSync(join(dir, 'samples')).some((f) => f.startsWith('generated-')), 'an adapter model draws nothing');
  await assert.rejects(ship({ run, name: 'adapter-tiny', suite: suite(), into }), (e: unknown) => e instanceof UserError && /--force/.test(e.message));
  await ship({ run, name: 'adapter-tiny', suite: suite(), into, force: true, beforeRename: async () => {
    throw new Error('injected again');
  } }).catch(() => {});
  assert.ok(readFileSync(join(dir, 'model.safetensors')).equals(readFileSync(join(run, 'final', 'model.safetensors'))), 'a failed --force keeps the old checkpoint');
  assert.deepEqual(readdirSync(into), ['adapter-tiny']);
});

test('ship refuses an unfinished run; ships an image tokenizer with PSNR beside the mean-colour baseline (hand-computed)', async () => {
  const part = join(w.root, 'part');
  await train(loadRecipe('recipes/adapter-shapes.yaml', tinySets(w, 3)), { out: part, stopAfter: 1, command: 'x' });
  await assert.rejects(ship({ run: part, name: 'p', into: join(w.root, 'c2') }), (e: unknown) => e instanceof UserError && /(no final|stopped at step 1 of 3)/.test(e.message));
  const vqRun = join(w.root, 'vq2');
  await train(loadRecipe('recipes/vq-shapes.yaml', [`data.dir=${w.ds}`, 'data.n=40', 'vq.codebook=16', 'vq.sample_patches=1500', 'vq.iterations=4']), { out: vqRun, command: 'narrowgate train recipes/vq-shapes.yaml (tiny)' });
  const { dir } = await ship({ run: vqRun, name: 'vq', into: join(w.root, 'c2'), samples: 2 });
  const d = doc(dir);
  assert.ok(existsSync(join(dir, 'image_tokenizer.json')) && existsSync(join(dir, 'image_tokenizer.safetensors')));
  const ds = await openDataset(w.ds);
  const C = 3, per = 32 * 32 * C;
  const mean = [0, 0, 0];
  const train_ = ds.indices('train');
  for (const i of train_) ds.get(i).pixels.forEach((v, k) => (mean[k % C]! += v / 255 / (train_.length * per / C)));
  let se = 0, n = 0;
  for (const i of ds.indices('test')) ds.get(i).pixels.forEach((v, k) => ((se += (v / 255 - mean[k % C]!) ** 2), n++));
  const base = 10 * Math.log10(1 / (se / n));
  const test_ = d.held_out.rows.find((r) => r.task === 'reconstruction (test)' && r.metric === 'psnr_db')!;
  assert.ok(Math.abs(test_.chance! - base) < 1e-3, `${test_.chance} vs ${base}`);
  assert.ok(test_.value > test_.chance!);
  const card = readFileSync(join(dir, 'README.md'), 'utf8');
  assert.ok(card.includes('```\nnarrowgate train recipes/vq-shapes.yaml (tiny)\n```'));
  assert.equal(readdirSync(join(dir, 'samples')).length, 2);
});

test('the ship command records its own command line in the card', async () => {
  let out = '';
  const ow = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((c: string | Uint8Array, ...rest: unknown[]) => (typeof c === 'string' ? ((out += c), true) : (ow as (...a: unknown[]) => boolean)(c, ...rest))) as typeof process.stdout.write;
  const into = join(w.root, 'cli');
  try {
    await globalOptions(yargs(['ship', join(w.root, 'native'), '--name', 'n', '--into', into, '--suite', 'eval/shapes-quick.yaml', '--samples', '1', '--quiet', '--json'])).command(shipCommand).strict().exitProcess(false).parseAsync();
  } finally {
    process.stdout.write = ow;
  }
  const card = readFileSync(join(into, 'n', 'README.md'), 'utf8');
  assert.ok(card.includes(`narrowgate ship ${join(w.root, 'native')} --name n --suite eval/shapes-quick.yaml --into ${into} --dtype f16 --samples 1\n`), card);
  assert.equal((JSON.parse(out) as ShipDoc).held_out.samples.length, 1);
});
