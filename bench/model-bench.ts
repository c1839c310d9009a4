/**
 * narrowgate's side of the model benchmarks on the active backend: a training step (loss, gradients
 * through the data-parallel StepRunner, AdamW), a forward pass caching every residual stream,
 * greedy generation with the KV cache, and activation extraction into an Arrow store.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NativeModel } from '../src/model/native.js';
import { decoderConfig } from '../src/model/config.js';
import type { Spans } from '../src/model/spans.js';
import { runWithCache } from '../src/hooks/run.js';
import { generate } from '../src/model/generate.js';
import { extractActivations, planExtraction, type ExtractExample } from '../src/interventions/extract.js';
import { createStoreWriter } from '../src/store/index.js';
import { AdamW, disposeGrads } from '../src/training/optimizer.js';
import { trainableParams } from '../src/training/model-setup.js';
import { createStepRunner } from '../src/training/parallel.js';
import type { StepBatch } from '../src/training/step.js';
import { timeIt, xorshift, type BenchSettings, type ModelShape } from './common.js';

const SPECIAL = { bos: 0, eos: 1, pad: 2, boi: 3, eoi: 4 };

export function benchModel(s: ModelShape, seed = 1): NativeModel {
  const decoder = decoderConfig({ vocabSize: s.vocab, dModel: s.dModel, nLayers: s.nLayers, nHeads: s.nHeads, dMlp: s.dMlp });
  return new NativeModel({ family: 'native', decoder, special: SPECIAL, imageCodeStart: s.vocab - 16, imageCodeCount: 16 }, { seed });
}

/** Random token rows (ids >= 5, no special tokens), seeded. */
export function tokenRows(s: ModelShape, rows: number, len: number, seed: number): number[][] {
  const u = xorshift(seed);
  return Array.from({ length: rows }, () => Array.from({ length: len }, () => 5 + Math.floor(u() * (s.vocab - 5))));
}

const textSpans = (T: number): Spans => ({ length: T, bos: null, boi: null, image: null, eoi: null });

/** A full batch: every position but the last predicts the next token. */
export function stepBatch(s: ModelShape, seed: number): StepBatch {
  const B = s.batch, T = s.seq;
  const rows = tokenRows(s, B, T, seed);
  const ids = Int32Array.from(rows.flat());
  const targets = new Int32Array(B * T), weights = new Float32Array(B * T);
  for (let b = 0; b < B; b++) for (let t = 0; t + 1 < T; t++) {
    targets[b * T + t] = ids[b * T + t + 1] as number;
    weights[b * T + t] = 1;
  }
  return { B, T, ids, targets, weights, attentionMask: new Uint8Array(B * T).fill(1), spans: rows.map(() => textSpans(T)), kinds: rows.map(() => 'text' as const) };
}

export interface TrainTiming {
  workers: number;
  stepS: number;
  tokPerS: number;
  runs: number[];
  lossFirst: number;
  lossLast: number;
}

/** Training steps (StepRunner + AdamW, as the trainer does them) with `workers` replicas. */
export async function benchTrain(set: BenchSettings, workers: number): Promise<TrainTiming> {
  const s = set.shape;
  const model = benchModel(s);
  const { params } = trainableParams(model, []);
  const opt = new AdamW(params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
  const runner = await createStepRunner({ workers, model, params });
  const batches = [0, 1, 2].map((i) => stepBatch(s, 100 + i));
  let i = 0;
  const losses: number[] = [];
  let lastLoss: tf.Scalar | null = null;
  const step = async (): Promise<void> => {
    const { loss, grads } = await runner.lossAndGrads(batches[i++ % batches.length] as StepBatch, null);
    opt.apply(grads, 1e-3);
    disposeGrads(grads);
    lastLoss?.dispose();
    lastLoss = loss;
  };
  try {
    await step();
    losses.push(((await lastLoss!.data()) as Float32Array)[0] as number);
    const t = await timeIt(step, set.warmup - 1 > 0 ? set.warmup - 1 : 0, set.reps);
    losses.push(((await lastLoss!.data()) as Float32Array)[0] as number);
    const tokens = s.batch * s.seq;
    return { workers: runner.workers, stepS: t.median, tokPerS: tokens / t.median, runs: t.runs, lossFirst: losses[0] as number, lossLast: losses[1] as number };
  } finally {
    (lastLoss as tf.Scalar | null)?.dispose();
    await runner.dispose();
    opt.dispose();
    model.dispose();
  }
}

const RESID = /hook_resid_(pre|mid|post)$/;

/** One forward pass of the batch keeping every residual stream (resid_pre/mid/post of each layer). */
export async function benchForward(set: BenchSettings): Promise<{ s: number; tokPerS: number; cached: number; cachedMB: number }> {
  const s = set.shape;
  const model = benchModel(s);
  const ids = tf.tensor2d(tokenRows(s, s.batch, s.seq, 7), [s.batch, s.seq], 'int32');
  let cached = 0, bytes = 0;
  try {
    const t = await timeIt(() => {
      const { logits, cache } = runWithCache(model, { ids }, { filter: (n) => RESID.test(n) });
      cached = cache.names().length;
      bytes = cache.names().reduce((a, n) => a + cache.get(n).size * 4, 0);
      logits.dispose();
      cache.dispose();
    }, set.warmup, set.reps);
    return { s: t.median, tokPerS: (s.batch * s.seq) / t.median, cached, cachedMB: bytes / 2 ** 20 };
  } finally {
    ids.dispose();
    model.dispose();
  }
}

export const GEN = { quick: { prompt: 8, newTokens: 8 }, full: { prompt: 32, newTokens: 64 } };

/** Greedy generation with the KV cache: batch rows, a prompt, a fixed number of new tokens (no early stop). */
export async function benchGenerate(set: BenchSettings): Promise<{ s: number; tokPerS: number; prompt: number; newTokens: number }> {
  const s = set.shape;
  const g = set.quick ? GEN.quick : GEN.full;
  const model = benchModel(s);
  const prompts = tokenRows(s, s.batch, g.prompt, 11);
  try {
    const t = await timeIt(async () => {
      const r = await generate(model, { prompts }, { maxNewTokens: g.newTokens, eos: null });
      if (r.tokens[0]?.length !== g.newTokens) throw new Error('bench: generation stopped early');
    }, Math.min(set.warmup, 1), Math.max(1, Math.ceil(set.reps / 2)));
    return { s: t.median, tokPerS: (s.batch * g.newTokens) / t.median, prompt: g.prompt, newTokens: g.newTokens };
  } finally {
    model.dispose();
  }
}

/** Extraction of resid_post at every layer and position into one Arrow file; MB/s of activation values. */
export async function benchExtract(set: BenchSettings): Promise<{ s: number; mbPerS: number; mb: number; fileMB: number; rows: number; examples: number }> {
  const s = set.shape;
  const n = set.quick ? 8 : 128;
  const model = benchModel(s);
  const examples: ExtractExample[] = tokenRows(s, n, s.seq, 13).map((ids, i) => ({ id: i, ids, spans: textSpans(s.seq) }));
  const dir = mkdtempSync(join(set.tmp, 'extract-'));
  const opts = { hooks: ['resid_post'], layers: 'all' as const, positions: ['@all'], batchSize: s.batch };
  const plan = planExtraction(model, opts);
  let rows = 0, k = 0, fileMB = 0;
  try {
    const t = await timeIt(async () => {
      const path = join(dir, `acts-${k++}.arrow`);
      const w = createStoreWriter(path, { runId: 'bench', d: plan.d }, { hooks: plan.hooks });
      const r = await extractActivations(model, examples, opts, w);
      await w.close();
      rows = r.rows;
      fileMB = statSync(path).size / 2 ** 20;
      rmSync(path);
    }, Math.min(set.warmup, 1), Math.max(1, Math.ceil(set.reps / 2)));
    const mb = (rows * plan.d * 4) / 2 ** 20;
    return { s: t.median, mbPerS: mb / t.median, mb, fileMB, rows, examples: n };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    model.dispose();
  }
}
