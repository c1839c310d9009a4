/**
 * The demo's stages: each runs one experiment runner on one model and returns the sections it adds
 * to that model's record in the results document. A stage that throws does not stop the demo: the
 * error is recorded under the model's `errors` and the report says the experiment failed.
 */
import { runAttentionFlow } from '../experiments/attention.js';
import { runModalityGap } from '../experiments/modality-gap.js';
import { runOverlap } from '../experiments/overlap.js';
import { runPatching } from '../experiments/patching.js';
import { runSteeringSweep } from '../experiments/steer-run.js';
import { runRobustness } from '../eval/robustness.js';
import { runProgressiveKnockout } from '../experiments/progressive-knockout.js';
import { E6_CONDITIONS, runKnockoutTable, type KnockoutTableResult } from '../eval/knockout-table.js';
import { loadSuite, type KnockoutMode, type Suite } from '../eval/suite-schema.js';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/fs.js';
import type { ProgressFactory } from '../util/progress.js';
import type { DemoData, DemoDataset } from './data.js';
import { editExamples, generatedImages } from './examples.js';
import type { DemoModel } from './models.js';

/**
 * How much work each stage does: --quick and the full demo. Measured on 2 busy cores (load ~12) with
 * random-weight models of the shipped size (d_model 128, 4 layers; random models decode to the token
 * limit, trained ones stop at <eos>): quick about 80 s per model; full E6 alone about 250 s per model
 * at 48 images x 3 repetitions, hence 32 x 2 here.
 */
export interface DemoBudget {
  /** Images per analysis (E1-E5). */
  images: number;
  /** Images per E6 task. */
  taskImages: number;
  conditions: string[];
  modes: KnockoutMode[];
  repetitions: number;
  /** E5 window step (1 = every layer). */
  windowStep: number;
  examples: number;
  generated: number;
  /** E7 contrast pairs and variants. */
  pairs: number;
  variants: ('resid' | 'attn-input')[];
  /** E8: images of the class steered from, strengths, layers ("mid" = the middle layer only). */
  steerImages: number;
  alphas: number[];
  steerLayers: 'all' | 'mid';
}

export const QUICK_BUDGET: DemoBudget = {
  images: 32, taskImages: 8, conditions: ['none', 'eoi', 'image-to-text'], modes: ['zero'], repetitions: 1, windowStep: 2, examples: 1, generated: 2,
  pairs: 8, variants: ['resid'], steerImages: 6, alphas: [0, 4], steerLayers: 'mid',
};
export const FULL_BUDGET: DemoBudget = {
  images: 96, taskImages: 32, conditions: [...E6_CONDITIONS], modes: ['zero', 'renormalize'], repetitions: 2, windowStep: 1, examples: 4, generated: 4,
  pairs: 32, variants: ['resid', 'attn-input'], steerImages: 16, alphas: [0, 1, 2, 4], steerLayers: 'all',
};

export interface StageContext {
  model: DemoModel;
  /** The dataset this model is measured on (its training source), and the shapes contrast pairs. */
  data: DemoDataset;
  all: DemoData;
  budget: DemoBudget;
  seed: number;
  /** Scratch directory for this model (files an edit spec refers to). */
  work: string;
  /** The suite for E6 (null: none for this model's data). */
  suite: Suite | null;
  progress: ProgressFactory;
  /** What earlier stages of this model found (e.g. E3's outlier image positions for E4). */
  found: { imageOffsets?: number[]; steer?: { spec: Record<string, unknown>; layer: number; alpha: number } };
}

export interface Stage {
  id: string;
  label: string;
  /** The results keys this stage fills (e1..e8, generated). */
  keys: string[];
  /** Why the stage does not apply to a model (null: it applies). */
  skip?(ctx: StageContext): string | null;
  run(ctx: StageContext): Promise<Record<string, unknown>>;
}

function shapesOnly(why: string): (ctx: StageContext) => string | null {
  return (ctx) => (ctx.model.source === 'shapes' ? null : why);
}

/** The experiment sections of a runner's one-model results document. */
function sections(doc: { models: Record<string, unknown>[] }, keys: string[]): Record<string, unknown> {
  const m = doc.models[0] ?? {};
  return Object.fromEntries(keys.filter((k) => m[k] !== undefined).map((k) => [k, m[k]]));
}

function common(ctx: StageContext, images = ctx.budget.images) {
  return { checkpoint: ctx.model.dir, data: ctx.data.dir, limit: images, seed: ctx.seed, name: ctx.model.name, progress: ctx.progress };
}

/** Neighbours for the overlap (E4, E5): the paper's 30, fewer when the quick demo has few images (k < N / 4). */
export function overlapK(images: number): number {
  return Math.min(30, Math.max(5, Math.floor(images / 4)));
}

/** E6 cells as results rows (the suite's task types attached, spread only over real repetitions). */
export function e6Rows(t: KnockoutTableResult): Record<string, unknown>[] {
  const types = new Map(t.suite.suite.tasks.map((task) => [task.name ?? task.type, task.type]));
  return t.cells.map((c) => ({
    task: c.task,
    ...(types.has(c.task) ? { taskType: types.get(c.task) } : {}),
    metric: c.metric,
    condition: c.condition,
    mode: c.mode,
    value: c.mean,
    ...(c.repetitions > 1 ? { spread: c.std } : {}),
    repetitions: c.repetitions,
    specs: c.specs,
  }));
}

export const STAGES: Stage[] = [
  {
    id: 'gap',
    label: 'E1/E2 modality gap',
    keys: ['e1', 'e2'],
    run: async (ctx) => sections((await runModalityGap(common(ctx))).doc, ['e1', 'e2']),
  },
  {
    id: 'attention',
    label: 'E3 attention flow',
    keys: ['e3'],
    run: async (ctx) => {
      const r = await runAttentionFlow(common(ctx));
      ctx.found.imageOffsets = r.stack.outliers;
      return sections(r.doc, ['e3']);
    },
  },
  {
    id: 'overlap',
    label: 'E4 neighbourhood overlap',
    keys: ['e4'],
    run: async (ctx) => sections((await runOverlap({ ...common(ctx), k: overlapK(ctx.budget.images), imageOffsets: ctx.found.imageOffsets?.slice(0, 4) })).doc, ['e4']),
  },
  {
    id: 'progressive',
    label: 'E5 progressive knockout',
    keys: ['e5'],
    run: async (ctx) => sections((await runProgressiveKnockout({ ...common(ctx), k: overlapK(ctx.budget.images), step: ctx.budget.windowStep })).doc, ['e5']),
  },
  {
    id: 'knockout',
    label: 'E6 knockout on tasks',
    keys: ['e6'],
    skip: (ctx) => (ctx.suite ? null : `no evaluation suite for ${ctx.data.name} models`),
    run: async (ctx) => {
      const t = await runKnockoutTable({
        checkpoint: ctx.model.dir,
        suite: ctx.suite!,
        data: ctx.data.dir,
        limit: ctx.budget.taskImages,
        conditions: ctx.budget.conditions,
        modes: ctx.budget.modes,
        repetitions: ctx.budget.repetitions,
        progress: ctx.progress,
      });
      return { e6: { settings: { suite: t.suite.suite.name, images: t.suite.nImages, split: t.suite.split }, rows: e6Rows(t) } };
    },
  },
  {
    id: 'patching',
    label: 'E7 patching [EOI]',
    keys: ['e7'],
    skip: shapesOnly('patching uses shapes contrast pairs'),
    run: async (ctx) => {
      const r = await runPatching({ ...common(ctx), data: ctx.all.single.dir, limit: undefined, attribute: 'shape', pairs: ctx.budget.pairs, variants: ctx.budget.variants });
      return sections(r.doc, ['e7']);
    },
  },
  {
    id: 'steering',
    label: 'E8 steering sweep',
    keys: ['e8'],
    skip: shapesOnly('the steering sweep edits shapes attributes'),
    run: async (ctx) => {
      const L = ctx.model.numLayers;
      const r = await runSteeringSweep({
        ...common(ctx, ctx.budget.steerImages),
        data: ctx.all.single.dir,
        attribute: 'shape', from: 'circle', to: 'square', op: 'add',
        meanImages: ctx.budget.images,
        layers: ctx.budget.steerLayers === 'all' ? 'all' : [Math.floor(L / 2)],
        alphas: ctx.budget.alphas,
      });
      // The robustness stage applies the sweep's strongest edit: best success rate, the larger strength on ties.
      const best = [...r.records].sort((x, y) => y.successRate - x.successRate || y.alpha - x.alpha)[0];
      if (best) ctx.found.steer = { spec: best.spec as unknown as Record<string, unknown>, layer: best.layer, alpha: best.alpha };
      return sections(r.doc, ['e8']);
    },
  },
  {
    id: 'robustness',
    label: 'E8 robustness after an edit',
    keys: ['robustness'],
    skip: (ctx) => (ctx.suite ? shapesOnly('the edit comes from the shapes steering sweep')(ctx) : `no evaluation suite for ${ctx.data.name} models`),
    run: async (ctx) => {
      const steer = ctx.found.steer;
      if (!steer) throw new Error('robustness applies the steering sweep\'s edit, and the sweep did not run for this model');
      const spec = steer.spec;
      const path = join(ctx.work, 'robustness-edit.json');
      await writeFileAtomic(path, JSON.stringify(spec) + '\n');
      const r = await runRobustness({ checkpoint: ctx.model.dir, suite: ctx.suite!, data: ctx.data.dir, limit: ctx.budget.taskImages, edit: path, progress: ctx.progress });
      // Each task's primary metric and the object count (as the E6 table), not every sub-score.
      const primary = new Set(r.clean.runs.flatMap((run) => Object.values(run.tasks).map((t) => `${t.name}/${t.primary}`)));
      const keep = (x: { task: string; metric: string }) => primary.has(`${x.task}/${x.metric}`) || x.metric === 'object_count';
      const rows = r.rows.filter((x) => x.condition === 'none' && keep(x)).map((x) => ({ task: x.task, metric: x.metric, clean: x.clean, edited: x.edited, spec }));
      return { robustness: rows };
    },
  },
  {
    id: 'examples',
    label: 'E8 edit examples',
    keys: ['examples'],
    skip: shapesOnly('edit examples use shapes contrast pairs'),
    run: async (ctx) => ({ examples: await editExamples(ctx.model, ctx.all.single.dir, ctx.work, ctx.budget.examples, ctx.seed) }),
  },
  {
    id: 'generated',
    label: 'images from text',
    keys: ['generated'],
    skip: (ctx) => (ctx.model.family === 'native' ? null : 'only native models generate images'),
    run: async (ctx) => ({ generated: await generatedImages(ctx.model, ctx.data.dir, ctx.budget.generated) }),
  },
];

/** The E6 suite for a data source: eval/shapes-quick.yaml for shapes (found beside the package), none otherwise. */
export async function suiteFor(source: DemoModel['source'], evalDir: string): Promise<Suite | null> {
  if (source !== 'shapes') return null;
  // The demo's scenes are all fresh (generated with their own seed): evaluate every one, whatever split the suite names.
  const { split: _split, ...suite } = await loadSuite(`${evalDir}/shapes-quick.yaml`);
  return suite;
}
