/**
 * Shared fixtures for the training tests: a tiny shapes dataset and image tokenizer in a temporary
 * directory, the --set overrides that shrink any recipe to a few seconds, and an in-process runner
 * of the `train` command module (the same parser and handler as the CLI, without a process start).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import * as tf from '@tensorflow/tfjs';
import { globalOptions } from '../../src/cli/run.js';
import { trainCommand } from '../../src/cli/commands/train.js';
import { loadRecipe, train } from '../../src/training/index.js';
import { UserError } from '../../src/util/errors.js';

export interface TinyWorld {
  root: string;
  ds: string;
  vq: string;
  cleanup(): void;
}

/** The overrides that make any shipped recipe tiny (model, data, steps, evaluation). */
export function tinySets(w: TinyWorld, steps = 2): string[] {
  return [
    'model.d_model=16', 'model.n_layers=1', 'model.n_heads=2', 'model.d_mlp=32',
    'vision.d_model=16', 'vision.n_layers=1', 'vision.n_heads=2', 'vision.d_mlp=32',
    `data.dir=${w.ds}`, 'data.n=40', `image.tokenizer=${w.vq}`,
    `train.steps=${steps}`, 'train.batch_size=3', 'train.val_every=1', 'train.val_batches=1',
    'train.ckpt_every=1', 'train.log_every=1', 'schedule.warmup=1',
  ];
}

/**
 * A 40-image dataset and a 16-code k-means image tokenizer, built through a vq recipe
 * (vq-shapes by default; vq-fmnist for Fashion-MNIST).
 */
export async function tinyWorld(vqRecipe = 'recipes/vq-shapes.yaml'): Promise<TinyWorld> {
  const ok = await tf.setBackend('cpu');
  if (!ok) throw new Error('cpu backend unavailable');
  const root = mkdtempSync(join(tmpdir(), 'ng-train-'));
  const ds = join(root, 'ds');
  const loaded = loadRecipe(vqRecipe, [`data.dir=${ds}`, 'data.n=40', 'vq.codebook=16', 'vq.sample_patches=1500', 'vq.iterations=4']);
  const res = await train(loaded, { out: join(root, 'vq') });
  return { root, ds, vq: res.finalDir as string, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `narrowgate train ...args` in this process through the train command module. */
export async function runTrainCli(args: string[]): Promise<CliResult> {
  let stdout = '', stderr = '';
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  // strings come from the command (emit, log); binary chunks are the test runner's own reports: pass those on
  const capture = (orig: typeof process.stdout.write, add: (s: string) => void) =>
    ((c: string | Uint8Array, ...rest: unknown[]) => (typeof c === 'string' ? (add(c), true) : (orig as (...a: unknown[]) => boolean)(c, ...rest))) as typeof process.stdout.write;
  process.stdout.write = capture(ow, (c) => (stdout += c));
  process.stderr.write = capture(ew, (c) => (stderr += c));
  const prevCode = process.exitCode;
  process.exitCode = 0;
  let code = 0;
  try {
    await globalOptions(yargs(['train', ...args]))
      .command(trainCommand)
      .strict()
      .exitProcess(false)
      .fail((msg, err) => {
        throw err ?? new UserError(msg);
      })
      .parseAsync();
    code = Number(process.exitCode ?? 0);
  } catch (e) {
    stderr += String(e);
    code = 1;
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
    process.exitCode = prevCode;
  }
  return { code, stdout, stderr };
}
