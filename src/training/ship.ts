/**
 * `narrowgate ship RUN_DIR --name NAME`: turns a finished run into a shipped checkpoint INTO/NAME
 * (default checkpoints/NAME), built under a temporary name and renamed into place only when complete:
 *
 *   the model files of RUN_DIR/final   model.safetensors (F32, or F16 with dtype F16), config.json,
 *                                      tokenizer.json, image_tokenizer/ (native) -- or, for an image
 *                                      tokenizer run, image_tokenizer.json + .safetensors
 *   recipe.resolved.yaml, metrics.jsonl  as trained
 *   eval.json                          the held-out evaluation of the shipped files (ship-eval.ts) with
 *                                      chance levels, samples, the commands and wall times (ShipDoc)
 *   samples/                           small PNGs: inputs, drawn images, reconstructions
 *   README.md                          the training card + held-out evaluation + samples + commands
 *
 * The commands and the training wall time come from the run's trainer state (every command that
 * trained it, the first and each --resume). A run still in progress, or one trained before commands
 * were recorded, is refused.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { UserError } from '../util/errors.js';
import { readJson, writeDirAtomic, writeFileAtomic } from '../util/fs.js';
import type { ProgressFactory } from '../util/progress.js';
import { encodeSafetensors, readSafetensors } from '../model/safetensors.js';
import { sha256File, toHalfBits } from '../model/checkpoint.js';
import type { Suite } from '../eval/suite-schema.js';
import { latestCheckpoint, type TrainerState } from './checkpointing.js';
import { validateRecipe, type Recipe } from './recipe.js';
import type { TokenizerRunState } from './vq.js';
import { evaluateTokenizer, evaluateVlm } from './ship-eval.js';
import { shipCard, type ShipDoc } from './ship-card.js';

export interface ShipOptions {
  /** The run directory (its final/ ships). */
  run: string;
  name: string;
  /** Evaluation suite (vlm runs); default eval/shapes-quick.yaml. Its dataset is replaced by the recipe's. */
  suite?: string | Suite;
  /** Parent directory of the shipped checkpoint; default checkpoints. */
  into?: string;
  /** Weights storage type; default F16 (half the size, see the card). */
  dtype?: 'F32' | 'F16';
  /** This invocation's command line, for the card. */
  command?: string;
  /** Sample outputs to show (default 4) and, for native models, images to draw from their captions (default 4). */
  samples?: number;
  drawn?: number;
  /** Replace an existing INTO/NAME (atomically). */
  force?: boolean;
  progress?: ProgressFactory;
  /** Called with the complete temporary directory just before the rename (fault injection in tests). */
  beforeRename?: (tmpDir: string) => Promise<void>;
}

export interface Provenance {
  commands: string[];
  wallTimeS: number;
  step: number;
}

/** What trained a run: its commands and wall time, from its trainer state. */
export async function runProvenance(run: string, r: Recipe): Promise<Provenance> {
  if (r.task === 'image_tokenizer') {
    const p = join(run, 'trainer_state.json');
    if (!existsSync(p)) throw new UserError(`Run ${run} has no trainer_state.json (it was trained before commands and wall time were recorded); retrain it with narrowgate train into a new --out.`);
    const s = await readJson<TokenizerRunState>(p, 'trainer state');
    return { commands: s.commands, wallTimeS: s.elapsedS, step: s.step };
  }
  const latest = await latestCheckpoint(run);
  if (!latest) throw new UserError(`Run ${run} has no latest.json; expected a run directory made by narrowgate train.`);
  const s = await readJson<TrainerState>(join(latest.dir, 'trainer_state.json'), 'trainer state');
  if (s.step !== r.train.steps) throw new UserError(`Run ${run} stopped at step ${s.step} of ${r.train.steps}; finish it with narrowgate train ... --resume before shipping.`);
  if (!s.commands?.length) throw new UserError(`Run ${run} records no training command (it was trained before commands were recorded); retrain it into a new --out.`);
  return { commands: s.commands, wallTimeS: s.elapsedS, step: s.step };
}

/** Copies final/'s files except the card; the weights re-encoded as `dtype`. */
async function copyModelFiles(final: string, dest: string, dtype: 'F32' | 'F16'): Promise<ShipDoc['weights']> {
  let weights: ShipDoc['weights'] = null;
  for (const f of await fsp.readdir(final)) {
    if (f === 'README.md') continue;
    if (f === 'model.safetensors') {
      const { tensors, metadata } = await readSafetensors(join(final, f));
      const list = [...tensors].map(([name, t]) => ({ name, shape: t.shape, data: dtype === 'F16' ? toHalfBits(t.data as Float32Array) : (t.data as Float32Array) }));
      await writeFileAtomic(join(dest, f), encodeSafetensors(list, metadata));
      weights = { file: f, dtype, bytes: (await fsp.stat(join(dest, f))).size, sha256: await sha256File(join(dest, f)) };
    } else await fsp.cp(join(final, f), join(dest, f), { recursive: true });
  }
  return weights;
}

export async function ship(o: ShipOptions): Promise<{ dir: string; doc: ShipDoc }> {
  if (!/^[A-Za-z0-9][\w.-]*$/.test(o.name)) throw new UserError(`--name "${o.name}" is not a plain directory name; expected letters, digits, ".", "_" or "-", e.g. native-shapes.`);
  const final = join(o.run, 'final');
  const recipePath = join(final, 'recipe.resolved.yaml');
  if (!existsSync(recipePath)) throw new UserError(`Run ${o.run} has no final/recipe.resolved.yaml; expected a finished run of narrowgate train (continue it with --resume).`);
  const r = validateRecipe(YAML.parse(await fsp.readFile(recipePath, 'utf8')), `${recipePath}`);
  const prov = await runProvenance(o.run, r);
  const into = o.into ?? 'checkpoints';
  const dest = join(into, o.name);
  if (existsSync(dest) && !o.force) throw new UserError(`${dest} already exists; pass --force to replace it or choose another --name.`);
  const trainingCard = existsSync(join(final, 'README.md')) ? await fsp.readFile(join(final, 'README.md'), 'utf8') : `# ${r.name}\n`;
  const suite = o.suite ?? 'eval/shapes-quick.yaml';
  let doc: ShipDoc | null = null;
  await writeDirAtomic(dest, async (tmp) => {
    const weights = r.task === 'vlm' ? await copyModelFiles(final, tmp, o.dtype ?? 'F16') : await copyModelFiles(final, tmp, 'F32');
    const t0 = Date.now();
    const heldOut = r.task === 'vlm'
      ? await evaluateVlm(tmp, { suite, dataset: r.data.dir, family: r.model.family, samples: o.samples ?? 4, drawn: o.drawn ?? 4, ...(o.progress ? { progress: o.progress } : {}) })
      : await evaluateTokenizer(tmp, { dataset: r.data.dir, samples: o.samples ?? 4 });
    doc = {
      name: o.name, task: r.task, family: r.task === 'vlm' ? r.model.family : null, run: o.run, checkpoint: dest, recipe: r.name,
      suite: r.task === 'vlm' ? (typeof suite === 'string' ? suite : suite.name) : null, weights, backend: tf.getBackend(), held_out: heldOut,
      commands: { train: prov.commands, ship: o.command ?? null }, wall_time_s: { train: prov.wallTimeS, ship_eval: (Date.now() - t0) / 1000 },
    };
    await writeFileAtomic(join(tmp, 'eval.json'), JSON.stringify(doc, null, 2) + '\n');
    await writeFileAtomic(join(tmp, 'README.md'), shipCard(trainingCard, doc));
    await o.beforeRename?.(tmp);
  });
  return { dir: dest, doc: doc! };
}
