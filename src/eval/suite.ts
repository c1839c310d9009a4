/**
 * `narrowgate eval suite`: a suite (suite-schema.ts) on one checkpoint, optionally edited, under the
 * suite's conditions. Output directory (written atomically):
 *
 *   OUT/scores.json                 the suite, checkpoint (path, sha256), dataset, the edit specs, every
 *                                   run's condition/mode/repetition/seed/specs and metrics, and the
 *                                   summary (mean, std, min, max over repetitions)
 *   OUT/runs/<run id>/run.json      that run's condition, mode, specs and metrics
 *   OUT/runs/<run id>/<task>.json   predictions in the standard format: COCO results [{image_id,
 *                                   caption}], VQA results [{question_id, answer}], classification
 *                                   [{image_id, label, prediction}]
 */
import { dirname, join, resolve as resolvePath } from 'node:path';
import { openDataset, type DatasetImage } from '../data/open.js';
import { readSpecFile } from '../interventions/commands.js';
import type { ExtractExample } from '../interventions/extract.js';
import { loadPipeline } from '../interventions/pipeline.js';
import type { InterventionSpec } from '../interventions/spec.js';
import { UserError } from '../util/errors.js';
import { writeDirAtomic, writeFileAtomic } from '../util/fs.js';
import { noProgress, type ProgressFactory } from '../util/progress.js';
import { planRuns, runCondition, summarize, type ConditionRun, type EvalEnv, type SummaryCell } from './run.js';
import { loadSuite, parseSuite, type KnockoutMode, type Suite } from './suite-schema.js';

export interface SuiteRunOptions {
  checkpoint: string;
  /** Path of the suite YAML, or an already parsed suite (then suitePath names it). */
  suite: string | Suite;
  /** Intervention spec file applied on top of every condition. */
  edit?: string;
  /** Overrides of the suite's dataset, conditions, modes, repetitions and image limit. */
  data?: string;
  conditions?: string[];
  modes?: KnockoutMode[];
  repetitions?: number;
  limit?: number;
  /** Output directory; nothing is written without it. */
  out?: string;
  progress?: ProgressFactory;
}

export interface SuiteResult {
  suite: Suite;
  suitePath: string | null;
  checkpoint: string;
  sha256: string;
  dataset: string;
  split: string;
  nImages: number;
  /** The --edit specs, appended to every run's specs ([] when none). */
  edit: InterventionSpec[];
  runs: ConditionRun[];
  summary: SummaryCell[];
}

/** The suite's images: its split (or all), at most `limit`, in dataset order. */
export function suiteImages(ds: Awaited<ReturnType<typeof openDataset>>, suite: Suite, limit?: number): DatasetImage[] {
  const rows = suite.split ? ds.indices(suite.split) : Array.from({ length: ds.length }, (_, i) => i);
  if (rows.length === 0) throw new UserError(`Dataset ${ds.dir} has no images in split "${suite.split}"; expected one of its splits (${Object.keys(ds.meta.counts.splits).join(', ')}).`);
  const n = limit ?? suite.limit;
  return (n !== undefined ? rows.slice(0, n) : rows).map((i) => ds.get(i));
}

/** Applies the option overrides to a loaded suite. */
export async function resolveSuite(o: Pick<SuiteRunOptions, 'suite' | 'data' | 'conditions' | 'modes' | 'repetitions'>): Promise<{ suite: Suite; suitePath: string | null }> {
  const base = typeof o.suite === 'string' ? await loadSuite(o.suite) : o.suite;
  const over = Object.fromEntries(Object.entries({ dataset: o.data, conditions: o.conditions, modes: o.modes, repetitions: o.repetitions }).filter(([, v]) => v !== undefined));
  // re-validated: overrides from flags obey the same rules as the file
  const suite = parseSuite({ ...base, ...over }, `${typeof o.suite === 'string' ? o.suite : base.name} (with command-line overrides)`);
  return { suite, suitePath: typeof o.suite === 'string' ? resolvePath(o.suite) : null };
}

/** Runs several variants (e.g. clean and edited) of a suite on one loaded checkpoint and dataset. */
export async function runSuiteVariants(o: SuiteRunOptions, edits: readonly (string | undefined)[]): Promise<SuiteResult[]> {
  const { suite, suitePath } = await resolveSuite(o);
  const specsPerEdit = await Promise.all(edits.map((e) => (e ? readSpecFile(e) : Promise.resolve([] as InterventionSpec[]))));
  const ds = await openDataset(suite.dataset);
  const images = suiteImages(ds, suite, o.limit);
  const p = await loadPipeline(o.checkpoint);
  try {
    const out: SuiteResult[] = [];
    const cache = new Map<string, ExtractExample>();
    for (const [k, edit] of specsPerEdit.entries()) {
      const env: EvalEnv = { p, ds, images, suite, edit, editDir: edits[k] ? dirname(resolvePath(edits[k]!)) : undefined, progress: o.progress ?? noProgress, cache };
      const runs: ConditionRun[] = [];
      for (const plan of planRuns(suite.conditions, suite.modes, suite.repetitions, suite.seed)) runs.push(await runCondition(env, plan));
      out.push({
        suite, suitePath, checkpoint: resolvePath(o.checkpoint), sha256: p.sha256, dataset: resolvePath(suite.dataset),
        split: suite.split ?? 'all', nImages: images.length, edit, runs, summary: summarize(runs),
      });
    }
    return out;
  } finally {
    p.dispose();
  }
}

/** Runs a suite (with the edit, if any) and writes its outputs under `out` when given. */
export async function runSuite(o: SuiteRunOptions): Promise<SuiteResult> {
  const [r] = await runSuiteVariants(o, [o.edit]);
  if (o.out) await writeDirAtomic(o.out, (tmp) => writeSuiteFiles(tmp, r!));
  return r!;
}

const json = (x: unknown): string => JSON.stringify(x, null, 2) + '\n';

/** The scores document of a run (no predictions). */
function runDoc(run: ConditionRun) {
  return {
    id: run.id, condition: run.condition, mode: run.mode, repetition: run.repetition, seed: run.seed, specs: run.specs,
    tasks: Object.fromEntries(Object.entries(run.tasks).map(([k, t]) => [k, { type: t.type, primary: t.primary, metrics: t.metrics, counts: t.counts, predictions: `${t.name}.json` }])),
  };
}

/** The scores.json document of a suite result. */
export function scoresDoc(r: SuiteResult) {
  return {
    suite: r.suite, suite_path: r.suitePath, checkpoint: r.checkpoint, checkpoint_sha256: r.sha256, dataset: r.dataset, split: r.split,
    n_images: r.nImages, decoding: r.suite.decoding, edit: r.edit, runs: r.runs.map(runDoc), summary: r.summary,
  };
}

/** Writes a suite result's files into `dir` (an existing directory, e.g. writeDirAtomic's temporary one). */
export async function writeSuiteFiles(dir: string, r: SuiteResult): Promise<void> {
  for (const run of r.runs) {
    const d = join(dir, 'runs', run.id);
    for (const t of Object.values(run.tasks)) await writeFileAtomic(join(d, `${t.name}.json`), JSON.stringify(t.predictions) + '\n');
    await writeFileAtomic(join(d, 'run.json'), json({ ...runDoc(run), checkpoint_sha256: r.sha256, edit: r.edit }));
  }
  await writeFileAtomic(join(dir, 'scores.json'), json(scoresDoc(r)));
}
