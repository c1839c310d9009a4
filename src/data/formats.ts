/**
 * The standard annotation formats, as files: COCO captions (captions_*.json) and VQAv2 (questions +
 * annotations). Builders turn our rows into the official layout; parsers validate a user's file and
 * say exactly which field is wrong. Extra fields are allowed (and kept out of the way of the official
 * evaluation tools, which ignore them).
 */
import { UserError } from '../util/errors.js';

export interface CocoImage {
  id: number;
  file_name: string;
  width: number;
  height: number;
  [extra: string]: unknown;
}
export interface CocoCaption {
  id: number;
  image_id: number;
  caption: string;
}
export interface CocoCaptionsFile {
  info: Record<string, unknown>;
  licenses: unknown[];
  images: CocoImage[];
  annotations: CocoCaption[];
}

export interface VqaQuestion {
  image_id: number;
  question: string;
  question_id: number;
}
export interface VqaAnswer {
  answer: string;
  answer_confidence: 'yes' | 'maybe' | 'no';
  answer_id: number;
}
export interface VqaAnnotation {
  question_id: number;
  image_id: number;
  question_type: string;
  answer_type: string;
  multiple_choice_answer: string;
  answers: VqaAnswer[];
  [extra: string]: unknown;
}
export interface VqaQuestionsFile {
  info: Record<string, unknown>;
  task_type: string;
  data_type: string;
  data_subtype: string;
  license: Record<string, unknown>;
  questions: VqaQuestion[];
}
export interface VqaAnnotationsFile {
  info: Record<string, unknown>;
  data_type: string;
  data_subtype: string;
  license: Record<string, unknown>;
  annotations: VqaAnnotation[];
}

/** Ten answers in the VQAv2 layout (answer_id 1..10); fewer given answers are cycled, as annotators repeat. */
export function tenAnswers(answers: readonly string[]): VqaAnswer[] {
  if (answers.length === 0) throw new Error('tenAnswers: no answer');
  return Array.from({ length: 10 }, (_, i) => ({ answer: answers[i % answers.length] as string, answer_confidence: 'yes', answer_id: i + 1 }));
}

/** The most frequent answer (ties: the first seen), VQAv2's multiple_choice_answer. */
export function majorityAnswer(answers: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const a of answers) counts.set(a, (counts.get(a) ?? 0) + 1);
  let best = answers[0] ?? '', n = 0;
  for (const [a, c] of counts) if (c > n) [best, n] = [a, c];
  return best;
}

type Obj = Record<string, unknown>;

function fail(path: string, what: string): never {
  throw new UserError(`${path} is not in the expected format: ${what}.`);
}

function isObj(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function list(doc: unknown, key: string, path: string, fmt: string): Obj[] {
  if (!isObj(doc)) fail(path, `expected a JSON object (${fmt})`);
  const v = doc[key];
  if (!Array.isArray(v)) fail(path, `expected a "${key}" array (${fmt})`);
  v.forEach((x, i) => {
    if (!isObj(x)) fail(path, `${key}[${i}] is not an object`);
  });
  return v as Obj[];
}

function field(o: Obj, key: string, type: 'number' | 'string', where: string, path: string): void {
  const ok = type === 'number' ? Number.isInteger(o[key]) : typeof o[key] === 'string';
  if (!ok) fail(path, `${where}.${key} must be ${type === 'number' ? 'an integer' : 'a string'}`);
}

/** Validates a COCO captions document (images[] with id/file_name, annotations[] with id/image_id/caption). */
export function parseCocoCaptions(doc: unknown, path: string): CocoCaptionsFile {
  const fmt = 'COCO captions: images + annotations';
  const images = list(doc, 'images', path, fmt);
  const anns = list(doc, 'annotations', path, fmt);
  images.forEach((im, i) => {
    field(im, 'id', 'number', `images[${i}]`, path);
    field(im, 'file_name', 'string', `images[${i}]`, path);
  });
  const ids = new Set(images.map((im) => im.id as number));
  anns.forEach((a, i) => {
    field(a, 'image_id', 'number', `annotations[${i}]`, path);
    field(a, 'caption', 'string', `annotations[${i}]`, path);
    if (!ids.has(a.image_id as number)) fail(path, `annotations[${i}].image_id ${String(a.image_id)} names no entry of images`);
  });
  const d = doc as Obj;
  return {
    info: isObj(d.info) ? d.info : {},
    licenses: Array.isArray(d.licenses) ? d.licenses : [],
    images: images.map((im) => ({ width: 0, height: 0, ...im }) as CocoImage),
    annotations: anns.map((a, i) => ({ id: Number.isInteger(a.id) ? (a.id as number) : i + 1, image_id: a.image_id as number, caption: a.caption as string })),
  };
}

/** Validates a VQAv2 questions document (questions[] with image_id, question, question_id). */
export function parseVqaQuestions(doc: unknown, path: string): VqaQuestionsFile {
  const qs = list(doc, 'questions', path, 'VQAv2 questions');
  qs.forEach((q, i) => {
    field(q, 'image_id', 'number', `questions[${i}]`, path);
    field(q, 'question_id', 'number', `questions[${i}]`, path);
    field(q, 'question', 'string', `questions[${i}]`, path);
  });
  const d = doc as Obj;
  return {
    info: isObj(d.info) ? d.info : {},
    task_type: typeof d.task_type === 'string' ? d.task_type : 'Open-Ended',
    data_type: typeof d.data_type === 'string' ? d.data_type : '',
    data_subtype: typeof d.data_subtype === 'string' ? d.data_subtype : '',
    license: isObj(d.license) ? d.license : {},
    questions: qs.map((q) => ({ image_id: q.image_id as number, question: q.question as string, question_id: q.question_id as number })),
  };
}

/** Validates a VQAv2 annotations document (annotations[] with question_id, image_id and answers[].answer). */
export function parseVqaAnnotations(doc: unknown, path: string): VqaAnnotationsFile {
  const anns = list(doc, 'annotations', path, 'VQAv2 annotations');
  const out = anns.map((a, i): VqaAnnotation => {
    const where = `annotations[${i}]`;
    field(a, 'question_id', 'number', where, path);
    field(a, 'image_id', 'number', where, path);
    if (!Array.isArray(a.answers) || a.answers.length === 0) fail(path, `${where}.answers must be a non-empty array`);
    const answers = (a.answers as unknown[]).map((x, j) => {
      if (!isObj(x) || typeof x.answer !== 'string') fail(path, `${where}.answers[${j}].answer must be a string`);
      const conf = x.answer_confidence === 'maybe' || x.answer_confidence === 'no' ? x.answer_confidence : 'yes';
      return { answer: x.answer, answer_confidence: conf, answer_id: Number.isInteger(x.answer_id) ? (x.answer_id as number) : j + 1 } as VqaAnswer;
    });
    return {
      ...a,
      question_id: a.question_id as number,
      image_id: a.image_id as number,
      question_type: typeof a.question_type === 'string' ? a.question_type : '',
      answer_type: typeof a.answer_type === 'string' ? a.answer_type : 'other',
      multiple_choice_answer: typeof a.multiple_choice_answer === 'string' ? a.multiple_choice_answer : majorityAnswer(answers.map((x) => x.answer)),
      answers,
    };
  });
  const d = doc as Obj;
  return {
    info: isObj(d.info) ? d.info : {},
    data_type: typeof d.data_type === 'string' ? d.data_type : '',
    data_subtype: typeof d.data_subtype === 'string' ? d.data_subtype : '',
    license: isObj(d.license) ? d.license : {},
    annotations: out,
  };
}
