/**
 * Chance levels for a shipped model's held-out numbers, computed from the data (never assumed):
 *
 *   captioning      each evaluated image gets the caption of a random training image (seeded): the
 *                   score of a model that writes fluent shapes captions without looking
 *   vqa             each question gets the most frequent training answer of its question type (the
 *                   question's attribute: color, shape, size, position, count, exists), scored with
 *                   the same official VQA accuracy: the score of answering from the question alone
 *   classification  1 / number of classes (uniform guessing); the most frequent training class's
 *                   rate on the evaluated images is reported beside it
 *
 * Each level is reported under the same metric names as the model's (CIDEr-D, accuracy, attribute.x,
 * object_count, ...), so the card can put them side by side.
 */
import type { Dataset, DatasetImage } from '../data/open.js';
import { evaluateCocoCaptions, evaluateVqa, CAPTION_METRICS, type VqaAnnotation } from '../metrics/index.js';
import { isShapesScene, scoreShapesCaptions } from '../eval/shapes-slots.js';
import type { Suite, SuiteTask } from '../eval/suite-schema.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/rng.js';

export interface ChanceLevel {
  /** Metric name -> chance value (the same names as the task's metrics). */
  metrics: Record<string, number>;
  /** How the level was obtained, one phrase. */
  how: string;
  /** Classification only: the most frequent training class and its rate on the evaluated images. */
  majority?: { label: string; rate: number };
}

type Task<T extends SuiteTask['type']> = Extract<SuiteTask, { type: T }>;

function trainIds(ds: Dataset): number[] {
  const rows = ds.indices('train');
  if (rows.length === 0) throw new UserError(`Dataset ${ds.dir} has no "train" split; chance levels are computed from the training data.`);
  return rows.map((i) => ds.get(i).id);
}

export function captionChance(ds: Dataset, images: readonly DatasetImage[], task: Task<'captioning'>, seed: number): ChanceLevel {
  const train = trainIds(ds).filter((id) => ds.captions(id).length > 0);
  if (train.length === 0) throw new UserError(`Dataset ${ds.dir} has no captions in its train split; expected captions.json entries for training images.`);
  const rng = new Rng(seed);
  const predictions = images.map((im) => ({ image_id: im.id, caption: ds.captions(train[rng.int(train.length)]!)[0]! }));
  const annotations = { imageIds: images.map((im) => im.id), annotations: images.flatMap((im) => ds.captions(im.id).map((caption) => ({ image_id: im.id, caption }))) };
  const ev = evaluateCocoCaptions(predictions, annotations, task.tokenize);
  const metrics: Record<string, number> = {};
  for (const m of CAPTION_METRICS) metrics[m] = ev.corpus[m];
  if (images.every((im) => isShapesScene(im.scene))) Object.assign(metrics, scoreShapesCaptions(predictions.map((p) => p.caption), images.map((im) => im.scene as never)).metrics);
  return { metrics, how: `the caption of a random training image (seed ${seed})` };
}

export function vqaChance(ds: Dataset, images: readonly DatasetImage[], task: Task<'vqa'>): ChanceLevel {
  const keep = (q: { attribute?: string }) => !task.attributes || task.attributes.includes(q.attribute ?? '');
  const groupOf = (q: { attribute?: string; questionType: string }) => q.attribute ?? q.questionType;
  const counts = new Map<string, Map<string, number>>();
  for (const id of trainIds(ds)) {
    for (const q of ds.questions(id).filter(keep)) {
      const g = counts.get(groupOf(q)) ?? new Map<string, number>();
      g.set(q.answer, (g.get(q.answer) ?? 0) + 1);
      counts.set(groupOf(q), g);
    }
  }
  // the most frequent answer; ties go to the alphabetically first, so the level does not depend on file order
  const majority = new Map([...counts].map(([g, m]) => [g, [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0]]));
  const qs = images.flatMap((im) => ds.questions(im.id).filter(keep));
  if (qs.length === 0) throw new UserError(`Task "${task.name}": the evaluated images of ${ds.dir} have no questions; expected VQA questions in questions.json.`);
  const annotations: VqaAnnotation[] = qs.map((q) => ({ question_id: q.questionId, question_type: q.questionType, answer_type: q.answerType, answers: q.answers.map((answer, k) => ({ answer, answer_id: k + 1 })) }));
  const ev = evaluateVqa(annotations, qs.map((q) => ({ question_id: q.questionId, answer: majority.get(groupOf(q)) ?? '' })));
  const metrics: Record<string, number> = { accuracy: ev.overall };
  for (const [t, v] of Object.entries(ev.perAnswerType)) metrics[`answer_type.${t}`] = v;
  const byAttr = new Map<string, number[]>();
  ev.perQuestion.forEach((s, i) => {
    const a = qs[i]!.attribute;
    if (a) byAttr.set(a, [...(byAttr.get(a) ?? []), s.accuracy]);
  });
  for (const [a, v] of byAttr) metrics[`attribute.${a}`] = v.reduce((x, y) => x + y, 0) / v.length;
  if (metrics['attribute.count'] !== undefined) metrics.object_count = metrics['attribute.count'];
  const answers = [...majority].sort().map(([g, a]) => `${g}: "${a}"`).join(', ');
  return { metrics, how: `the most frequent training answer per question type (${answers})` };
}

export function classificationChance(ds: Dataset, images: readonly DatasetImage[], task: Task<'classification'>): ChanceLevel {
  const names = ds.labelFields[task.field] ?? [];
  if (names.length === 0) throw new UserError(`Task "${task.name}": dataset ${ds.dir} has no label field "${task.field}".`);
  const labelOf = (im: DatasetImage) => (task.field === 'label' ? im.label : (im.labels[task.field] ?? -1));
  const freq = new Array<number>(names.length).fill(0);
  for (const i of ds.indices('train')) {
    const l = labelOf(ds.get(i));
    if (l >= 0) freq[l]!++;
  }
  const top = freq.indexOf(Math.max(...freq));
  const labelled = images.filter((im) => labelOf(im) >= 0);
  const rate = labelled.filter((im) => labelOf(im) === top).length / Math.max(labelled.length, 1);
  return { metrics: { accuracy: 1 / names.length }, how: `1/${names.length} classes (uniform guess)`, majority: { label: names[top]!, rate } };
}

/** The chance level of every task of the suite on the evaluated images, by task name. */
export function chanceLevels(ds: Dataset, suite: Suite, images: readonly DatasetImage[]): Record<string, ChanceLevel> {
  const out: Record<string, ChanceLevel> = {};
  for (const t of suite.tasks) {
    out[t.name] = t.type === 'captioning' ? captionChance(ds, images, t, suite.seed) : t.type === 'vqa' ? vqaChance(ds, images, t) : classificationChance(ds, images, t);
  }
  return out;
}
