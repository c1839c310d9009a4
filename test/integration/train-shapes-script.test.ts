import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = mkdtempSync(join(tmpdir(), 'ng-shapes-script-'));
after(() => rmSync(root, { recursive: true, force: true }));

const ck = join(root, 'ck'), runs = join(root, 'runs');
// tiny models and data, as in test/helpers/train.ts
const TINY = [
  'model.d_model=16', 'model.n_layers=1', 'model.n_heads=2', 'model.d_mlp=32', `data.dir=${join(root, 'ds')}`, 'data.n=40',
  'train.steps=2', 'train.batch_size=3', 'train.val_every=1', 'train.val_batches=1', 'train.ckpt_every=1', 'train.log_every=1',
  'schedule.warmup=1', 'vq.codebook=16', 'vq.sample_patches=1500', 'vq.iterations=4',
];
const sets = TINY.flatMap((s) => ['--set', s]);
const script = (...args: string[]) => run('bash', ['scripts/train-shapes.sh', ...sets, '--into', ck, '--runs', runs, '--workers', '1', ...args], { maxBuffer: 1 << 24 });

test('train-shapes.sh: ships in order, skips what is shipped, continues an interrupted run with --resume (both commands in the card)', { timeout: 300_000 }, async () => {
  const a = await script('--only', 'vq-shapes');
  assert.match(a.stdout, /Estimate/);
  const vqCard = readFileSync(join(ck, 'vq-shapes', 'README.md'), 'utf8');
  assert.ok(vqCard.includes(`narrowgate train recipes/vq-shapes.yaml --out ${runs}/vq-shapes --resume ${sets.join(' ')} --workers 1\n`), vqCard);
  // an interrupted native run: one of its two steps done
  const first = ['train', 'recipes/native-shapes.yaml', '--out', join(runs, 'native-shapes'), ...sets, '--set', `image.tokenizer=${ck}/vq-shapes`, '--workers', '1', '--stop-after', '1', '--quiet'];
  await run('node', ['--import', 'tsx', 'src/cli/main.ts', ...first]);
  assert.ok(!existsSync(join(ck, 'native-shapes')));
  const b = await script('--only', 'vq-shapes', '--only', 'native-shapes');
  assert.match(b.stdout, /vq-shapes +shipped/);
  assert.match(b.stdout, /native-shapes +1 of 2 steps left/);
  assert.match(b.stdout, /== vq-shapes: .* exists, skipped/);
  const card = readFileSync(join(ck, 'native-shapes', 'README.md'), 'utf8');
  const resumed = `narrowgate train recipes/native-shapes.yaml --out ${runs}/native-shapes --resume ${sets.join(' ')} --set image.tokenizer=${ck}/vq-shapes --workers 1`;
  const shipped = `narrowgate ship ${runs}/native-shapes --name native-shapes --suite eval/shapes-quick.yaml --into ${ck} --dtype f16`;
  assert.ok(card.includes(['```', `narrowgate ${first.join(' ')}`, resumed, shipped, '```'].join('\n')), card);
  assert.match(card, /training \d+ s \(\d+\.\d min\) over 2 invocations/);
  assert.ok(card.includes('image.tokenizer=' + ck + '/vq-shapes'));
  const doc = JSON.parse(readFileSync(join(ck, 'native-shapes', 'eval.json'), 'utf8')) as { held_out: { split: string }; commands: { train: string[] } };
  assert.equal(doc.held_out.split, 'test');
  assert.equal(doc.commands.train.length, 2);
  await assert.rejects(run('bash', ['scripts/train-shapes.sh', '--only', 'nope']), /--only nope is not one of/);
});
