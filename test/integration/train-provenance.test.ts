import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRecipe, train } from '../../src/training/index.js';
import { typedCommandLine, shellQuote } from '../../src/cli/command-line.js';
import { runTrainCli, tinySets, tinyWorld, type TinyWorld } from '../helpers/train.js';

let w: TinyWorld;
before(async () => {
  w = await tinyWorld();
});
after(() => w?.cleanup());

const recipe = () => loadRecipe('recipes/adapter-shapes.yaml', [...tinySets(w, 4), 'train.ckpt_every=2']);
const state = (out: string, step: number) =>
  JSON.parse(readFileSync(join(out, 'checkpoints', `step-${String(step).padStart(8, '0')}`, 'trainer_state.json'), 'utf8')) as { commands: string[]; elapsedS: number };

test('the trainer state and the card record every command and the wall time summed over resumes; weights do not depend on them', async () => {
  const straight = join(w.root, 'straight'), split = join(w.root, 'split');
  await train(recipe(), { out: straight, command: 'narrowgate train X --out straight' });
  const A = 'narrowgate train recipes/adapter-shapes.yaml --out split --stop-after 2';
  const B = 'narrowgate train recipes/adapter-shapes.yaml --out split --resume';
  await train(recipe(), { out: split, command: A, stopAfter: 2 });
  const s2 = state(split, 2);
  assert.deepEqual(s2.commands, [A]);
  assert.ok(s2.elapsedS > 0);
  await train(recipe(), { out: split, command: B, resume: true });
  const s4 = state(split, 4);
  assert.deepEqual(s4.commands, [A, B]);
  assert.ok(s4.elapsedS > s2.elapsedS, `wall time accumulates: ${s4.elapsedS} after ${s2.elapsedS}`);
  // a resume of a finished run trains nothing: it is not recorded
  await train(recipe(), { out: split, command: 'narrowgate train again --resume', resume: true });
  const card = readFileSync(join(split, 'final', 'README.md'), 'utf8');
  assert.ok(card.includes('```\n' + A + '\n' + B + '\n```'), card);
  assert.ok(!card.includes('again'));
  assert.match(card, new RegExp(`wall time: ${Math.round(s4.elapsedS)} s \\(${(s4.elapsedS / 60).toFixed(1)} min\\) of training, summed over 2 invocations`));
  assert.ok(readFileSync(join(straight, 'final/model.safetensors')).equals(readFileSync(join(split, 'final/model.safetensors'))));
  assert.match(readFileSync(join(straight, 'final', 'README.md'), 'utf8'), /```\nnarrowgate train X --out straight\n```/);
});

test('the train command records its command line (rebuilt from the parsed arguments when run in-process)', async () => {
  const out = join(w.root, 'cli');
  const sets = [...tinySets(w, 1), 'data.mixture={caption: 1, vqa: 0}'];
  const r = await runTrainCli(['recipes/adapter-shapes.yaml', ...sets.flatMap((s) => ['--set', s]), '--out', out, '--workers', '1', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const card = readFileSync(join(out, 'final', 'README.md'), 'utf8');
  const expected = `narrowgate train recipes/adapter-shapes.yaml ${sets.map((s) => `--set ${shellQuote(s)}`).join(' ')} --out ${out} --workers 1`;
  assert.ok(card.includes('```\n' + expected + '\n```'), card);
  assert.ok(card.includes("'data.mixture={caption: 1, vqa: 0}'"));
});

test('typedCommandLine: the process arguments as typed, shell-quoted', () => {
  assert.equal(typedCommandLine('train', () => ['unused'], ['node', 'main.ts', 'train', 'r.yaml', '--set', "a=it's x"]), `narrowgate train r.yaml --set 'a=it'\\''s x'`);
  assert.equal(typedCommandLine('ship', () => ['runs/a', '--name', 'a'], ['node', 'test.js']), 'narrowgate ship runs/a --name a');
  assert.equal(shellQuote(''), "''");
});
