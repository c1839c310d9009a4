/**
 * Bad inputs through the real binary: each case checks the exit code (1), a single sentence on stderr
 * that names the bad input (path or key) with no stack trace, and that nothing under the fixture tree
 * (checkpoints, datasets, pre-existing outputs) was written, changed or left behind afterwards.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { encodePng } from '../../src/data/images.js';
import { assertSameTree, assertUserError, cliAsync, snapshot, type CliRun } from '../helpers/cli.js';
import { evalFixture, type EvalFixture } from '../helpers/eval-tiny.js';
import { tinySets, tinyWorld, type TinyWorld } from '../helpers/train.js';
import { loadRecipe, train } from '../../src/training/index.js';
import { badSafetensors } from './corrupt.js';

let f: EvalFixture;
let w: TinyWorld;
/** Everything the cases read or must leave alone lives under `root`; `scratch` takes fresh outputs. */
let root: string;
let scratch: string;

before(async () => {
  assert.ok(await tf.setBackend('cpu'));
  f = await evalFixture(6);
  w = await tinyWorld();
  root = f.root;
  scratch = mkdtempSync(join(tmpdir(), 'ng-bad-scratch-'));
  const img = f.ds.get(0);
  writeFileSync(join(root, 'img.png'), await encodePng({ width: 16, height: 16, channels: 3, pixels: img.pixels }));
  // corrupted copies of the adapter checkpoint
  const st = readFileSync(join(f.adapter, 'model.safetensors'));
  for (const [name, bytes] of Object.entries(badSafetensors(st))) {
    cpSync(f.adapter, join(root, `ck-${name}`), { recursive: true });
    writeFileSync(join(root, `ck-${name}`, 'model.safetensors'), bytes);
  }
  cpSync(f.adapter, join(root, 'ck-config'), { recursive: true });
  const cfg = JSON.parse(readFileSync(join(f.adapter, 'config.json'), 'utf8')) as { decoder: { dMlp: number } };
  cfg.decoder.dMlp = 32;
  writeFileSync(join(root, 'ck-config', 'config.json'), JSON.stringify(cfg));
  // images: not an image, zero bytes, empty folders
  mkdirSync(join(root, 'imgs-text', 'cls'), { recursive: true });
  writeFileSync(join(root, 'imgs-text', 'cls', 'a.png'), 'hello, I am text\n');
  copyFileSync(join(root, 'img.png'), join(root, 'imgs-text', 'cls', 'b.png'));
  mkdirSync(join(root, 'imgs-zero', 'cls'), { recursive: true });
  writeFileSync(join(root, 'imgs-zero', 'cls', 'z.png'), '');
  copyFileSync(join(root, 'img.png'), join(root, 'imgs-zero', 'cls', 'b.png'));
  mkdirSync(join(root, 'imgs-none'));
  mkdirSync(join(root, 'imgs-empty-class', 'cls'), { recursive: true });
  // recipes
  writeFileSync(join(root, 'unknown-key.yaml'), 'base: recipes/native-shapes.yaml\nname: x\nmodel: {d_modle: 3}\n');
  writeFileSync(join(root, 'bad.yaml'), 'name: [unclosed\n  model: {\n');
  mkdirSync(join(root, 'my-notes'));
  writeFileSync(join(root, 'my-notes', 'notes.txt'), 'not a dataset, keep me\n');
  writeFileSync(join(root, 'suite-missing-data.yaml'), `name: t\ndataset: ${JSON.stringify(join(root, 'no-such-dataset'))}\ntasks:\n  - {type: captioning, prompt: ""}\n`);
  // COCO / VQA JSON
  writeFileSync(join(root, 'truncated.json'), '{"images": [{"id": 1');
  writeFileSync(join(root, 'no-annotations.json'), '{"images": [], "annotations": {}}');
  writeFileSync(join(root, 'caption-results.json'), JSON.stringify([{ image_id: 999, caption: 'a red circle' }]));
  writeFileSync(join(root, 'vqa-results.json'), JSON.stringify([{ question_id: 99999, answer: 'red' }]));
  // intervention specs
  const spec = (name: string, v: unknown) => writeFileSync(join(root, name), typeof v === 'string' ? v : JSON.stringify(v));
  spec('edit-selector.json', { type: 'knockout', queries: '@eos', keys: '@eoi' });
  spec('edit-layer.json', { type: 'knockout', queries: '@all-text', keys: '@eoi', layers: [5] });
  spec('edit-head.json', { type: 'knockout', queries: '@all-text', keys: '@eoi', heads: [7] });
  spec('edit-mode.json', { type: 'knockout', queries: '@all-text', keys: '@eoi', mode: 'soft' });
  spec('edit-type.json', { type: 'knockoff', queries: '@all-text', keys: '@eoi' });
  spec('edit-broken.json', '{"type": "knockout", "queries": ');
  spec('edit-arrow.json', { type: 'steer', layer: 0, position: '@eoi', op: 'add', vector: { store: join(f.data, 'images.arrow'), hook: 'resid_post', layer: 0, position_kind: 'eoi', class_a: 0, class_b: 1 } });
  // a dataset whose images.arrow is an activation store (another schema), and an existing store
  const made = await cliAsync(['extract', '--checkpoint', f.adapter, '--data', f.data, '--layers', '0', '--out', join(root, 'existing.arrow'), '--quiet']);
  assert.equal(made.code, 0, made.stderr);
  cpSync(f.data, join(root, 'ds-wrong-arrow'), { recursive: true });
  copyFileSync(join(root, 'existing.arrow'), join(root, 'ds-wrong-arrow', 'images.arrow'));
  // training runs damaged on disk: a garbled latest.json, a truncated optimizer state
  const run = join(root, 'run-ok');
  await train(loadRecipe('recipes/native-shapes.yaml', tinySets(w, 2)), { out: run });
  cpSync(run, join(root, 'run-latest'), { recursive: true });
  writeFileSync(join(root, 'run-latest', 'latest.json'), '{"step": 2, "dir": ');
  cpSync(run, join(root, 'run-optim'), { recursive: true });
  const optim = join(root, 'run-optim', 'checkpoints', 'step-00000002', 'optimizer.safetensors');
  writeFileSync(optim, readFileSync(optim).subarray(0, 200));
  // pre-existing outputs that failing commands must leave alone
  cpSync(f.data, join(root, 'existing-dataset'), { recursive: true });
  mkdirSync(join(root, 'existing-eval'));
  writeFileSync(join(root, 'existing-eval', 'results.json'), '{"keep": true}\n');
});
after(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  w?.cleanup();
});

interface Case {
  name: string;
  args: () => string[];
  /** Strings or patterns the one-sentence message must contain. */
  names: () => (string | RegExp)[];
  /** Further checks after the run. */
  then?: (r: CliRun) => void;
}

const gen = (ck: string, extra: string[] = []) => ['generate', '--checkpoint', ck, '--image', join(root, 'img.png'), '--max-tokens', '2', '--quiet', ...extra];
const trainArgs = (sets: string[], recipe = 'recipes/native-shapes.yaml', out = join(scratch, 'never')) =>
  ['train', recipe, '--out', out, '--quiet', ...[...tinySets(w, 2), ...sets].flatMap((s) => ['--set', s])];
const st = (name: string) => join(root, `ck-${name}`, 'model.safetensors');

const CASES: Case[] = [
  // safetensors and checkpoints
  { name: 'truncated safetensors', args: () => gen(join(root, 'ck-truncated')), names: () => [st('truncated'), /truncated/] },
  { name: 'zero-byte safetensors', args: () => gen(join(root, 'ck-empty')), names: () => [st('empty'), /0 bytes/] },
  { name: 'huge header length', args: () => gen(join(root, 'ck-huge-header')), names: () => [st('huge-header'), /header/] },
  { name: 'header that is not JSON', args: () => gen(join(root, 'ck-bad-header')), names: () => [st('bad-header'), /JSON/] },
  { name: 'offsets past the end of the file', args: () => gen(join(root, 'ck-offsets-out')), names: () => [st('offsets-out'), /blocks\.0\.attn\.W_K|projector|\w+\.\w+/] },
  { name: 'offsets that disagree with the shape', args: () => gen(join(root, 'ck-offsets-span')), names: () => [st('offsets-span'), /needs \d+/] },
  { name: 'integer dtype for a float weight', args: () => gen(join(root, 'ck-dtype')), names: () => [st('dtype'), /dtype/] },
  { name: 'unknown dtype', args: () => gen(join(root, 'ck-dtype-unknown')), names: () => [st('dtype-unknown'), /Q8/] },
  { name: 'config that does not match the weights', args: () => gen(join(root, 'ck-config')), names: () => [join(root, 'ck-config'), /config\.json/, /dMlp|\[16, 32\]/] },
  {
    name: 'checkpoint of another model family as init.from',
    args: () => trainArgs([`init.from=${f.adapter}`]),
    names: () => [f.adapter, /adapter/, /native/],
  },
  // recipes
  { name: 'mistyped --set key', args: () => trainArgs(['train.stpes=3']), names: () => ['train.stpes', 'steps'] },
  { name: 'wrongly typed --set value', args: () => trainArgs(['train.steps=abc']), names: () => ['train.steps', 'abc'] },
  { name: 'unknown key in a recipe file', args: () => trainArgs([], join(root, 'unknown-key.yaml')), names: () => [join(root, 'unknown-key.yaml'), 'model.d_modle'] },
  { name: 'recipe that is not YAML', args: () => trainArgs([], join(root, 'bad.yaml')), names: () => [join(root, 'bad.yaml'), /YAML/] },
  { name: 'recipe file that does not exist', args: () => trainArgs([], join(root, 'nope.yaml')), names: () => [join(root, 'nope.yaml')] },
  {
    name: 'recipe whose data.dir is a directory without a dataset',
    args: () => trainArgs([`data.dir=${join(root, 'my-notes')}`]),
    names: () => [join(root, 'my-notes'), 'data.dir'],
  },
  { name: 'recipe whose image tokenizer is missing', args: () => trainArgs([`image.tokenizer=${join(root, 'no-vq')}`]), names: () => [join(root, 'no-vq'), 'image.tokenizer'] },
  {
    name: 'evaluation suite whose dataset is missing',
    args: () => ['eval', 'suite', join(root, 'suite-missing-data.yaml'), '--checkpoint', f.adapter, '--out', join(root, 'existing-eval'), '--quiet'],
    names: () => [join(root, 'no-such-dataset')],
  },
  // images and datasets
  { name: 'text file as --image', args: () => ['generate', '--checkpoint', f.adapter, '--image', join(root, 'imgs-text', 'cls', 'a.png'), '--quiet'], names: () => [join(root, 'imgs-text', 'cls', 'a.png')] },
  { name: 'zero-byte --image', args: () => ['generate', '--checkpoint', f.adapter, '--image', join(root, 'imgs-zero', 'cls', 'z.png'), '--quiet'], names: () => [join(root, 'imgs-zero', 'cls', 'z.png')] },
  {
    name: 'non-image file in an imported folder (--strict)',
    args: () => ['data', 'import-folder', '--images', join(root, 'imgs-text'), '--out', join(root, 'existing-dataset'), '--size', '16', '--strict', '--quiet'],
    names: () => [join(root, 'imgs-text', 'cls', 'a.png')],
  },
  {
    name: 'zero-byte image in an imported folder (--strict)',
    args: () => ['data', 'import-folder', '--images', join(root, 'imgs-zero'), '--out', join(root, 'existing-dataset'), '--size', '16', '--strict', '--quiet'],
    names: () => [join(root, 'imgs-zero', 'cls', 'z.png'), /empty|0 bytes/],
  },
  { name: 'empty image folder', args: () => ['data', 'import-folder', '--images', join(root, 'imgs-none'), '--out', join(root, 'existing-dataset'), '--quiet'], names: () => [join(root, 'imgs-none')] },
  { name: 'class folder without images (empty dataset)', args: () => ['data', 'import-folder', '--images', join(root, 'imgs-empty-class'), '--out', join(root, 'existing-dataset'), '--quiet'], names: () => [join(root, 'imgs-empty-class')] },
  // COCO / VQA JSON
  { name: 'truncated COCO annotations', args: () => ['eval', 'caption', '--results', join(root, 'caption-results.json'), '--annotations', join(root, 'truncated.json')], names: () => [join(root, 'truncated.json'), /JSON/] },
  { name: 'COCO annotations without a list', args: () => ['eval', 'caption', '--results', join(root, 'caption-results.json'), '--annotations', join(root, 'no-annotations.json')], names: () => [join(root, 'no-annotations.json'), '"annotations"'] },
  { name: 'truncated VQA annotations', args: () => ['eval', 'vqa', '--results', join(root, 'vqa-results.json'), '--annotations', join(root, 'truncated.json')], names: () => [join(root, 'truncated.json')] },
  { name: 'caption result ids not in the annotations', args: () => ['eval', 'caption', '--results', join(root, 'caption-results.json'), '--annotations', join(f.data, 'captions.json')], names: () => ['999', /results/, /annotations/] },
  { name: 'VQA question ids not in the annotations', args: () => ['eval', 'vqa', '--results', join(root, 'vqa-results.json'), '--annotations', join(f.data, 'annotations.json')], names: () => ['99999', /results/, /annotations/] },
  // intervention specs
  { name: 'unknown position selector', args: () => gen(f.adapter, ['--edit', join(root, 'edit-selector.json')]), names: () => [join(root, 'edit-selector.json'), '@eos'] },
  { name: 'knockout layer out of range', args: () => gen(f.adapter, ['--edit', join(root, 'edit-layer.json')]), names: () => ['knockout.layers[0]', /0\.\.0/] },
  { name: 'knockout head out of range', args: () => gen(f.adapter, ['--edit', join(root, 'edit-head.json')]), names: () => ['knockout.heads[0]', /0\.\.1/] },
  { name: 'unknown knockout mode', args: () => gen(f.adapter, ['--edit', join(root, 'edit-mode.json')]), names: () => [join(root, 'edit-mode.json'), 'soft', 'renormalize'] },
  { name: 'unknown intervention type', args: () => gen(f.adapter, ['--edit', join(root, 'edit-type.json')]), names: () => [join(root, 'edit-type.json'), 'knockoff'] },
  { name: 'spec file that is not JSON', args: () => gen(f.adapter, ['--edit', join(root, 'edit-broken.json')]), names: () => [join(root, 'edit-broken.json'), /JSON/] },
  {
    name: 'extract layer out of range (existing store kept)',
    args: () => ['extract', '--checkpoint', f.adapter, '--data', f.data, '--layers', '3', '--out', join(root, 'existing.arrow'), '--quiet'],
    names: () => ['Layer 3', /0\.\.0/],
  },
  {
    name: 'extract unknown hook (existing store kept)',
    args: () => ['extract', '--checkpoint', f.adapter, '--data', f.data, '--hooks', 'resid_psot', '--out', join(root, 'existing.arrow'), '--quiet'],
    names: () => ['resid_psot'],
  },
  // Arrow files of another schema
  { name: 'steering vector from a dataset Arrow file', args: () => gen(f.adapter, ['--edit', join(root, 'edit-arrow.json')]), names: () => [join(f.data, 'images.arrow'), /activation store/] },
  { name: 'dataset whose images.arrow is an activation store', args: () => ['data', 'info', join(root, 'ds-wrong-arrow')], names: () => [join(root, 'ds-wrong-arrow', 'images.arrow'), /pixels/] },
  {
    name: 'extract from a dataset with an activation store as images.arrow',
    args: () => ['extract', '--checkpoint', f.adapter, '--data', join(root, 'ds-wrong-arrow'), '--out', join(root, 'existing.arrow'), '--quiet'],
    names: () => [join(root, 'ds-wrong-arrow', 'images.arrow')],
  },
  // damaged training runs
  {
    name: 'resume with a garbled latest.json',
    args: () => [...trainArgs([], 'recipes/native-shapes.yaml', join(root, 'run-latest')), '--resume'],
    names: () => [join(root, 'run-latest', 'latest.json')],
  },
  {
    name: 'resume from a truncated optimizer state',
    args: () => [...trainArgs([], 'recipes/native-shapes.yaml', join(root, 'run-optim')), '--resume'],
    names: () => [join(root, 'run-optim', 'checkpoints', 'step-00000002', 'optimizer.safetensors')],
  },
  {
    name: 'used run directory without --resume',
    args: () => trainArgs([], 'recipes/native-shapes.yaml', join(root, 'run-ok')),
    names: () => [join(root, 'run-ok'), '--resume'],
  },
  // training that diverges
  {
    name: 'NaN/Inf during training',
    args: () => trainArgs(['optim.lr=1e38', 'schedule.warmup=0', 'optim.clip=null', 'train.steps=4', 'train.ckpt_every=1'], 'recipes/native-shapes.yaml', join(scratch, 'nan')),
    names: () => [/Training stopped at step \d: the (loss|gradient norm) is (NaN|Infinity|-Infinity)/, 'optim.lr'],
    then: () => {
      assert.equal(existsSync(join(scratch, 'nan', 'final')), false, 'a diverged run must not write final/');
    },
  },
];

test(`bad inputs: ${CASES.length} cases exit 1 with one sentence naming the input and write nothing`, { concurrency: 3 }, async (t) => {
  assert.ok(CASES.length >= 20);
  const before = snapshot(root);
  await Promise.all(
    CASES.map((c) =>
      t.test(c.name, async () => {
        const r = await cliAsync(c.args());
        assertUserError(r, c.names(), c.name);
        c.then?.(r);
      }),
    ),
  );
  assertSameTree(before, snapshot(root), 'fixture tree after the bad-input cases');
});
