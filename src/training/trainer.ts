/**
 * The training loop of a vlm recipe: AdamW with warmup + cosine, clipping, gradient accumulation,
 * seeded data order, optional per-batch knockouts (hard blocks), validation every N steps,
 * metrics.jsonl, atomic checkpoints, --resume, and a NaN/Inf guard. Layout of the run directory:
 * checkpointing.ts. The compute of one micro-batch is step.ts (separable, for worker threads).
 *
 * Resume contract: a run interrupted after a checkpoint and resumed ends with the same weights and
 * logs the same losses as an uninterrupted one on the same backend (weights, optimizer moments, the
 * data order and the knockout draws are all restored exactly).
 */
import * as tf from '@tensorflow/tfjs';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import YAML from 'yaml';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { noProgress, type ProgressFactory } from '../util/progress.js';
import { writeFileAtomic } from '../util/fs.js';
import type { NamedHook } from '../hooks/types.js';
import type { VLModel } from '../model/model.js';
import { AdamW, GradAccumulator, clipByGlobalNorm, disposeGrads, type Grads } from './optimizer.js';
import { learningRate } from './schedule.js';
import { MixtureSampler, makeBatch } from './batches.js';
import { evalBatch, toStepBatch, type StepBatch } from './step.js';
import { createStepRunner, type StepRunner } from './parallel.js';
import { prepareData, type TrainData } from './data-setup.js';
import { compileTrainingKnockouts, initFromCheckpoint, modelConfig, trainableParams } from './model-setup.js';
import { createModel } from '../model/factory.js';
import { latestCheckpoint, readTrainingCheckpoint, saveTrainingCheckpoint, type CheckpointParts, type TrainerState } from './checkpointing.js';
import { writeFinal } from './card.js';
import { recipeToYaml, validateRecipe, type LoadedRecipe, type Recipe } from './recipe.js';

export interface TrainOptions {
  /** Run directory. */
  out: string;
  /** Continue from out/latest.json when there is one. */
  resume?: boolean;
  progress?: ProgressFactory;
  /** Stop after this many updates, with a checkpoint, as an interruption would (continue with resume). */
  stopAfter?: number;
  /**
   * Replicas computing each micro-batch (1 = this thread; N > 1 = this thread and N-1 worker
   * threads, parallel.ts). Runs with the same count are deterministic and resume exactly.
   */
  workers?: number;
  /** Extra hooks for update `step` (fault injection in tests, probes; such steps run on this thread). */
  extraHooks?: (step: number) => NamedHook[];
  /** Receives one-line notes (the CLI logs them). */
  note?: (message: string) => void;
  /** This invocation's command line, recorded in the trainer state and the model card (never affects training). */
  command?: string;
}

export interface ValMetrics {
  loss: number;
  token_acc: number;
  answer_acc: number | null;
}

export interface TrainResult {
  out: string;
  step: number;
  status: 'done' | 'stopped';
  finalDir: string | null;
  lastLoss: number | null;
  val: ValMetrics | null;
}

async function appendMetrics(out: string, rec: Record<string, unknown>): Promise<void> {
  await appendFile(join(out, 'metrics.jsonl'), JSON.stringify(rec) + '\n');
}

/** Keeps the metrics lines up to `step` (a resumed run rewrites what came after its checkpoint). */
async function truncateMetrics(out: string, step: number): Promise<void> {
  const p = join(out, 'metrics.jsonl');
  if (!existsSync(p)) return;
  const lines = (await readFile(p, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  // a line cut short by a kill mid-append does not parse: it goes too
  const stepOf = (l: string): number => {
    try {
      return (JSON.parse(l) as { step: number }).step;
    } catch {
      return Infinity;
    }
  };
  const keep = lines.filter((l) => stepOf(l) <= step);
  await writeFileAtomic(p, keep.map((l) => l + '\n').join(''));
}

async function checkResumable(out: string, r: Recipe): Promise<void> {
  const p = join(out, 'recipe.resolved.yaml');
  const before = validateRecipe(YAML.parse(await readFile(p, 'utf8')), `Run ${out} (recipe.resolved.yaml)`);
  const changed = (Object.keys(r) as (keyof Recipe)[]).filter((k) => !isDeepStrictEqual(before[k], r[k]));
  if (changed.length > 0) {
    throw new UserError(`Cannot resume ${out}: the recipe differs from the one it was started with in ${changed.map((k) => `"${k}"`).join(', ')}; resume with the same recipe and --set values, or start a new --out.`);
  }
}

async function validate(model: VLModel, batches: StepBatch[], hooks: (sb: StepBatch) => NamedHook[]): Promise<ValMetrics> {
  let lossSum = 0, tokens = 0, textTokens = 0, correct = 0, answers = 0, answersRight = 0;
  for (const sb of batches) {
    const s = await evalBatch(model, sb, hooks(sb));
    lossSum += s.lossSum; tokens += s.tokens; textTokens += s.textTokens; correct += s.correct;
    answers += s.answers; answersRight += s.answersRight;
  }
  return { loss: lossSum / Math.max(tokens, 1), token_acc: correct / Math.max(textTokens, 1), answer_acc: answers > 0 ? answersRight / answers : null };
}

function realTokens(sb: StepBatch): number {
  let n = 0;
  for (const m of sb.attentionMask) n += m;
  return n;
}

/** Trains a vlm recipe into `opts.out`. */
export async function trainVlm(loaded: LoadedRecipe, opts: TrainOptions): Promise<TrainResult> {
  const r = loaded.recipe;
  const out = opts.out;
  const progress = opts.progress ?? noProgress;
  const note = opts.note ?? (() => {});
  const latest = await latestCheckpoint(out);
  if (latest && !opts.resume) throw new UserError(`Run directory ${out} already has checkpoints (step ${latest.step}); pass --resume to continue it or choose another --out.`);
  if (latest) await checkResumable(out, r);
  const recipeYaml = recipeToYaml(loaded);
  const data: TrainData = await prepareData(r, progress);
  const config = modelConfig(r, data.layout, data.channels, data.featureDim);
  const model = createModel(config, { seed: r.seed });
  const { params } = trainableParams(model, r.freeze);
  const opt = new AdamW(params, { beta1: r.optim.beta1, beta2: r.optim.beta2, eps: r.optim.eps, weightDecay: r.optim.weight_decay });
  const acc = new GradAccumulator();
  let runner: StepRunner | null = null;
  try {
    const sampler = new MixtureSampler(data.train, r.data.mixture, r.seed, 'training data mixture (train split)');
    let koRng = new Rng(r.seed + 7919);
    let step = 0, tokens = 0, elapsedBefore = 0;
    let commands: string[] = [];
    if (latest) {
      const ck = await readTrainingCheckpoint(latest.dir, config);
      for (const [name, v] of model.namedParameters()) {
        const w = ck.weights.get(name);
        if (!w || w.shape.join() !== v.shape.join()) throw new UserError(`Checkpoint ${latest.dir} does not match the recipe's model at "${name}".`);
        tf.tidy(() => v.assign(tf.tensor(w.data, w.shape, 'float32')));
      }
      opt.setState(ck.optimizer, `${latest.dir}/optimizer.safetensors`);
      sampler.restore(ck.state.sampler);
      koRng = Rng.fromSnapshot(ck.state.knockoutRng);
      ({ step, tokens } = ck.state);
      elapsedBefore = ck.state.elapsedS;
      commands = [...(ck.state.commands ?? [])];
      await truncateMetrics(out, step);
      const was = ck.state.workers ?? 1, now = opts.workers ?? 1;
      note(`resuming ${out} from step ${step}${was !== now ? ` (it ran with ${was} workers, now ${now}: sums round differently, so it will not match an uninterrupted run bit for bit)` : ''}`);
    } else {
      if (r.init.from) {
        const { loaded: n, missing } = await initFromCheckpoint(model, r.init.from, r.init.allow_missing);
        note(`initialised ${n} parameters from ${r.init.from}${missing.length ? ` (${missing.length} kept fresh)` : ''}`);
      }
      await writeFileAtomic(join(out, 'recipe.resolved.yaml'), recipeYaml);
      await writeFile(join(out, 'metrics.jsonl'), '');
    }
    // recorded only when this invocation trains (a resume of a finished run just rewrites final/)
    if (opts.command && step < r.train.steps) commands.push(opts.command);
    let wallTimeS = elapsedBefore;
    const codesOf = data.codes ? (i: number) => data.codes!.subarray(i * data.processor.numImageTokens, (i + 1) * data.processor.numImageTokens) : null;
    const batchOf = async (items: Parameters<typeof makeBatch>[0]): Promise<StepBatch> => {
      await data.images?.prepare?.(items.map((it) => it.image));
      return toStepBatch(makeBatch(items, data.processor, r.loss, r.model.max_seq, codesOf), data.images);
    };
    const valSampler = new MixtureSampler(data.val, r.data.mixture, r.seed + 1, 'validation data mixture (val split)');
    const valBatches: StepBatch[] = [];
    for (let i = 0; i < r.train.val_batches; i++) valBatches.push(await batchOf(valSampler.take(r.train.batch_size)));
    const kos = r.intervention.knockouts;
    const koHooks = await compileTrainingKnockouts(kos, model);
    runner = await createStepRunner({ workers: opts.workers ?? 1, model, params, knockouts: kos, knockoutHooks: koHooks });
    const parts: CheckpointParts = { model, config, tokenizer: data.tokenizer, imageTokenizer: data.imageTokenizer, recipeYaml };
    const sched = { lr: r.optim.lr, warmup: r.schedule.warmup, total: r.train.steps, minLrRatio: r.schedule.min_lr_ratio };
    let valKo: ValMetrics[] = [];
    const runValidation = async (at: number): Promise<ValMetrics> => {
      const v = await validate(model, valBatches, () => []);
      await appendMetrics(out, { step: at, split: 'val', knockout: null, ...v });
      valKo = [];
      for (let i = 0; i < kos.length; i++) {
        const vk = await validate(model, valBatches, () => koHooks[i]!);
        await appendMetrics(out, { step: at, split: 'val', knockout: i, ...vk });
        valKo.push(vk);
      }
      return v;
    };
    const bar = progress(`train ${r.name}`, r.train.steps, 'step');
    if (step > 0) bar.tick(step);
    let info: string | undefined;
    const t0 = Date.now();
    let lastLoss: number | null = null, val: ValMetrics | null = null;
    let windowStart = Date.now(), windowTokens = 0;
    while (step < r.train.steps) {
      const s = step;
      const ko = kos.length > 0 && r.intervention.probability > 0 && koRng.next() < r.intervention.probability ? koRng.int(kos.length) : null;
      const losses: tf.Scalar[] = [];
      for (let m = 0; m < r.train.grad_accum; m++) {
        const sb = await batchOf(sampler.take(r.train.batch_size));
        const { loss, grads } = await runner.lossAndGrads(sb, ko, opts.extraHooks?.(s) ?? []);
        acc.add(grads);
        disposeGrads(grads);
        losses.push(loss);
        const n = realTokens(sb);
        tokens += n;
        windowTokens += n;
      }
      const mean = acc.take();
      let grads: Grads = mean;
      let norm: tf.Scalar | null = null;
      if (r.optim.clip !== null) {
        ({ grads, norm } = clipByGlobalNorm(mean, r.optim.clip));
        disposeGrads(mean);
      }
      const done = s + 1;
      const logNow = done % r.train.log_every === 0 || done === r.train.steps;
      const ckptNow = done % r.train.ckpt_every === 0 || done === r.train.steps;
      const stopNow = opts.stopAfter === done && done < r.train.steps;
      const lr = learningRate(sched, s);
      try {
        if (logNow || ckptNow || stopNow) {
          const lossT = tf.tidy(() => tf.div(tf.addN(losses), losses.length));
          const lossV = (await lossT.data())[0] as number;
          lossT.dispose();
          const normV = norm ? ((await norm.data())[0] as number) : null;
          if (!Number.isFinite(lossV) || (normV !== null && !Number.isFinite(normV))) {
            await appendMetrics(out, { step: done, split: 'train', event: 'non-finite', loss: String(lossV), grad_norm: String(normV) });
            const last = await latestCheckpoint(out);
            throw new UserError(
              `Training stopped at step ${done}: the ${Number.isFinite(lossV) ? 'gradient norm' : 'loss'} is ${Number.isFinite(lossV) ? normV : lossV} (lr ${lr.toExponential(2)}); ${last ? `the last good checkpoint is ${last.dir} (step ${last.step})` : 'no checkpoint was written yet'}; lower optim.lr, raise schedule.warmup or check the data.`,
            );
          }
          lastLoss = lossV;
          if (logNow) {
            const secs = (Date.now() - windowStart) / 1000;
            await appendMetrics(out, { step: done, split: 'train', loss: lossV, lr, grad_norm: normV, knockout: ko, tokens, tok_per_s: Math.round(windowTokens / Math.max(secs, 1e-9)), elapsed_s: elapsedBefore + (Date.now() - t0) / 1000 });
            info = `loss ${lossV.toFixed(4)} ${Math.round(windowTokens / Math.max(secs, 1e-9))} tok/s`;
            windowStart = Date.now();
            windowTokens = 0;
          }
        }
        opt.apply(grads, lr);
      } finally {
        for (const l of losses) l.dispose();
        disposeGrads(grads);
        norm?.dispose();
      }
      step = done;
      bar.tick(1, info);
      if (done % r.train.val_every === 0 || done === r.train.steps) val = await runValidation(done);
      if (ckptNow || stopNow) {
        const state: TrainerState = { step, sampler: sampler.state(), knockoutRng: koRng.snapshot, tokens, elapsedS: elapsedBefore + (Date.now() - t0) / 1000, commands, workers: runner.workers };
        wallTimeS = state.elapsedS;
        await saveTrainingCheckpoint(out, parts, await opt.getState(), state, r.train.keep_checkpoints);
      }
      if (stopNow) {
        bar.done(`stopped at step ${done}`);
        return { out, step, status: 'stopped', finalDir: null, lastLoss, val };
      }
    }
    bar.done(lastLoss !== null ? `loss ${lastLoss.toFixed(4)}` : undefined);
    const finalDir = await writeFinal(out, parts, r, { step, tokens, val, valKnockouts: valKo, backend: tf.getBackend(), commands, wallTimeS, workers: runner.workers });
    return { out, step, status: 'done', finalDir, lastLoss, val };
  } finally {
    await runner?.dispose();
    acc.dispose();
    opt.dispose();
    model.dispose();
    data.images?.dispose?.();
    data.imageTokenizer?.dispose();
  }
}
