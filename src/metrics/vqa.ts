/**
 * VQA accuracy as the official VQAv2 evaluation (GT-Vision-Lab/VQA vqaEval.py, commit a013f00):
 * 1. newlines/tabs -> spaces and strip, in every GT answer and in the result;
 * 2. if the GT answers are then all identical, nothing else is normalised (exact comparison);
 *    otherwise every GT answer and the result go through processPunctuation + processDigitArticle;
 * 3. for each GT answer, min(1, #other GT answers equal to the result / 3); the question's accuracy
 *    is the mean of these (10 leave-one-out subsets for 10 answers);
 * 4. overall, per answer type and per question type are plain means over questions.
 * Values here are on the 0-1 scale and unrounded; officialPercentages() gives the code's rounded
 * percentages (round(100 * x, 2)).
 */
import { UserError } from '../util/errors.js';
import { pySum } from './sums.js';
import { normalizeAnswer, normalizeWhitespace } from './vqa-normalize.js';
import {
  describeIds, duplicateIds, requireSameIds,
  type Id, type VqaAnnotation, type VqaAnswer, type VqaQuestion, type VqaResult,
} from './formats.js';

export interface VqaQuestionScore {
  questionId: Id;
  questionType: string;
  answerType: string;
  /** 0-1, unrounded (the value the official code passes to setEvalQA) */
  accuracy: number;
  /** whether the answers were normalised (false when the GT answers were unanimous) */
  normalised: boolean;
  gtAnswersProcessed: string[];
  resultAnswerProcessed: string;
}

export interface VqaEvaluation {
  /** 0-1, unrounded */
  overall: number;
  perAnswerType: Record<string, number>;
  perQuestionType: Record<string, number>;
  /** in annotation order */
  perQuestion: VqaQuestionScore[];
  nQuestions: number;
}

/** Python's dict equality of two answer entries (the code drops every entry equal to the current one). */
function signature(a: VqaAnswer, processed: string): string {
  const keys = Object.keys(a).sort();
  return JSON.stringify(keys.map((k) => [k, k === 'answer' ? processed : a[k]]));
}

/**
 * Accuracy of one result against the annotator answers (entries {"answer", ...}, or plain strings,
 * which are treated as distinct annotators).
 */
export function vqaQuestionAccuracy(answers: ReadonlyArray<VqaAnswer | string>, result: string): {
  accuracy: number; normalised: boolean; gtAnswersProcessed: string[]; resultAnswerProcessed: string;
} {
  if (answers.length === 0) throw new UserError('VQA accuracy needs at least one annotator answer per question.');
  const entries: VqaAnswer[] = answers.map((a, i) => (typeof a === 'string' ? { answer: a, answer_id: i + 1 } : a));
  let gt = entries.map((a) => normalizeWhitespace(a.answer));
  let res = normalizeWhitespace(result);
  const normalised = new Set(gt).size > 1;
  if (normalised) {
    gt = gt.map(normalizeAnswer);
    res = normalizeAnswer(res);
  }
  const sigs = entries.map((a, i) => signature(a, gt[i]!));
  const gtAcc: number[] = [];
  for (let i = 0; i < entries.length; i++) {
    let matching = 0;
    for (let j = 0; j < entries.length; j++) {
      if (sigs[j] !== sigs[i] && gt[j] === res) matching++;
    }
    gtAcc.push(Math.min(1, matching / 3));
  }
  return { accuracy: pySum(gtAcc) / gtAcc.length, normalised, gtAnswersProcessed: gt, resultAnswerProcessed: res };
}

/** Lists of accuracies per group key, in first-seen order. */
function groupBy(perQuestion: VqaQuestionScore[], key: (q: VqaQuestionScore) => string): Map<string, VqaQuestionScore[]> {
  const groups = new Map<string, VqaQuestionScore[]>();
  for (const q of perQuestion) {
    const k = key(q);
    const g = groups.get(k);
    if (g) g.push(q);
    else groups.set(k, [q]);
  }
  return groups;
}

// Object.fromEntries defines own properties, so keys such as "__proto__" stay plain keys.
function groupMeans(perQuestion: VqaQuestionScore[], key: (q: VqaQuestionScore) => string): Record<string, number> {
  return Object.fromEntries([...groupBy(perQuestion, key)].map(([k, qs]) => [k, pySum(qs.map((q) => q.accuracy)) / qs.length]));
}

/**
 * Official VQAv2 accuracy of `results` against `annotations`. Every annotated question needs exactly
 * one result and vice versa; with `questions`, its question ids must be the annotations' too.
 */
export function evaluateVqa(annotations: VqaAnnotation[], results: VqaResult[], questions?: VqaQuestion[]): VqaEvaluation {
  if (annotations.length === 0) throw new UserError('The VQA annotations hold no questions; expected at least one.');
  const annIds = annotations.map((a) => a.question_id);
  const dupAnn = duplicateIds(annIds);
  if (dupAnn.length > 0) throw new UserError(`The VQA annotations list ${describeIds(dupAnn)} more than once; expected each question once.`);
  const dupRes = duplicateIds(results.map((r) => r.question_id));
  if (dupRes.length > 0) throw new UserError(`The VQA results hold more than one answer for ${describeIds(dupRes)}; expected exactly one answer per question.`);
  requireSameIds(results.map((r) => r.question_id), 'the results', annIds, 'the annotations', 'question');
  if (questions) requireSameIds(questions.map((q) => q.question_id), 'the questions', annIds, 'the annotations', 'question');
  const byId = new Map<Id, string>(results.map((r) => [r.question_id, r.answer]));
  const perQuestion = annotations.map((a): VqaQuestionScore => ({
    questionId: a.question_id,
    questionType: a.question_type,
    answerType: a.answer_type,
    ...vqaQuestionAccuracy(a.answers, byId.get(a.question_id)!),
  }));
  return {
    overall: pySum(perQuestion.map((q) => q.accuracy)) / perQuestion.length,
    perAnswerType: groupMeans(perQuestion, (q) => q.answerType),
    perQuestionType: groupMeans(perQuestion, (q) => q.questionType),
    perQuestion,
    nQuestions: perQuestion.length,
  };
}

/**
 * Python's round(x, digits) for the code's percentages: the nearest value with `digits` decimals,
 * computed from the exact binary value; an exact tie rounds away from zero, as Python 2's round (the
 * official code is Python 2; Python 3 would round such a tie to even).
 */
export function pyRound(x: number, digits = 2): number {
  if (!Number.isFinite(x)) return x;
  const r = Number(Math.abs(x).toFixed(digits));
  return x < 0 ? -r : r;
}

export interface VqaPercentages {
  overall: number;
  perQuestionType: Record<string, number>;
  perAnswerType: Record<string, number>;
  /** question id (as a string) -> round(100 * accuracy, 2) */
  evalQA: Record<string, number>;
  evalQuesType: Record<string, Record<string, number>>;
  evalAnsType: Record<string, Record<string, number>>;
}

/** The official code's rounded percentages (VQAEval.accuracy, evalQA, evalQuesType, evalAnsType). */
export function officialPercentages(ev: VqaEvaluation): VqaPercentages {
  const pct = (qs: VqaQuestionScore[]) => pyRound((100 * pySum(qs.map((q) => q.accuracy))) / qs.length, 2);
  const perQ = (qs: VqaQuestionScore[]) => Object.fromEntries(qs.map((q) => [String(q.questionId), pyRound(100 * q.accuracy, 2)]));
  const qt = [...groupBy(ev.perQuestion, (q) => q.questionType)];
  const at = [...groupBy(ev.perQuestion, (q) => q.answerType)];
  return {
    overall: pct(ev.perQuestion),
    perQuestionType: Object.fromEntries(qt.map(([k, qs]) => [k, pct(qs)])),
    perAnswerType: Object.fromEntries(at.map(([k, qs]) => [k, pct(qs)])),
    evalQA: perQ(ev.perQuestion),
    evalQuesType: Object.fromEntries(qt.map(([k, qs]) => [k, perQ(qs)])),
    evalAnsType: Object.fromEntries(at.map(([k, qs]) => [k, perQ(qs)])),
  };
}
