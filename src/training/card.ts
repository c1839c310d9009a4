/**
 * The shippable result of a run: out/final/ holds the model files of the last step, the run's
 * metrics.jsonl and a model card (README.md) saying what the model is, how it was trained and how
 * it scored on validation.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeModelCheckpoint, type CheckpointParts } from './checkpointing.js';
import type { Recipe } from './recipe.js';
import { imageTokens } from './recipe.js';

interface ValLine {
  loss: number;
  token_acc: number;
  answer_acc: number | null;
}

export interface RunSummary {
  step: number;
  tokens: number;
  val: ValLine | null;
  /** Validation under each training knockout (same order as intervention.knockouts). */
  valKnockouts?: ValLine[];
  backend: string;
  /** The command lines that trained the model (the first, then each --resume); absent or empty = not recorded. */
  commands?: string[];
  /** Seconds of training summed over those invocations. */
  wallTimeS?: number;
  /** Replicas per micro-batch. */
  workers?: number;
}

/** "1234 s (20.6 min)". */
export function formatWallTime(s: number): string {
  return `${Math.round(s)} s (${(s / 60).toFixed(1)} min)`;
}

/** The card's lines on how the run was made: its commands and wall time. */
export function provenanceLines(commands: readonly string[], wallTimeS: number | undefined, where: string): string[] {
  return [
    `- command${commands.length > 1 ? 's (the first, then each --resume)' : ''}:`,
    '',
    '```',
    ...(commands.length ? commands : ['(not recorded)']),
    '```',
    '',
    `- wall time: ${wallTimeS === undefined ? 'not recorded' : `${formatWallTime(wallTimeS)} of training${commands.length > 1 ? `, summed over ${commands.length} invocations` : ''}`}; ${where}`,
  ];
}

function paramCount(parts: CheckpointParts): number {
  let n = 0;
  for (const v of parts.model.namedParameters().values()) n += v.size;
  return n;
}

const fmt = (x: number | null | undefined, digits = 4): string => (x === null || x === undefined ? 'n/a' : x.toFixed(digits));

export function modelCard(r: Recipe, parts: CheckpointParts, s: RunSummary): string {
  const m = r.model;
  const mix = Object.entries(r.data.mixture).filter(([, w]) => w > 0).map(([k, w]) => `${k} ${w}`).join(', ');
  const ko = r.intervention.knockouts.map((k) => `${JSON.stringify(k.queries)} -> ${JSON.stringify(k.keys)} (layers ${JSON.stringify(k.layers)}, hard block)`);
  const lines = [
    `# ${r.name}`,
    '',
    r.description,
    '',
    '## Model',
    `- family: ${m.family}${m.family === 'adapter' ? ` (vision: ${r.vision.encoder}${r.vision.encoder === 'vit' ? `, ${r.vision.n_layers} layers x ${r.vision.d_model}` : ''})` : ''}`,
    `- decoder: ${m.n_layers} layers, d_model ${m.d_model}, ${m.n_heads} heads, MLP ${m.d_mlp}; ${paramCount(parts).toLocaleString('en-US')} parameters`,
    `- vocabulary: ${parts.config.decoder.vocabSize} ids; ${imageTokens(r)} image tokens per ${r.image.size}x${r.image.size} image (${r.image.patch}x${r.image.patch} patches)`,
    '',
    '## Training',
    `- recipe: recipes/${r.name}.yaml (resolved copy: recipe.resolved.yaml)`,
    `- data: ${r.data.source} (${r.data.dir}, seed ${r.data.seed}); mixture: ${mix}`,
    `- loss: text ${r.loss.text ? 'on' : 'off'}, image ${r.loss.image ? 'on' : 'off'}`,
    `- init: ${r.init.from ?? 'fresh (seed ' + r.seed + ')'}; frozen: ${r.freeze.length ? r.freeze.join(', ') : 'nothing'}`,
    `- knockouts during training: ${ko.length ? `${ko.join('; ')}, probability ${r.intervention.probability} per batch` : 'none'}`,
    ...provenanceLines(s.commands ?? [], s.wallTimeS, `backend ${s.backend}, ${s.workers ?? 1} worker${(s.workers ?? 1) > 1 ? 's' : ''}`),
    `- ${s.step} steps x batch ${r.train.batch_size}${r.train.grad_accum > 1 ? ` x ${r.train.grad_accum} accumulated` : ''}, ${s.tokens.toLocaleString('en-US')} tokens; AdamW lr ${r.optim.lr}, warmup ${r.schedule.warmup}, cosine to ${r.schedule.min_lr_ratio} x lr; backend ${s.backend}`,
    '',
    '## Validation (teacher-forced, fixed validation batches)',
    `- loss ${fmt(s.val?.loss)}; text token accuracy ${fmt(s.val?.token_acc)}; whole-answer accuracy (VQA) ${fmt(s.val?.answer_acc)}`,
    ...(s.valKnockouts ?? []).map((v, i) => `- under training knockout ${i} (${ko[i]}): loss ${fmt(v.loss)}; text token accuracy ${fmt(v.token_acc)}; whole-answer accuracy ${fmt(v.answer_acc)}`),
    '- per-step values: metrics.jsonl. Task metrics (CIDEr-D, VQA accuracy, knockout tables) come from "narrowgate eval".',
    '',
  ];
  return lines.join('\n');
}

/** Writes out/final atomically: the model checkpoint with metrics.jsonl and README.md. Returns its path. */
export async function writeFinal(out: string, parts: CheckpointParts, r: Recipe, s: RunSummary): Promise<string> {
  const dir = join(out, 'final');
  const metricsPath = join(out, 'metrics.jsonl');
  const metrics = existsSync(metricsPath) ? await readFile(metricsPath, 'utf8') : '';
  await writeModelCheckpoint(dir, parts, { metrics, card: modelCard(r, parts, s) });
  return dir;
}
