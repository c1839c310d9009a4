import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runTrainCli, tinySets, tinyWorld, type TinyWorld } from '../helpers/train.js';
import { FASHION_MNIST_DIR } from '../../src/data/fashion-mnist.js';
import { loadModel } from '../../src/model/checkpoint.js';

let w: TinyWorld;
before(async () => {
  w = await tinyWorld();
});
after(() => {
  w?.cleanup();
  fm?.cleanup();
});

/** Fashion-MNIST comes from Debian's dataset-fashion-mnist; without it those recipes are skipped. */
const HAVE_FMNIST = existsSync(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));
let fm: TinyWorld | undefined;

const setArgs = (sets: string[]) => sets.flatMap((s) => ['--set', s]);

/** The real CLI entry: the compiled one under dist/, or the TypeScript one through tsx. */
function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const ts = fileURLToPath(import.meta.url).endsWith('.ts');
  const argv = ts ? ['--import', 'tsx', 'src/cli/main.ts', ...args] : ['dist/src/cli/main.js', ...args];
  const r = spawnSync(process.execPath, argv, { encoding: 'utf8', env: { ...process.env, NARROWGATE_BACKEND: 'cpu' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('the narrowgate binary trains vq-shapes and reports bad recipes in one sentence', () => {
  const out = join(w.root, 'vq-cli');
  const ok = cli(['train', 'recipes/vq-shapes.yaml', '--out', out, '--json', '--quiet', ...setArgs([`data.dir=${w.ds}`, 'data.n=40', 'vq.codebook=8', 'vq.sample_patches=500', 'vq.iterations=2'])]);
  assert.equal(ok.code, 0, ok.stderr);
  const res = JSON.parse(ok.stdout) as { status: string; finalDir: string };
  assert.equal(res.status, 'done');
  assert.ok(existsSync(join(res.finalDir, 'image_tokenizer.json')));
  assert.match(readFileSync(join(res.finalDir, 'README.md'), 'utf8'), /8 codes over 4x4x3 patches/);
  const bad = cli(['train', 'recipes/native-shapes.yaml', '--set', 'optim.lrr=1']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^narrowgate: --set optim\.lrr=1: unknown key "optim\.lrr"; expected one of: lr, /);
  assert.equal(bad.stderr.trim().split('\n').length, 1, 'one line, no stack trace');
});

const finals: Record<string, string> = {};

/** Runs a recipe for 1 step (stop), resumes it to 2, and checks validation, checkpoints and the card. */
async function startValidateCheckpointResume(name: string, extra: string[] = [], world: TinyWorld = w): Promise<void> {
  const out = join(world.root, name);
  const args = [`recipes/${name}.yaml`, '--out', out, '--quiet', ...setArgs([...tinySets(world, 2), ...extra])];
  const first = await runTrainCli([...args, '--stop-after', '1']);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /stopped .* at step 1 of 2/);
  assert.ok(existsSync(join(out, 'recipe.resolved.yaml')));
  assert.deepEqual(readdirSync(join(out, 'checkpoints')), ['step-00000001']);
  const second = await runTrainCli([...args, '--resume']);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, new RegExp(`trained ${name}: 2 steps`));
  const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; split: string });
  assert.deepEqual(metrics.filter((m) => m.split === 'train').map((m) => m.step), [1, 2]);
  assert.ok(metrics.some((m) => m.split === 'val' && m.step === 1) && metrics.some((m) => m.split === 'val' && m.step === 2));
  for (const f of ['model.safetensors', 'config.json', 'tokenizer.json', 'recipe.resolved.yaml', 'metrics.jsonl', 'README.md']) {
    assert.ok(existsSync(join(out, 'final', f)), `final/${f} is missing`);
  }
  finals[name] = join(out, 'final');
  // the shipped form: src/model/checkpoint.ts loads it, with its tokenizers
  const lm = await loadModel(join(out, 'final'));
  try {
    assert.ok(lm.tokenizer);
    assert.equal(lm.imageTokenizerDir !== null, lm.config.family === 'native');
    assert.match(lm.recipe ?? '', new RegExp(`name: ${name}`));
  } finally {
    lm.model.dispose();
  }
}

test('native-shapes starts, validates, checkpoints and resumes from the CLI', () => startValidateCheckpointResume('native-shapes'));
test('native-shapes-noimgloss starts, validates, checkpoints and resumes from the CLI', () => startValidateCheckpointResume('native-shapes-noimgloss'));
test('adapter-shapes starts, validates, checkpoints and resumes from the CLI', () => startValidateCheckpointResume('adapter-shapes'));
test('adapter-shapes-pretrained (frozen MobileNetV3 features) starts, validates, checkpoints and resumes from the CLI', () =>
  startValidateCheckpointResume('adapter-shapes-pretrained'));
for (const ft of ['distribute', 'distribute-control', 'concentrate', 'gate-dropout']) {
  test(`${ft} fine-tunes native-shapes from the CLI (start, validate, checkpoint, resume)`, () =>
    startValidateCheckpointResume(ft, [`init.from=${finals['native-shapes']}`]));
}
test('concentrate-adapter fine-tunes adapter-shapes from the CLI (start, validate, checkpoint, resume)', () =>
  startValidateCheckpointResume('concentrate-adapter', [`init.from=${finals['adapter-shapes']}`]));

test('vq-shapes with vq.kind=vqvae trains a VQ-VAE that a native recipe then uses', async () => {
  const { train, loadRecipe } = await import('../../src/training/index.js');
  const vq = await train(loadRecipe('recipes/vq-shapes.yaml', [`data.dir=${w.ds}`, 'vq.kind=vqvae', 'vq.codebook=16', 'vq.iterations=3', 'vq.hidden=16', 'vq.latent_dim=4', 'train.batch_size=8', 'train.log_every=1']), { out: join(w.root, 'vqvae') });
  const cfg = JSON.parse(readFileSync(join(vq.finalDir!, 'image_tokenizer.json'), 'utf8')) as { type: string };
  assert.equal(cfg.type, 'narrowgate-vqvae');
  const trainLines = readFileSync(join(vq.finalDir!, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { split: string; loss?: number });
  assert.equal(trainLines.filter((m) => m.split === 'train' && Number.isFinite(m.loss)).length, 3);
  await startValidateCheckpointResume('native-shapes', [`image.tokenizer=${vq.finalDir}`], { ...w, root: join(w.root, 'with-vqvae') });
});

test('lm-shapes pretrains the decoder on text (LLaVA-style stage 1) from the CLI', () => startValidateCheckpointResume('lm-shapes'));
test('adapter-shapes-llava-projector trains vision + projector into the frozen decoder (stage 2)', async () => {
  await startValidateCheckpointResume('adapter-shapes-llava-projector', [`init.from=${finals['lm-shapes']}`]);
  const { readSafetensors } = await import('../../src/model/safetensors.js');
  const before = (await readSafetensors(join(finals['lm-shapes']!, 'model.safetensors'))).tensors;
  const after = (await readSafetensors(join(finals['adapter-shapes-llava-projector']!, 'model.safetensors'))).tensors;
  const same = (n: string) => Array.from(before.get(n)!.data).every((x, i) => x === after.get(n)!.data[i]);
  assert.ok(same('embed.W_E') && same('blocks.0.attn.W_Q'), 'frozen decoder weights changed');
  assert.ok(!same('projector.W_1'), 'the projector did not train');
});
test('adapter-shapes-llava fine-tunes everything from stage 2 (stage 3)', () =>
  startValidateCheckpointResume('adapter-shapes-llava', [`init.from=${finals['adapter-shapes-llava-projector']}`]));

test('vq-fmnist fits the Fashion-MNIST image tokenizer', { skip: !HAVE_FMNIST && 'dataset-fashion-mnist is not installed' }, async () => {
  fm = await tinyWorld('recipes/vq-fmnist.yaml');
  const cfg = JSON.parse(readFileSync(join(fm.vq, 'image_tokenizer.json'), 'utf8')) as { imageSize: number; channels: number };
  assert.deepEqual([cfg.imageSize, cfg.channels], [28, 1]);
});
for (const name of ['native-fmnist', 'native-fmnist-noimgloss', 'adapter-fmnist', 'adapter-fmnist-pretrained']) {
  test(`${name} starts, validates, checkpoints and resumes from the CLI`, { skip: !HAVE_FMNIST && 'dataset-fashion-mnist is not installed' }, () =>
    startValidateCheckpointResume(name, [], fm));
}

test('every shipped recipe file is covered by a test above', () => {
  const shipped = readdirSync('recipes').filter((f) => f.endsWith('.yaml') && f !== 'base.yaml').map((f) => f.replace(/\.yaml$/, ''));
  const covered = new Set([...Object.keys(finals), 'vq-shapes', 'vq-fmnist', 'native-fmnist', 'native-fmnist-noimgloss', 'adapter-fmnist', 'adapter-fmnist-pretrained']);
  assert.deepEqual(shipped.filter((n) => !covered.has(n)), []);
});
