/**
 * Training checkpoints. A run directory (--out) holds:
 *
 *   recipe.resolved.yaml      the resolved recipe, written before the first step
 *   metrics.jsonl             one JSON object per log / validation event
 *   latest.json               {"step": N, "dir": "checkpoints/step-0000N"}, replaced atomically after each checkpoint
 *   checkpoints/step-XXXXXXXX/
 *       model.safetensors     weights by parameter name (F32)
 *       config.json           the model config (src/model/config.ts ModelConfig)
 *       tokenizer.json        the word tokenizer
 *       image_tokenizer.*     native models: a copy of the image tokenizer they were trained with
 *       recipe.resolved.yaml
 *       optimizer.safetensors AdamW moments "m.<param>" / "v.<param>" (trainable parameters only)
 *       trainer_state.json    update count, data-order and knockout Rng states, tokens seen, elapsed time
 *   final/                    the last checkpoint plus README.md (model card) and metrics.jsonl: what ships
 *
 * Every directory is built under a temporary name and renamed into place (src/util/fs.ts), so an
 * interrupted run leaves either the previous checkpoint or the new one, never half of one.
 */
import { copyFile, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { readJson, writeDirAtomic, writeFileAtomic } from '../util/fs.js';
import { encodeSafetensors, readSafetensors } from '../model/safetensors.js';
import type { ModelConfig } from '../model/config.js';
import type { VLModel } from '../model/model.js';
import type { WordTokenizer } from '../tokenizers/word.js';
import { IMAGE_TOKENIZER_CONFIG, IMAGE_TOKENIZER_WEIGHTS } from '../tokenizers/image.js';
import type { OptimizerState } from './optimizer.js';
import type { SamplerState } from './batches.js';

export interface TrainerState {
  /** Optimizer updates done. */
  step: number;
  sampler: SamplerState;
  /** Snapshot of the Rng that draws the per-batch knockouts. */
  knockoutRng: number;
  tokens: number;
  elapsedS: number;
}

export interface CheckpointParts {
  model: VLModel;
  config: ModelConfig;
  tokenizer: WordTokenizer;
  imageTokenizerDir: string | null;
  recipeYaml: string;
}

export const stepDirName = (step: number): string => `step-${String(step).padStart(8, '0')}`;

/** Writes the model files (everything but the optimizer and trainer state) into `dir`. */
export async function writeModelFiles(dir: string, p: CheckpointParts): Promise<void> {
  const tensors = [];
  for (const [name, v] of p.model.namedParameters()) tensors.push({ name, shape: [...v.shape], data: (await v.data()) as Float32Array });
  await writeFileAtomic(join(dir, 'model.safetensors'), encodeSafetensors(tensors, { format: 'pt', producer: 'narrowgate' }));
  await writeFileAtomic(join(dir, 'config.json'), JSON.stringify(p.config, null, 2) + '\n');
  await writeFileAtomic(join(dir, 'tokenizer.json'), JSON.stringify(p.tokenizer.toJSON(), null, 1) + '\n');
  await writeFileAtomic(join(dir, 'recipe.resolved.yaml'), p.recipeYaml);
  if (p.imageTokenizerDir) {
    for (const f of [IMAGE_TOKENIZER_CONFIG, IMAGE_TOKENIZER_WEIGHTS]) await copyFile(join(p.imageTokenizerDir, f), join(dir, f));
  }
}

/** Writes checkpoints/step-N atomically, points latest.json at it and prunes old step checkpoints. */
export async function saveTrainingCheckpoint(out: string, parts: CheckpointParts, opt: OptimizerState, state: TrainerState, keep: number): Promise<string> {
  const rel = join('checkpoints', stepDirName(state.step));
  await writeDirAtomic(join(out, rel), async (tmp) => {
    await writeModelFiles(tmp, parts);
    const moments = [...opt.tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data }));
    await writeFileAtomic(join(tmp, 'optimizer.safetensors'), encodeSafetensors(moments, { step: String(opt.step) }));
    await writeFileAtomic(join(tmp, 'trainer_state.json'), JSON.stringify(state, null, 1) + '\n');
  });
  await writeFileAtomic(join(out, 'latest.json'), JSON.stringify({ step: state.step, dir: rel }) + '\n');
  const dirs = (await readdir(join(out, 'checkpoints'))).filter((d) => /^step-\d{8}$/.test(d)).sort();
  for (const d of dirs.slice(0, Math.max(0, dirs.length - keep))) await rm(join(out, 'checkpoints', d), { recursive: true, force: true });
  return join(out, rel);
}

export interface LatestCheckpoint {
  step: number;
  dir: string;
}

export async function latestCheckpoint(out: string): Promise<LatestCheckpoint | null> {
  const p = join(out, 'latest.json');
  if (!existsSync(p)) return null;
  const j = await readJson<{ step?: unknown; dir?: unknown }>(p, 'checkpoint pointer');
  if (typeof j.step !== 'number' || typeof j.dir !== 'string') throw new UserError(`${p} is damaged; expected {"step": N, "dir": "checkpoints/step-..."}.`);
  const dir = join(out, j.dir);
  if (!existsSync(join(dir, 'trainer_state.json'))) throw new UserError(`${p} points at ${dir}, which is not a complete checkpoint.`);
  return { step: j.step, dir };
}

/** Weights, optimizer state and trainer state of a training checkpoint. */
export async function readTrainingCheckpoint(dir: string): Promise<{ weights: Map<string, { shape: number[]; data: Float32Array }>; optimizer: OptimizerState; state: TrainerState }> {
  const w = await readSafetensors(join(dir, 'model.safetensors'));
  const o = await readSafetensors(join(dir, 'optimizer.safetensors'));
  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [n, t] of w.tensors) weights.set(n, { shape: t.shape, data: t.data as Float32Array });
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [n, t] of o.tensors) tensors.set(n, { shape: t.shape, data: t.data as Float32Array });
  const state = await readJson<TrainerState>(join(dir, 'trainer_state.json'), 'trainer state');
  return { weights, optimizer: { step: Number(o.metadata.step ?? state.step), tensors }, state };
}
