/**
 * The results document (results.json): every number a report shows, per model, with the intervention
 * specs and knockout mode behind it. The demo writes it; `narrowgate report RUN_DIR` reads it back,
 * validates it (errors name the offending field) and rebuilds the figures and report.html from it.
 *
 * Fields the schema does not name are allowed (a runner may record more); they are kept in
 * results.json but not shown.
 *
 * An experiment a run did not do is simply absent (the report says "not run"); one that failed is
 * named in the model's `errors` (experiment key -> message) instead. Measured values may be null (undefined for that layer, e.g. no data):
 * figures drop them and sentences skip them.
 */
import { z } from 'zod';
import { UserError } from '../util/errors.js';
import { readJson } from '../util/fs.js';

const int = z.number().int().nonnegative();
const num = z.number().finite();
/** A measured value; null where the measurement is undefined. */
const val = num.nullable();
/** An intervention spec as written by src/interventions (kept as plain JSON here: report/ reads no tensors). */
const spec = z.record(z.unknown());
const knockoutMode = z.enum(['zero', 'renormalize']);

/** Common to every experiment section: the settings it ran with. */
const section = { settings: z.record(z.unknown()).optional() };

const e1 = z.object({ ...section, records: z.array(z.object({ layer: int, depth: num, median: val, q25: val, q75: val })) });
/** id: intrinsic dimension (Gride); twoNN and meanLogDensity are optional extras a runner may add. */
const e2 = z.object({
  ...section,
  records: z.array(z.object({ layer: int, depth: num, homogeneity: val, id: val, nClusters: int.nullable(), twoNN: val.optional(), meanLogDensity: val.optional() })),
});
/** label: "[EOI]", "last image", "pos N" (a single image position above the threshold) or "internal image". */
const e3 = z.object({ ...section, records: z.array(z.object({ layer: int, label: z.string().min(1), share: val })) });
/** positionKind: "[EOI]", "last image", "mean image", "pos N"; recall: recall@k of the approximate neighbours. */
const e4 = z.object({
  ...section,
  chance: num,
  k: int.optional(),
  records: z.array(z.object({ layer: int, positionKind: z.string().min(1), overlap: val, recall: val.optional() })),
});
/** window: the number of last layers knocked out (0..L); edgeSet: "[EOI]" or "image->text". */
const e5 = z.object({
  ...section,
  mode: knockoutMode,
  chance: num.optional(),
  records: z.array(z.object({ window: int, edgeSet: z.string().min(1), overlap: val, recall: val.optional(), specs: z.array(spec).optional() })),
});
/** condition: none, eoi, last-image, random-image:10, image-to-text; spread: std over repetitions. */
const e6Row = z.object({
  task: z.string().min(1),
  taskType: z.enum(['captioning', 'vqa', 'classification']).optional(),
  metric: z.string().min(1),
  condition: z.string().min(1),
  mode: knockoutMode,
  value: val,
  spread: val.optional(),
  repetitions: int.optional(),
  specs: z.array(spec).optional(),
});
const e6 = z.object({ ...section, rows: z.array(e6Row) });
/** variant: "resid" (the [EOI] residual entering block l) or "attn-input" ([EOI] attention input, layers l..L-1). */
const e7 = z.object({
  ...section,
  pairs: int.optional(),
  records: z.array(z.object({ layer: int, variant: z.string().min(1), similarity: val, baseline: val, flipAccuracy: val, specs: z.array(spec).optional() })),
});
const example = z.object({ imagePngBase64: z.string().min(1), captionBefore: z.string(), captionAfter: z.string(), edit: z.string() });
const e8 = z.object({
  ...section,
  /** e.g. "add alpha * (mean_b - mean_a) at [EOI]", and the attribute edited (from -> to). */
  edit: z.string().optional(),
  records: z.array(z.object({ layer: int, alpha: num, successRate: val, sideEffect: val.optional(), specs: z.array(spec).optional() })),
  robustness: z.array(z.object({ task: z.string().min(1), metric: z.string().min(1), clean: val, edited: val, spec: spec.optional() })).optional(),
  examples: z.array(example).optional(),
});
const generated = z.object({ prompt: z.string(), imagePngBase64: z.string().min(1) });

const model = z.object({
  name: z.string().min(1),
  family: z.enum(['native', 'adapter']),
  checkpointHash: z.string().min(1),
  recipe: z.string().optional(),
  numLayers: z.number().int().positive(),
  /** E9: this model is a fine-tune of `of` (another model's name in the document). */
  finetune: z.object({ of: z.string().min(1), kind: z.string().min(1), steps: int.optional() }).optional(),
  e1: e1.optional(),
  e2: e2.optional(),
  e3: e3.optional(),
  e4: e4.optional(),
  e5: e5.optional(),
  e6: e6.optional(),
  e7: e7.optional(),
  e8: e8.optional(),
  generated: z.array(generated).optional(),
  /** Experiments that failed for this model: key (e1..e8, generated) -> the error message. */
  errors: z.record(z.string()).optional(),
});

export const resultsSchema = z.object({
  format: z.literal('narrowgate-results'),
  version: z.literal(1),
  createdAt: z.string(),
  /** How the run was made: command, quick, seed, data sets (free-form, shown in the report header). */
  run: z.record(z.unknown()).optional(),
  data: z.array(z.object({ name: z.string().min(1), images: int, classes: int.optional(), note: z.string().optional() })).optional(),
  models: z.array(model).min(1),
});

export type ResultsDoc = z.infer<typeof resultsSchema>;
export type ModelResults = ResultsDoc['models'][number];
export type E1Record = NonNullable<ModelResults['e1']>['records'][number];
export type E6Row = z.infer<typeof e6Row>;
export type ExampleEdit = z.infer<typeof example>;
export const EXPERIMENTS = ['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8'] as const;
export type ExperimentKey = (typeof EXPERIMENTS)[number];

function fieldPath(path: (string | number)[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${p}` : p;
  return s || '(top level)';
}

/** Validates a parsed document; throws a UserError naming the first bad field and what is expected. */
export function validateResults(doc: unknown, source = 'results document'): ResultsDoc {
  const r = resultsSchema.safeParse(doc);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new UserError(`${source}: field ${fieldPath(issue.path)} is invalid (${issue.message}); expected a narrowgate results document (format "narrowgate-results", version 1).`);
  }
  const names = new Set<string>();
  for (const [i, m] of r.data.models.entries()) {
    if (names.has(m.name)) throw new UserError(`${source}: field models[${i}].name "${m.name}" repeats an earlier model; expected unique model names.`);
    names.add(m.name);
  }
  for (const [i, m] of r.data.models.entries()) {
    if (m.finetune && !names.has(m.finetune.of)) {
      throw new UserError(`${source}: field models[${i}].finetune.of names "${m.finetune.of}", which is not a model in the document; expected the base model's name.`);
    }
  }
  return r.data;
}

/** Reads and validates RUN_DIR/results.json (or any path to such a file). */
export async function loadResults(path: string): Promise<ResultsDoc> {
  return validateResults(await readJson(path, 'results file'), path);
}

/** depth = l / (L - 1), 0 for a one-layer model. */
export function depthOf(layer: number, numLayers: number): number {
  return numLayers > 1 ? layer / (numLayers - 1) : 0;
}

/**
 * Merges results documents (e.g. one per runner and model) into one: models with the same name are
 * combined section by section (a later document's section replaces an earlier one's), data sets are
 * joined by name, `run` is taken from `run` when given, else from the first document.
 */
export function mergeResults(docs: readonly Record<string, unknown>[], run?: Record<string, unknown>): ResultsDoc {
  if (docs.length === 0) throw new UserError('mergeResults: no results documents to merge; expected at least one.');
  const checked = docs.map((d, i) => validateResults(JSON.parse(JSON.stringify(d)), `results document ${i + 1}`));
  const models = new Map<string, ModelResults>();
  const data = new Map<string, NonNullable<ResultsDoc['data']>[number]>();
  for (const d of checked) {
    for (const m of d.models) {
      const prev = models.get(m.name);
      if (prev && (prev.family !== m.family || prev.numLayers !== m.numLayers || prev.checkpointHash !== m.checkpointHash)) {
        throw new UserError(`mergeResults: model "${m.name}" appears with different checkpoints (${prev.checkpointHash} vs ${m.checkpointHash}); expected one checkpoint per model name.`);
      }
      models.set(m.name, { ...prev, ...m });
    }
    for (const x of d.data ?? []) data.set(x.name, x);
  }
  return validateResults({
    format: 'narrowgate-results',
    version: 1,
    createdAt: new Date().toISOString(),
    run: run ?? checked[0]!.run,
    ...(data.size ? { data: [...data.values()] } : {}),
    models: [...models.values()],
  });
}
