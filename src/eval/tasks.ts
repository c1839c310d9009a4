/**
 * The evaluation tasks of a suite, each on a list of dataset images under one condition (the hooks in
 * the RunContext): captioning (COCO results; CIDEr-D, CIDEr, BLEU-1..4, ROUGE-L, and on shapes scenes
 * the attribute and object-count accuracy of the captions), VQA (VQA results; official VQA accuracy,
 * per answer type and per question attribute, object_count = the "count" questions) and
 * classification (accuracy of a label field, by next-token comparison of the class names' first
 * tokens or by the greedy answer). Every metric is a plain number in `metrics`.
 */
import type { Dataset, DatasetImage } from '../data/open.js';
import { evaluateCocoCaptions, evaluateVqa, classificationAccuracy, CAPTION_METRICS, type CaptionResult, type VqaAnnotation, type VqaResult } from '../metrics/index.js';
import { NUM_SPECIALS, SPECIAL_IDS } from '../tokenizers/word.js';
import { UserError } from '../util/errors.js';
import { decodeText, generateItems, labelVars, type RunContext } from './generation.js';
import { isShapesScene, scoreShapesCaptions } from './shapes-slots.js';
import { fillPrompt, type SuiteTask } from './suite-schema.js';

export interface ClassificationResult {
  image_id: number;
  label: string;
  prediction: string;
}

export interface TaskResult {
  name: string;
  type: SuiteTask['type'];
  /** The headline metric (CIDEr-D, accuracy). */
  primary: string;
  metrics: Record<string, number>;
  /** Items each metric is over (when it is over a subset). */
  counts: Record<string, number>;
  /** COCO results, VQA results, or [{image_id, label, prediction}]. */
  predictions: CaptionResult[] | VqaResult[] | ClassificationResult[];
}

export const PRIMARY_METRIC: Record<SuiteTask['type'], string> = { captioning: 'CIDEr-D', vqa: 'accuracy', classification: 'accuracy' };

export async function runTask(ctx: RunContext, ds: Dataset, images: readonly DatasetImage[], task: SuiteTask, maxNewTokens: number): Promise<TaskResult> {
  const c = { ...ctx, label: `${ctx.label} ${task.name}` };
  const n = task.max_new_tokens ?? maxNewTokens;
  if (task.type === 'captioning') return captioning(c, ds, images, task, n);
  if (task.type === 'vqa') return vqa(c, ds, images, task, n);
  return classification(c, ds, images, task, n);
}

type Task<T extends SuiteTask['type']> = Extract<SuiteTask, { type: T }>;

async function captioning(ctx: RunContext, ds: Dataset, images: readonly DatasetImage[], task: Task<'captioning'>, n: number): Promise<TaskResult> {
  const items = images.map((image) => ({ image, prompt: fillPrompt(task.prompt, labelVars(image, ds.labelFields), task.name) }));
  const tokens = await generateItems(ctx, items, { maxNewTokens: n });
  const predictions: CaptionResult[] = images.map((im, i) => ({ image_id: im.id, caption: decodeText(ctx.p, tokens[i]!) }));
  const annotations = {
    imageIds: images.map((im) => im.id),
    annotations: images.flatMap((im) => ds.captions(im.id).map((caption) => ({ image_id: im.id, caption }))),
  };
  const ev = evaluateCocoCaptions(predictions, annotations, task.tokenize);
  const metrics: Record<string, number> = {};
  for (const m of CAPTION_METRICS) metrics[m] = ev.corpus[m];
  let counts: Record<string, number> = {};
  if (images.every((im) => isShapesScene(im.scene))) {
    const s = scoreShapesCaptions(predictions.map((r) => r.caption), images.map((im) => im.scene as never));
    Object.assign(metrics, s.metrics);
    counts = s.counts;
  }
  return { name: task.name, type: 'captioning', primary: PRIMARY_METRIC.captioning, metrics, counts, predictions };
}

async function vqa(ctx: RunContext, ds: Dataset, images: readonly DatasetImage[], task: Task<'vqa'>, n: number): Promise<TaskResult> {
  const qs = images.flatMap((image) => ds.questions(image.id).filter((q) => !task.attributes || task.attributes.includes(q.attribute ?? '')).map((q) => ({ image, q })));
  if (qs.length === 0) {
    throw new UserError(`Task "${task.name}": the chosen images of ${ds.dir} have no questions${task.attributes ? ` of attributes ${task.attributes.join(', ')}` : ''}; expected VQA questions in questions.json.`);
  }
  const items = qs.map(({ image, q }) => ({ image, prompt: fillPrompt(task.prompt, { ...labelVars(image, ds.labelFields), question: q.question }, task.name) }));
  const tokens = await generateItems(ctx, items, { maxNewTokens: n });
  const predictions: VqaResult[] = qs.map(({ q }, i) => ({ question_id: q.questionId, answer: decodeText(ctx.p, tokens[i]!) }));
  const annotations: VqaAnnotation[] = qs.map(({ q }) => ({
    question_id: q.questionId, question_type: q.questionType, answer_type: q.answerType, answers: q.answers.map((answer, k) => ({ answer, answer_id: k + 1 })),
  }));
  const ev = evaluateVqa(annotations, predictions);
  const metrics: Record<string, number> = { accuracy: ev.overall };
  const counts: Record<string, number> = { accuracy: ev.nQuestions };
  for (const [t, v] of Object.entries(ev.perAnswerType)) metrics[`answer_type.${t}`] = v;
  const byAttr = new Map<string, number[]>();
  ev.perQuestion.forEach((s, i) => {
    const a = qs[i]!.q.attribute;
    if (a) byAttr.set(a, [...(byAttr.get(a) ?? []), s.accuracy]);
  });
  for (const [a, v] of byAttr) {
    metrics[`attribute.${a}`] = v.reduce((x, y) => x + y, 0) / v.length;
    counts[`attribute.${a}`] = v.length;
  }
  if (metrics['attribute.count'] !== undefined) {
    metrics.object_count = metrics['attribute.count']!;
    counts.object_count = counts['attribute.count']!;
  }
  return { name: task.name, type: 'vqa', primary: PRIMARY_METRIC.vqa, metrics, counts, predictions };
}

async function classification(ctx: RunContext, ds: Dataset, images: readonly DatasetImage[], task: Task<'classification'>, n: number): Promise<TaskResult> {
  const names = ds.labelFields[task.field];
  if (!names || names.length === 0) {
    throw new UserError(`Task "${task.name}": dataset ${ds.dir} has no label field "${task.field}"; expected one of ${Object.keys(ds.labelFields).join(', ') || '(none)'}.`);
  }
  const labelled = images.filter((im) => (task.field === 'label' ? im.label : (im.labels[task.field] ?? -1)) >= 0);
  if (labelled.length === 0) throw new UserError(`Task "${task.name}": none of the chosen images has a "${task.field}" label; expected labelled images.`);
  const truth = labelled.map((im) => names[task.field === 'label' ? im.label : im.labels[task.field]!]!);
  const items = labelled.map((image) => ({ image, prompt: fillPrompt(task.prompt, labelVars(image, ds.labelFields), task.name) }));
  let preds: string[];
  if (task.method === 'next-token') {
    const first = names.map((name) => {
      const ids = ctx.p.tokenizer.encode(name);
      if (ids.length === 0 || ids[0] === SPECIAL_IDS.unk || ids[0]! < NUM_SPECIALS) {
        throw new UserError(`Task "${task.name}": class name "${name}" is not in the model's vocabulary; expected class names the tokenizer knows (or method: generate).`);
      }
      return ids[0]!;
    });
    const dup = first.findIndex((id, i) => first.indexOf(id) !== i);
    if (dup >= 0) {
      throw new UserError(`Task "${task.name}": class names "${names[first.indexOf(first[dup]!)]}" and "${names[dup]}" start with the same token; next-token classification needs distinct first tokens (use method: generate).`);
    }
    const tokens = await generateItems(ctx, items, { maxNewTokens: 1, allowedIds: first, eos: null });
    preds = tokens.map((t) => names[first.indexOf(t[0]!)]!);
  } else {
    const tokens = await generateItems(ctx, items, { maxNewTokens: n });
    preds = tokens.map((t) => decodeText(ctx.p, t).trim().toLowerCase());
  }
  const predictions: ClassificationResult[] = labelled.map((im, i) => ({ image_id: im.id, label: truth[i]!, prediction: preds[i]! }));
  const accuracy = classificationAccuracy(preds, truth.map((t) => (task.method === 'generate' ? t.toLowerCase() : t)));
  return { name: task.name, type: 'classification', primary: PRIMARY_METRIC.classification, metrics: { accuracy }, counts: { accuracy: labelled.length }, predictions };
}
