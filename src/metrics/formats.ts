/**
 * Readers (validators) for the standard evaluation formats: COCO caption results and annotations,
 * VQAv2 results, annotations and questions. They take parsed JSON and either return typed records
 * or throw a UserError naming the file (`source`), the entry and what is expected.
 */
import { UserError } from '../util/errors.js';

/** COCO / VQA ids: numbers in the official files; strings are accepted and kept distinct from numbers. */
export type Id = number | string;

export interface CaptionResult { image_id: Id; caption: string }
export interface CaptionAnnotation { image_id: Id; caption: string }
export interface CaptionAnnotations { imageIds: Id[]; annotations: CaptionAnnotation[] }

export interface VqaAnswer { answer: string; [key: string]: unknown }
export interface VqaAnnotation {
  question_id: Id;
  question_type: string;
  answer_type: string;
  answers: VqaAnswer[];
}
export interface VqaResult { question_id: Id; answer: string }
export interface VqaQuestion { question_id: Id; image_id?: Id; question?: string }

/** "1, 2, 7" or "1, 2, 3, 4, 5, ...": a few ids, as a message fragment. */
export function listIds(ids: Id[], max = 5): string {
  return ids.slice(0, max).map((x) => JSON.stringify(x)).join(', ') + (ids.length > max ? ', ...' : '');
}

/** "3 ids (1, 2, 7)" or "12 ids (1, 2, 3, 4, 5, ...)". */
export function describeIds(ids: Id[], max = 5): string {
  return `${ids.length} id${ids.length === 1 ? '' : 's'} (${listIds(ids, max)})`;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isId(x: unknown): x is Id {
  return (typeof x === 'number' && Number.isFinite(x)) || typeof x === 'string';
}

function entry(json: unknown[], i: number, source: string, keys: Record<string, 'id' | 'string' | 'array'>): Record<string, unknown> {
  const e = json[i];
  if (!isRecord(e)) throw new UserError(`${source}: entry ${i} is not an object; expected {${Object.keys(keys).join(', ')}}.`);
  for (const [k, kind] of Object.entries(keys)) {
    const v = e[k];
    const ok = kind === 'id' ? isId(v) : kind === 'string' ? typeof v === 'string' : Array.isArray(v);
    if (!ok) {
      const what = kind === 'id' ? 'a number or string id' : kind === 'string' ? 'a string' : 'a list';
      throw new UserError(`${source}: entry ${i} ${v === undefined ? 'lacks' : 'has a bad'} "${k}"; expected ${what}.`);
    }
  }
  return e;
}

function listOf(json: unknown, source: string, key: string | null, what: string): unknown[] {
  const list = key === null ? json : isRecord(json) ? json[key] : undefined;
  if (!Array.isArray(list)) {
    throw new UserError(key === null
      ? `${source} is not a JSON list; expected ${what}.`
      : `${source} has no "${key}" list; expected ${what}.`);
  }
  return list;
}

/** COCO results: [{"image_id", "caption"}]. */
export function parseCaptionResults(json: unknown, source: string): CaptionResult[] {
  const list = listOf(json, source, null, 'the COCO results format [{"image_id", "caption"}]');
  return list.map((_, i) => {
    const e = entry(list, i, source, { image_id: 'id', caption: 'string' });
    return { image_id: e.image_id as Id, caption: e.caption as string };
  });
}

/** COCO captions annotations: {"images": [{"id"}], "annotations": [{"image_id", "caption"}]}. */
export function parseCaptionAnnotations(json: unknown, source: string): CaptionAnnotations {
  const what = 'the COCO captions format {"images": [{"id", ...}], "annotations": [{"image_id", "caption"}]}';
  if (!isRecord(json)) throw new UserError(`${source} is not a JSON object; expected ${what}.`);
  const images = listOf(json, source, 'images', what);
  const anns = listOf(json, source, 'annotations', what);
  const imageIds = images.map((_, i) => entry(images, i, `${source} "images"`, { id: 'id' }).id as Id);
  const annotations = anns.map((_, i) => {
    const e = entry(anns, i, `${source} "annotations"`, { image_id: 'id', caption: 'string' });
    return { image_id: e.image_id as Id, caption: e.caption as string };
  });
  return { imageIds, annotations };
}

/** VQA results: [{"question_id", "answer"}]. */
export function parseVqaResults(json: unknown, source: string): VqaResult[] {
  const list = listOf(json, source, null, 'the VQA results format [{"question_id", "answer"}]');
  return list.map((_, i) => {
    const e = entry(list, i, source, { question_id: 'id', answer: 'string' });
    return { question_id: e.question_id as Id, answer: e.answer as string };
  });
}

/** VQAv2 annotations: {"annotations": [{"question_id", "question_type", "answer_type", "answers": [{"answer"}]}]}. */
export function parseVqaAnnotations(json: unknown, source: string): VqaAnnotation[] {
  const what = 'the VQAv2 annotations format {"annotations": [{"question_id", "question_type", "answer_type", "answers": [{"answer", ...}]}]}';
  const list = listOf(json, source, 'annotations', what);
  return list.map((_, i) => {
    const e = entry(list, i, `${source} "annotations"`, { question_id: 'id', question_type: 'string', answer_type: 'string', answers: 'array' });
    const answers = e.answers as unknown[];
    if (answers.length === 0) throw new UserError(`${source}: question ${JSON.stringify(e.question_id)} has no answers; expected a list of annotator answers.`);
    answers.forEach((a, j) => {
      if (!isRecord(a) || typeof a.answer !== 'string') {
        throw new UserError(`${source}: answer ${j} of question ${JSON.stringify(e.question_id)} lacks a string "answer"; expected {"answer", ...}.`);
      }
    });
    return {
      question_id: e.question_id as Id,
      question_type: e.question_type as string,
      answer_type: e.answer_type as string,
      answers: answers as VqaAnswer[],
    };
  });
}

/** VQAv2 questions: {"questions": [{"question_id", "image_id", "question"}]}. */
export function parseVqaQuestions(json: unknown, source: string): VqaQuestion[] {
  const list = listOf(json, source, 'questions', 'the VQAv2 questions format {"questions": [{"question_id", "image_id", "question"}]}');
  return list.map((_, i) => ({ question_id: entry(list, i, `${source} "questions"`, { question_id: 'id' }).question_id as Id }));
}

/** Ids that occur more than once, in first-seen order. */
export function duplicateIds(ids: Id[]): Id[] {
  const seen = new Set<Id>(), dup = new Set<Id>();
  for (const id of ids) (seen.has(id) ? dup : seen).add(id);
  return [...dup];
}

/** Throws a UserError naming the ids in `a` missing from `b` and those in `b` missing from `a`. */
export function requireSameIds(a: Id[], aName: string, b: Id[], bName: string, what: string): void {
  const sa = new Set(a), sb = new Set(b);
  const onlyA = [...sa].filter((x) => !sb.has(x));
  const onlyB = [...sb].filter((x) => !sa.has(x));
  if (onlyA.length === 0 && onlyB.length === 0) return;
  const parts: string[] = [];
  const say = (ids: Id[], from: string, to: string) =>
    `${ids.length} ${what} id${ids.length === 1 ? ' is' : 's are'} in ${from} but not in ${to} (${listIds(ids)})`;
  if (onlyA.length > 0) parts.push(say(onlyA, aName, bName));
  if (onlyB.length > 0) parts.push(say(onlyB, bName, aName));
  throw new UserError(`The ${what} ids of ${aName} and ${bName} differ: ${parts.join('; ')}; expected the same ${what}s in both.`);
}
