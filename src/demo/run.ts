/**
 * runDemo: the whole suite on every given checkpoint, side by side. Generates held-out data, runs
 * each stage (E1/E2, E3, E4, E5, E6, E7, the E8 sweep and robustness, edit examples, generated
 * images) per model, collects one results document (E9 falls out of fine-tunes found among the
 * models), and writes the report under `out`. A failing stage is recorded in the model's `errors`
 * and the demo goes on. Scratch data lives in OUT/work (removed at the end unless keepWork).
 */
import { existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256File } from '../model/checkpoint.js';
import { validateResults, type ResultsDoc } from '../report/results.js';
import { writeReport, type ReportSummary } from '../report/write.js';
import { UserError } from '../util/errors.js';
import { noProgress, type ProgressFactory } from '../util/progress.js';
import { prepareDemoData, type DemoData } from './data.js';
import { discoverCheckpoints, type DemoModel } from './models.js';
import { FULL_BUDGET, QUICK_BUDGET, STAGES, suiteFor, type StageContext } from './stages.js';

export interface DemoOptions {
  /** Checkpoint directories or folders of them (default: the package's checkpoints/). */
  checkpoints?: string[];
  /** Output directory (default runs/demo). */
  out?: string;
  quick?: boolean;
  seed?: number;
  /** Use Fashion-MNIST (when installed) for models trained on it (default true). */
  fashion?: boolean;
  /** Only these stage ids (gap, attention, overlap, progressive, knockout, examples, generated). */
  stages?: string[];
  /** Keep the generated data and scratch files under OUT/work (default: removed). */
  keepWork?: boolean;
  /** Progress of each stage's own work (per-runner bars). */
  progress?: ProgressFactory;
  /** Called after each stage with its outcome (the CLI prints a line per stage). */
  onStage?: (e: StageEvent) => void;
}

export interface StageEvent {
  index: number;
  total: number;
  model: string;
  stage: string;
  label: string;
  status: 'ok' | 'failed' | 'skipped';
  seconds: number;
  message?: string;
}

export interface DemoResult {
  doc: ResultsDoc;
  report: ReportSummary;
  events: StageEvent[];
  skippedCheckpoints: { dir: string; reason: string }[];
  seconds: number;
}

/** The package root (where package.json, eval/ and checkpoints/ live), from src/ or dist/src/. */
export function packageRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'eval'))) return d;
    d = dirname(d);
  }
  return process.cwd();
}

async function header(m: DemoModel): Promise<Record<string, unknown>> {
  return {
    name: m.name,
    family: m.family,
    checkpointHash: `sha256:${await sha256File(join(m.dir, 'model.safetensors'))}`,
    ...(m.recipe ? { recipe: m.recipe } : {}),
    numLayers: m.numLayers,
    ...(m.finetune ? { finetune: m.finetune } : {}),
  };
}

function datasetFor(m: DemoModel, data: DemoData) {
  return m.source === 'fashion-mnist' ? data.fashion : data.shapes;
}

export async function runDemo(o: DemoOptions = {}): Promise<DemoResult> {
  const t0 = Date.now();
  const root = packageRoot();
  const out = resolve(o.out ?? 'runs/demo');
  const quick = Boolean(o.quick);
  const budget = quick ? QUICK_BUDGET : FULL_BUDGET;
  const seed = o.seed ?? 0;
  const progress = o.progress ?? noProgress;
  const stages = o.stages ? STAGES.filter((s) => o.stages!.includes(s.id)) : STAGES;
  const unknown = (o.stages ?? []).filter((id) => !STAGES.some((s) => s.id === id));
  if (unknown.length) throw new UserError(`Unknown demo stage ${unknown.join(', ')}; expected some of ${STAGES.map((s) => s.id).join(', ')}.`);
  const found = discoverCheckpoints(o.checkpoints ?? [join(root, 'checkpoints')]);
  const models = found.models;

  const work = join(out, 'work');
  rmSync(work, { recursive: true, force: true });
  const needFashion = o.fashion !== false && models.some((m) => m.source === 'fashion-mnist');
  const data = await prepareDemoData(join(work, 'data'), { n: budget.images, seed: 20261121 + seed, fashionN: needFashion ? budget.images : 0, progress });

  const events: StageEvent[] = [];
  const total = models.length * stages.length;
  const records: Record<string, unknown>[] = [];
  for (const m of models) {
    const rec: Record<string, unknown> = await header(m);
    const errors: Record<string, string> = {};
    const ds = datasetFor(m, data);
    const suite = ds ? await suiteFor(m.source, join(root, 'eval')) : null;
    const foundSoFar: StageContext['found'] = {};
    for (const stage of stages) {
      const index = events.length + 1;
      const s0 = Date.now();
      const base = { index, total, model: m.name, stage: stage.id, label: stage.label };
      if (!ds) {
        events.push({ ...base, status: 'skipped', seconds: 0, message: data.fashionNote ?? `no data for ${m.source}` });
        o.onStage?.(events[events.length - 1]!);
        continue;
      }
      const ctx: StageContext = { model: m, data: ds, all: data, budget, seed, work: join(work, m.name), suite, progress, found: foundSoFar };
      const why = stage.skip?.(ctx) ?? null;
      if (why) {
        events.push({ ...base, status: 'skipped', seconds: 0, message: why });
      } else {
        try {
          Object.assign(rec, await stage.run(ctx));
          events.push({ ...base, status: 'ok', seconds: (Date.now() - s0) / 1000 });
        } catch (e) {
          const msg = (e as Error).message ?? String(e);
          for (const k of stage.keys) errors[k] = msg;
          events.push({ ...base, status: 'failed', seconds: (Date.now() - s0) / 1000, message: msg });
        }
      }
      o.onStage?.(events[events.length - 1]!);
    }
    // Robustness rows and edit examples belong to E8 (with or without a steering sweep).
    for (const k of ['robustness', 'examples'] as const) {
      if (rec[k] === undefined) continue;
      rec.e8 = { ...((rec.e8 as object | undefined) ?? { records: [] }), [k]: rec[k] };
      delete rec[k];
    }
    if (Object.keys(errors).length) rec.errors = errors;
    records.push(rec);
  }

  const dataList = [data.shapes, data.single, ...(data.fashion ? [data.fashion] : [])].map((d) => ({ name: d.name, images: d.images, ...(d.classes ? { classes: d.classes } : {}), note: d.note }));
  const doc = validateResults(
    JSON.parse(
      JSON.stringify({
        format: 'narrowgate-results',
        version: 1,
        createdAt: new Date().toISOString(),
        run: { command: quick ? 'demo --quick' : 'demo', seed, budget, stages: stages.map((s) => s.id), ...(data.fashionNote ? { fashion: data.fashionNote } : {}) },
        data: dataList,
        models: records,
      }),
    ),
    'demo results',
  );
  const report = await writeReport(doc, out);
  if (!o.keepWork) rmSync(work, { recursive: true, force: true });
  return { doc, report, events, skippedCheckpoints: found.skipped, seconds: (Date.now() - t0) / 1000 };
}
