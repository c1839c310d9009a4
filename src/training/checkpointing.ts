/**
 * Training checkpoints. A run directory (--out) holds:
 *
 *   recipe.resolved.yaml      the resolved recipe, written before the first step
 *   metrics.jsonl             one JSON object per log / validation event
 *   latest.json               {"step": N, "dir": "checkpoints/step-0000N"}, replaced atomically after each checkpoint
 *   checkpoints/step-XXXXXXXX/
 *       a model checkpoint (src/model/checkpoint.ts: model.safetensors, config.json, tokenizer.json,
 *       recipe.resolved.yaml, image_tokenizer/ for native models), plus
 *       optimizer.safetensors AdamW moments "m.<param>" / "v.<param>" (trainable parameters only)
 *       trainer_state.json    update count, data-order and knockout Rng states, tokens seen, elapsed time
 *   final/                    the last model checkpoint with metrics.jsonl and README.md (model card): what ships
 *
 * The model checkpoint is written atomically (saveCheckpoint); the optimizer and trainer state follow,
 * and only then latest.json moves to the new step: an interrupted run resumes from the previous one.
 */
import { readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import { readJson, writeFileAtomic } from '../util/fs.js';
import { encodeSafetensors, readSafetensors } from '../model/safetensors.js';
import { loadCheckpoint, saveCheckpoint } from '../model/checkpoint.js';
import type { ModelConfig } from '../model/config.js';
import type { VLModel } from '../model/model.js';
import type { WordTokenizer } from '../tokenizers/word.js';
import type { ImageTokenizer } from '../tokenizers/image.js';
import type { OptimizerState } from './optimizer.js';
import type { SamplerState } from './batches.js';

export interface TrainerState {
  /** Optimizer updates done. */
  step: number;
  sampler: SamplerState;
  /** Snapshot of the Rng that draws the per-batch knockouts. */
  knockoutRng: number;
  tokens: number;
  /** Seconds of training run so far, summed over every invocation that led to this state. */
  elapsedS: number;
  /** The command lines that trained up to this state: the first, then each --resume (absent in older runs). */
  commands?: string[];
  /** Replicas the run used (absent = 1). */
  workers?: number;
}

export interface CheckpointParts {
  model: VLModel;
  config: ModelConfig;
  tokenizer: WordTokenizer;
  imageTokenizer: ImageTokenizer | null;
  recipeYaml: string;
}

export const stepDirName = (step: number): string => `step-${String(step).padStart(8, '0')}`;

/** Writes a model checkpoint (src/model/checkpoint.ts) of the current weights into `dir`, atomically. */
export async function writeModelCheckpoint(dir: string, p: CheckpointParts, extras: { metrics?: string; card?: string } = {}): Promise<void> {
  await saveCheckpoint(dir, {
    params: p.model.namedParameters(), config: p.config, tokenizer: p.tokenizer, recipe: p.recipeYaml,
    ...(p.imageTokenizer ? { imageTokenizer: p.imageTokenizer } : {}), ...extras,
  });
}

/** Writes checkpoints/step-N, then points latest.json at it and prunes old step checkpoints. */
export async function saveTrainingCheckpoint(out: string, parts: CheckpointParts, opt: OptimizerState, state: TrainerState, keep: number): Promise<string> {
  const rel = join('checkpoints', stepDirName(state.step));
  const dir = join(out, rel);
  await writeModelCheckpoint(dir, parts);
  const moments = [...opt.tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data }));
  await writeFileAtomic(join(dir, 'optimizer.safetensors'), encodeSafetensors(moments, { step: String(opt.step) }));
  await writeFileAtomic(join(dir, 'trainer_state.json'), JSON.stringify(state, null, 1) + '\n');
  await writeFileAtomic(join(out, 'latest.json'), JSON.stringify({ step: state.step, dir: rel }) + '\n');
  const dirs = (await readdir(join(out, 'checkpoints'))).filter((d) => /^step-\d{8}$/.test(d)).sort();
  for (const d of dirs.slice(0, Math.max(0, dirs.length - keep))) await rm(join(out, 'checkpoints', d), { recursive: true, force: true });
  return dir;
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

/**
 * Weights, optimizer state and trainer state of a training checkpoint. The checkpoint's config.json
 * must equal `config` (resuming refuses a mismatched model).
 */
export async function readTrainingCheckpoint(dir: string, config: ModelConfig): Promise<{ weights: Map<string, { shape: number[]; data: Float32Array }>; optimizer: OptimizerState; state: TrainerState }> {
  const ck = await loadCheckpoint(dir, { expectConfig: config });
  const o = await readSafetensors(join(dir, 'optimizer.safetensors'));
  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [n, t] of ck.tensors) weights.set(n, { shape: t.shape, data: t.data as Float32Array });
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [n, t] of o.tensors) tensors.set(n, { shape: t.shape, data: t.data as Float32Array });
  const state = await readJson<TrainerState>(join(dir, 'trainer_state.json'), 'trainer state');
  return { weights, optimizer: { step: Number(o.metadata.step ?? state.step), tensors }, state };
}
