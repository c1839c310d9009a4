/**
 * Generation with a KV cache: greedy, or sampling with temperature and top-k from a seeded Rng;
 * stop at eos; optional allowed/forbidden token sets and per-step constraints (forced tokens,
 * allowed sets); hooks stay active on every step (new query rows pass through the same hook points
 * with ctx.offset = their absolute column). Prompts of different lengths are right-padded: example b's
 * first generated token sits at column maxPromptLength (after its padding, which is masked) with
 * rotary position len_b, so its logits equal those of its unpadded sequence.
 */
import * as tf from '@tensorflow/tfjs';
import type { NamedHook } from '../hooks/types.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import type { ForwardOptions, VLModel } from './model.js';
import type { NativeModel } from './native.js';
import type { Spans } from './spans.js';

export interface GenerateInput {
  /** Prompt ids per example (lengths may differ). */
  prompts: readonly (readonly number[])[];
  spans?: Spans[];
  /** Adapter image input, used by the first (prompt) pass only. */
  pixels?: tf.Tensor;
  features?: tf.Tensor;
}

export interface StepConstraint {
  /** Only these ids may be chosen at this step. */
  allowed?: readonly number[];
  /** These ids may not be chosen at this step (e.g. image codes outside an image span). */
  forbidden?: readonly number[];
  /** This id is emitted at this step, whatever the logits. */
  forced?: number;
}

export interface GenerateOptions {
  maxNewTokens: number;
  /** 'greedy' (default) or 'sample'. */
  strategy?: 'greedy' | 'sample';
  temperature?: number;
  topK?: number;
  /** Seed for sampling (default 0), or an Rng to continue. */
  seed?: number;
  rng?: Rng;
  /** Stop ids (default: the config's eos); null: never stop early. */
  eos?: number | readonly number[] | null;
  /** Ids that may be generated at all (e.g. the text vocabulary). */
  allowedIds?: readonly number[];
  forbiddenIds?: readonly number[];
  /** Per-step, per-example constraint (e.g. image codes for N steps, then <eoi>). */
  constrain?: (step: number, example: number) => StepConstraint | null;
  hooks?: readonly NamedHook[];
  blockWeights?: ForwardOptions['blockWeights'];
  /** Keep the raw logits of every step: scores[step][example] (V floats). */
  returnScores?: boolean;
}

export interface GenerateResult {
  /** Generated ids per example (the stop id included when one was produced). */
  tokens: number[][];
  /** Whether the example stopped at a stop id. */
  stopped: boolean[];
  scores?: Float32Array[][];
}

function mask(row: Float32Array, allowed: ReadonlySet<number> | null, forbidden: ReadonlySet<number> | null): Float32Array {
  if (!allowed && !forbidden) return row;
  const out = Float32Array.from(row);
  for (let i = 0; i < out.length; i++) if ((allowed && !allowed.has(i)) || forbidden?.has(i)) out[i] = -Infinity;
  return out;
}

/** Chooses one id from a logits row (already masked). */
export function choose(row: Float32Array, o: Pick<GenerateOptions, 'strategy' | 'temperature' | 'topK'>, rng: Rng): number {
  let best = -1, bestV = -Infinity;
  for (let i = 0; i < row.length; i++) if ((row[i] as number) > bestV) (bestV = row[i] as number), (best = i);
  if (best < 0) throw new UserError('Every token is excluded at a generation step; check allowedIds / forbiddenIds / constraints.');
  if ((o.strategy ?? 'greedy') === 'greedy') return best;
  const temp = o.temperature ?? 1;
  if (!(temp > 0)) throw new UserError(`Sampling temperature must be positive, got ${temp}.`);
  let ids = Array.from(row.keys()).filter((i) => Number.isFinite(row[i] as number));
  if (o.topK && o.topK > 0 && o.topK < ids.length) ids = ids.sort((a, b) => (row[b] as number) - (row[a] as number) || a - b).slice(0, o.topK);
  const w = ids.map((i) => Math.exp(((row[i] as number) - bestV) / temp));
  const total = w.reduce((a, b) => a + b, 0);
  let u = rng.next() * total;
  for (let j = 0; j < ids.length; j++) {
    u -= w[j] as number;
    if (u < 0) return ids[j] as number;
  }
  return ids[ids.length - 1] as number;
}

export async function generate(model: VLModel, input: GenerateInput, o: GenerateOptions): Promise<GenerateResult> {
  const B = input.prompts.length;
  if (B === 0) throw new UserError('generate needs at least one prompt.');
  if (input.prompts.some((p) => p.length === 0)) throw new UserError('Every prompt needs at least one token (e.g. <bos>).');
  if (!(o.maxNewTokens >= 0)) throw new UserError(`maxNewTokens must be >= 0, got ${o.maxNewTokens}.`);
  const V = model.config.decoder.vocabSize;
  const pad = model.config.special.pad;
  const eosList = o.eos === null ? [] : o.eos === undefined ? [model.config.special.eos] : typeof o.eos === 'number' ? [o.eos] : [...o.eos];
  const stop = new Set(eosList);
  const allowed = o.allowedIds ? new Set(o.allowedIds) : null;
  const forbidden = o.forbiddenIds ? new Set(o.forbiddenIds) : null;
  const rng = o.rng ?? new Rng(o.seed ?? 0);
  const lens = input.prompts.map((p) => p.length);
  const Tmax = Math.max(...lens);
  const result: GenerateResult = { tokens: input.prompts.map(() => []), stopped: new Array<boolean>(B).fill(false), scores: o.returnScores ? [] : undefined };
  if (o.maxNewTokens === 0) return result;

  const cache = model.newCache(B);
  try {
    const flat = new Int32Array(B * Tmax).fill(pad);
    const am = input.prompts.map((p, b) => {
      flat.set(p, b * Tmax);
      return Array.from({ length: Tmax }, (_, t) => (t < p.length ? 1 : 0));
    });
    const ids0 = tf.tensor2d(flat, [B, Tmax], 'int32');
    let logits: tf.Tensor;
    try {
      logits = model.forward(
        { ids: ids0, attentionMask: am, spans: input.spans, pixels: input.pixels, features: input.features },
        { cache, hooks: o.hooks, blockWeights: o.blockWeights, logitColumns: lens.map((l) => l - 1) },
      );
    } finally {
      ids0.dispose();
    }
    for (let step = 0; ; step++) {
      const data = (await logits.data()) as Float32Array;
      logits.dispose();
      const next = new Int32Array(B).fill(pad);
      const live = new Array<number>(B).fill(0);
      const stepScores: Float32Array[] = [];
      for (let b = 0; b < B; b++) {
        const row = data.subarray(b * V, (b + 1) * V);
        if (o.returnScores) stepScores.push(Float32Array.from(row));
        if (result.stopped[b]) continue;
        const c = o.constrain?.(step, b) ?? null;
        let id: number;
        if (c?.forced !== undefined) id = c.forced;
        else id = choose(mask(mask(row, allowed, forbidden), c?.allowed ? new Set(c.allowed) : null, c?.forbidden ? new Set(c.forbidden) : null), o, rng);
        result.tokens[b]!.push(id);
        next[b] = id;
        live[b] = 1;
        if (stop.has(id)) result.stopped[b] = true;
      }
      result.scores?.push(stepScores);
      if (step + 1 >= o.maxNewTokens || result.stopped.every(Boolean)) break;
      const ids = tf.tensor2d(next, [B, 1], 'int32');
      try {
        logits = model.forward({ ids, attentionMask: live.map((m) => [m]), spans: input.spans }, { cache, hooks: o.hooks, blockWeights: o.blockWeights });
      } finally {
        ids.dispose();
      }
    }
    return result;
  } finally {
    cache.dispose();
  }
}

export interface ImageGenerationOptions extends Omit<GenerateOptions, 'maxNewTokens' | 'constrain' | 'allowedIds' | 'eos'> {
  /** Number of image codes per image (the tokenizer's grid size). */
  nCodes: number;
}

/**
 * Native model: text prompt -> image codes. If a prompt does not end with <boi>, <boi> is emitted
 * first; then exactly nCodes image-code ids (only those are allowed), then <eoi>. Returns the code
 * indices (id - imageCodeStart) per example, for the image tokenizer to decode, and the full ids.
 */
export async function generateImageCodes(model: NativeModel, input: GenerateInput, o: ImageGenerationOptions): Promise<{ codes: number[][]; tokens: number[][] }> {
  const { boi, eoi } = model.config.special;
  const codeIds = model.imageCodeIds();
  const lead = input.prompts.map((p) => (p[p.length - 1] === boi ? 0 : 1));
  const res = await generate(model, input, {
    ...o,
    maxNewTokens: Math.max(...lead) + o.nCodes + 1,
    eos: eoi,
    constrain: (step, b) => {
      const s = step - (lead[b] as number);
      if (s < 0) return { forced: boi };
      if (s < o.nCodes) return { allowed: codeIds };
      return { forced: eoi };
    },
  });
  const codes = res.tokens.map((toks, b) => toks.slice(lead[b], (lead[b] as number) + o.nCodes).map((id) => id - model.config.imageCodeStart));
  return { codes, tokens: res.tokens };
}
