/** `narrowgate train <recipe.yaml>`: trains or fine-tunes a model (or fits the image tokenizer) from a recipe. */
import type { Argv } from 'yargs';
import { join } from 'node:path';
import { globalOptions, emit, handler, type AnyCommand, type GlobalArgs } from '../run.js';
import { initBackend } from '../../backend/index.js';
import { loadRecipe, train } from '../../training/index.js';
import { defaultWorkers } from '../../training/parallel.js';
import { createProgress, noProgress } from '../../util/progress.js';
import { log } from '../../util/log.js';
import { UserError } from '../../util/errors.js';
import { typedCommandLine } from '../command-line.js';

interface TrainArgs extends GlobalArgs {
  $0?: string;
  recipe?: string;
  set?: string[];
  out?: string;
  resume?: boolean;
  'stop-after'?: number;
  workers?: number;
  'dry-run'?: boolean;
}

export const trainCommand: AnyCommand = {
  command: 'train <recipe>',
  describe: 'train or fine-tune from a recipe (recipes/*.yaml); checkpoints, metrics.jsonl and final/ go under --out',
  builder: (y: Argv) =>
    globalOptions(y)
      .positional('recipe', { type: 'string', describe: 'recipe YAML file, e.g. recipes/native-shapes.yaml' })
      .option('set', { type: 'string', array: true, nargs: 1, describe: 'override a recipe value: --set optim.lr=1e-3 --set train.steps=100 (repeatable)' })
      .option('out', { type: 'string', describe: 'run directory (default: runs/<recipe name>)' })
      .option('resume', { type: 'boolean', default: false, describe: 'continue from the latest checkpoint in --out (same recipe required)' })
      .option('stop-after', { type: 'number', describe: 'stop after this many steps (after checkpointing), to continue later with --resume' })
      .option('workers', { type: 'number', default: defaultWorkers(), describe: 'replicas per micro-batch: this thread plus N-1 worker threads (wasm/cpu use one core each; default: the cores available, 1 = no worker threads); keep it fixed across --resume' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'validate the recipe and print it resolved, without training' })
      .example('$0 train recipes/vq-shapes.yaml', 'fit the image tokenizer of the native shapes models')
      .example('$0 train recipes/native-shapes.yaml --set train.steps=200 --out runs/quick', 'a shorter run into runs/quick')
      .example('$0 train recipes/distribute.yaml --resume', 'continue an interrupted fine-tune')
      .example('$0 train recipes/native-shapes.yaml --stop-after 1000', 'train in slices: stop at step 1000, later --resume')
      .example('$0 train recipes/native-shapes.yaml --workers 2 --backend wasm', 'use both cores of a 2-core machine')
      .example('$0 train recipes/adapter-shapes.yaml --dry-run --set model.d_model=64', 'check a recipe and its overrides'),
  handler: handler<TrainArgs>(async (a) => {
    if (!a.recipe) throw new UserError('Name a recipe file, e.g. narrowgate train recipes/native-shapes.yaml.');
    const loaded = loadRecipe(a.recipe, a.set ?? []);
    const out = a.out ?? join('runs', loaded.recipe.name);
    if (a['dry-run']) {
      emit(a, { recipe: loaded.recipe, files: loaded.files, out }, () => `${loaded.files.join(' <- ')}\n${JSON.stringify(loaded.recipe, null, 2)}\nrun directory: ${out}`);
      return;
    }
    const backend = await initBackend(a.backend);
    if (backend.name === 'cpu' && !a.quiet) log('note: training on the cpu backend is slow; the wasm backend is about 15x faster (see narrowgate info).');
    const result = await train(loaded, {
      out,
      resume: a.resume,
      workers: a.workers ?? defaultWorkers(),
      ...(a['stop-after'] !== undefined ? { stopAfter: a['stop-after'] } : {}),
      progress: a.quiet ? noProgress : createProgress,
      note: (m) => log(m),
      command: typedCommandLine('train', () => [
        a.recipe!, ...(a.set ?? []).flatMap((x) => ['--set', x]), '--out', out, ...(a.resume ? ['--resume'] : []),
        ...(a['stop-after'] !== undefined ? ['--stop-after', String(a['stop-after'])] : []), '--workers', String(a.workers ?? defaultWorkers()),
        ...(a.backend ? ['--backend', a.backend] : []),
      ]),
    });
    emit(a, { ...result, backend: backend.name }, () =>
      [
        result.status === 'done'
          ? `trained ${loaded.recipe.name}: ${result.step} steps on ${backend.name}`
          : `stopped ${loaded.recipe.name} at step ${result.step} of ${loaded.recipe.train.steps} (--stop-after); continue with --resume`,
        result.val ? `validation: loss ${result.val.loss.toFixed(4)}, token accuracy ${result.val.token_acc.toFixed(4)}${result.val.answer_acc !== null ? `, answer accuracy ${result.val.answer_acc.toFixed(4)}` : ''}` : '',
        result.finalDir ? `final model: ${result.finalDir}` : `checkpoints: ${join(out, 'checkpoints')}`,
      ].filter(Boolean).join('\n'),
    );
  }),
};
