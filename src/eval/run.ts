/**
 * Running a suite's tasks under conditions. A condition is a knockout spec list (E6):
 *   none           nothing knocked out
 *   eoi            every query -> [EOI]                      {queries: @all, keys: @eoi}
 *   last-image     every query -> the last image token       {queries: @all, keys: @last-image}
 *   random-image:N every query -> N random image tokens      {queries: @all, keys: @random-image:N}
 *                  (seeded per image; repetition r uses seed + r)
 *   image-to-text  text queries -> every image token         {queries: @text-after-image, keys: @all-image}
 * in every layer and head, in mode zero (post-softmax zeroing, the paper's) or renormalize (blocked
 * before the softmax). An edit (--edit SPEC.json) is appended to every condition's specs. Each run
 * records the exact specs, mode, repetition and seed it used.
 */
import type { Dataset, DatasetImage } from '../data/open.js';
import { compile } from '../interventions/compile.js';
import type { ExtractExample } from '../interventions/extract.js';
import type { Pipeline } from '../interventions/pipeline.js';
import type { InterventionSpec, KnockoutSpec } from '../interventions/spec.js';
import type { ProgressFactory } from '../util/progress.js';
import { type KnockoutMode, type Suite } from './suite-schema.js';
import { runTask, type TaskResult } from './tasks.js';

export interface ConditionRun {
  /** Run id, also its output folder name: none, eoi.zero, random-image-10.renormalize.r3, ... */
  id: string;
  condition: string;
  /** Knockout mode; null for the none condition. */
  mode: KnockoutMode | null;
  /** Repetition index of a random-image condition, else null. */
  repetition: number | null;
  /** Seed given to the selectors (suite seed + repetition). */
  seed: number;
  /** Every intervention applied in this run (the condition's knockout, then the edit). */
  specs: InterventionSpec[];
  tasks: Record<string, TaskResult>;
}

export interface EvalEnv {
  p: Pipeline;
  ds: Dataset;
  images: DatasetImage[];
  suite: Suite;
  /** Specs appended to every condition (the --edit file), and the directory its paths are relative to. */
  edit: InterventionSpec[];
  editDir?: string;
  progress: ProgressFactory;
  /** Prepared inputs shared by every run (see RunContext.cache); start with an empty map. */
  cache: Map<string, ExtractExample>;
}

/** The knockout specs of a named condition in a mode ([] for none). */
export function conditionSpecs(condition: string, mode: KnockoutMode): KnockoutSpec[] {
  const ko = (queries: string, keys: string): KnockoutSpec[] => [{ type: 'knockout', queries, keys, layers: 'all', heads: 'all', mode }];
  if (condition === 'none') return [];
  if (condition === 'eoi') return ko('@all', '@eoi');
  if (condition === 'last-image') return ko('@all', '@last-image');
  if (condition === 'image-to-text') return ko('@text-after-image', '@all-image');
  const m = /^random-image:([1-9]\d*)$/.exec(condition);
  if (m) return ko('@all', `@random-image:${m[1]}`);
  throw new Error(`unknown condition ${condition}`);
}

export interface PlannedRun {
  id: string;
  condition: string;
  mode: KnockoutMode | null;
  repetition: number | null;
  seed: number;
}

/** The runs of conditions x modes (none once; random-image:N `repetitions` times). */
export function planRuns(conditions: readonly string[], modes: readonly KnockoutMode[], repetitions: number, seed: number): PlannedRun[] {
  const runs: PlannedRun[] = [];
  for (const c of [...new Set(conditions)]) {
    const slug = c.replace(':', '-');
    if (c === 'none') {
      runs.push({ id: 'none', condition: c, mode: null, repetition: null, seed });
      continue;
    }
    for (const mode of [...new Set(modes)]) {
      if (c.startsWith('random-image:')) {
        for (let r = 0; r < repetitions; r++) runs.push({ id: `${slug}.${mode}.r${r}`, condition: c, mode, repetition: r, seed: seed + r });
      } else runs.push({ id: `${slug}.${mode}`, condition: c, mode, repetition: null, seed });
    }
  }
  return runs;
}

/** Runs every task of the suite under one planned condition. */
export async function runCondition(env: EvalEnv, plan: PlannedRun): Promise<ConditionRun> {
  const specs: InterventionSpec[] = [...(plan.mode ? conditionSpecs(plan.condition, plan.mode) : []), ...env.edit];
  const exampleIds: number[] = [];
  const hooks = await compile(specs, env.p.model, { seed: plan.seed, exampleIds, baseDir: env.editDir });
  const d = env.suite.decoding;
  const ctx = { p: env.p, hooks, exampleIds, batchSize: d.batch_size, textOnly: d.text_only, progress: env.progress, label: plan.id, cache: env.cache };
  const tasks: Record<string, TaskResult> = {};
  for (const task of env.suite.tasks) tasks[task.name] = await runTask(ctx, env.ds, env.images, task, d.max_new_tokens);
  return { ...plan, specs, tasks };
}

export interface SummaryCell {
  condition: string;
  mode: KnockoutMode | null;
  task: string;
  metric: string;
  /** Mean over repetitions (the value itself when there is one run). */
  mean: number;
  /** Sample standard deviation over repetitions (0 for one run), min and max. */
  std: number;
  min: number;
  max: number;
  repetitions: number;
  values: number[];
}

/** One cell per (condition, mode, task, metric): mean, std, min, max over the repetitions. */
export function summarize(runs: readonly ConditionRun[]): SummaryCell[] {
  const groups = new Map<string, { run: ConditionRun; task: string; metric: string; values: number[] }>();
  for (const run of runs) {
    for (const [task, tr] of Object.entries(run.tasks)) {
      for (const [metric, v] of Object.entries(tr.metrics)) {
        const key = JSON.stringify([run.condition, run.mode, task, metric]);
        const g = groups.get(key) ?? { run, task, metric, values: [] };
        g.values.push(v);
        groups.set(key, g);
      }
    }
  }
  return [...groups.values()].map(({ run, task, metric, values }) => {
    const n = values.length;
    const mean = values.reduce((a, b) => a + b, 0) / n;
    const std = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
    return { condition: run.condition, mode: run.mode, task, metric, mean, std, min: Math.min(...values), max: Math.max(...values), repetitions: n, values };
  });
}
