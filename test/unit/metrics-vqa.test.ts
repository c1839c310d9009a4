import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readMetricFixture } from '../helpers/metrics-fixtures.js';
import {
  evaluateVqa, normalizeAnswer, officialPercentages, parseVqaAnnotations, parseVqaQuestions, parseVqaResults,
  processDigitArticle, processPunctuation, pyRound, vqaQuestionAccuracy,
} from '../../src/metrics/index.js';

const TOL = 1e-9;
const expected = readMetricFixture('vqa-expected.json');
const evaluation = () => evaluateVqa(
  parseVqaAnnotations(readMetricFixture('vqa-annotations.json'), 'annotations'),
  parseVqaResults(readMetricFixture('vqa-results.json'), 'results'),
  parseVqaQuestions(readMetricFixture('vqa-questions.json'), 'questions'),
);

function assertCloseRecord(actual: Record<string, number>, want: Record<string, number>, what: string): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(want).sort(), `${what} keys`);
  for (const k of Object.keys(want)) assert.ok(Math.abs(actual[k]! - want[k]!) <= TOL, `${what} ${k}: ${actual[k]} vs ${want[k]}`);
}

test('VQA accuracy (0-1, unrounded) matches the official evaluation: overall, per type, per question', () => {
  const ev = evaluation();
  assert.equal(ev.nQuestions, expected.n_questions);
  assert.ok(Math.abs(ev.overall - expected.overall_unrounded_0_1) <= TOL);
  assertCloseRecord(ev.perAnswerType, expected.perAnswerType_unrounded_0_1, 'perAnswerType');
  assertCloseRecord(ev.perQuestionType, expected.perQuestionType_unrounded_0_1, 'perQuestionType');
  assert.equal(ev.perQuestion.length, expected.per_question.length);
  expected.per_question.forEach((p: any, i: number) => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const q = ev.perQuestion[i]!;
    const what = `question ${p.question_id} (${p.case})`;
    assert.equal(q.questionId, p.question_id, 'annotation order');
    assert.equal(q.questionType, p.question_type);
    assert.equal(q.answerType, p.answer_type);
    assert.ok(Math.abs(q.accuracy - p.accuracy_unrounded_0_1) <= TOL, `${what}: ${q.accuracy} vs ${p.accuracy_unrounded_0_1}`);
    assert.equal(q.normalised, p.normalised, what);
    assert.deepEqual(q.gtAnswersProcessed, p.gt_answers_processed, what);
    assert.equal(q.resultAnswerProcessed, p.result_answer_processed, what);
  });
});

test("the rounded percentages equal the official code's accuracy, evalQA, evalQuesType, evalAnsType", () => {
  const pc = officialPercentages(evaluation());
  assert.equal(pc.overall, expected.accuracy.overall);
  assert.deepEqual(pc.perAnswerType, expected.accuracy.perAnswerType);
  assert.deepEqual(pc.perQuestionType, expected.accuracy.perQuestionType);
  assert.deepEqual(pc.evalQA, expected.evalQA);
  assert.deepEqual(pc.evalQuesType, expected.evalQuesType);
  assert.deepEqual(pc.evalAnsType, expected.evalAnsType);
  const ev = evaluation();
  assert.ok(Math.abs((100 * ev.overall) - expected.overall_unrounded_percent) <= 1e-7);
});

test('processPunctuation quirks: digit,digit deletes all punctuation, spaced marks are deleted, others become spaces', () => {
  assert.equal(processPunctuation('1,000-2,000'), '10002000');
  assert.equal(processPunctuation('1000-2000'), '1000 2000');
  assert.equal(processPunctuation('red, white'), 'red white');
  assert.equal(processPunctuation('red,white'), 'red white');
  assert.equal(processPunctuation('3.5.'), '3.5');
  assert.equal(processPunctuation('a.m.'), 'am');
  assert.equal(processPunctuation("it's 5:30 #1 $2 & 50% * ~"), "it's 5:30 #1 $2 & 50% * ~", "apostrophes, colons, # $ % & * ~ are kept");
  // at most 32 periods are removed (re.UNICODE = 32 is passed as the count)
  assert.equal(processPunctuation('.'.repeat(40)), '.'.repeat(8));
  assert.equal(processPunctuation('x.'.repeat(33)), 'x'.repeat(32) + 'x.');
});

test('processDigitArticle: lower-case, number words to digits (only up to ten), articles, contractions', () => {
  assert.equal(processDigitArticle('The  Two dogs'), '2 dogs');
  assert.equal(processDigitArticle('none zero one ten eleven'), '0 0 1 10 eleven');
  assert.equal(processDigitArticle('dont isnt'), "don't isn't");
  assert.equal(processDigitArticle('Im here'), 'im here', "the map's 'Im' key never matches lower-cased text");
  assert.equal(processDigitArticle('an a the'), '');
  assert.equal(normalizeAnswer(' A Red-Car! '), 'red car');
});

test('accuracy is min(1, matches/3) averaged over the leave-one-out subsets: 0, 0.3, 0.6, 0.9, 1', () => {
  const want = [0, 0.3, 0.6, 0.9, 1, 1];
  for (let k = 0; k <= 5; k++) {
    const answers = [...Array<string>(k).fill('cat'), ...Array.from({ length: 10 - k }, (_, i) => `dog${i}`)];
    assert.ok(Math.abs(vqaQuestionAccuracy(answers, 'cat').accuracy - want[k]!) < 1e-12, `${k} matches`);
  }
});

test('unanimous annotators switch normalisation off, in the GT and in the result', () => {
  const yes = Array<string>(10).fill('yes');
  assert.equal(vqaQuestionAccuracy(yes, 'Yes').accuracy, 0);
  assert.equal(vqaQuestionAccuracy(yes, ' yes\n').accuracy, 1, 'whitespace is still normalised');
  assert.equal(vqaQuestionAccuracy(Array<string>(10).fill('5'), 'five').accuracy, 0);
  const mixed = [...Array<string>(9).fill('5'), 'Five'];
  assert.equal(vqaQuestionAccuracy(mixed, 'five').accuracy, 1);
});

test('pyRound rounds the exact binary value to 2 decimals', () => {
  assert.equal(pyRound(61.666666666666664), 61.67);
  assert.equal(pyRound(73.5), 73.5);
  assert.equal(pyRound(0.125), 0.13, 'exact tie: away from zero, as Python 2');
  assert.equal(pyRound(1.005), 1, '1.005 is stored below the tie');
});

test('VQA input errors name the ids', () => {
  const anns = parseVqaAnnotations({ annotations: [
    { question_id: 1, question_type: 'what', answer_type: 'other', answers: [{ answer: 'a' }] },
    { question_id: 2, question_type: 'what', answer_type: 'other', answers: [{ answer: 'b' }] },
  ] }, 'a.json');
  assert.throws(() => evaluateVqa(anns, [{ question_id: 1, answer: 'a' }, { question_id: 3, answer: 'x' }]), /1 question id is in the results but not in the annotations \(3\); 1 question id is in the annotations but not in the results \(2\)/);
  assert.throws(() => evaluateVqa(anns, [{ question_id: 1, answer: 'a' }, { question_id: 1, answer: 'b' }, { question_id: 2, answer: 'b' }]), /more than one answer for 1 id \(1\)/);
  assert.throws(() => parseVqaAnnotations({ annotations: [{ question_id: 1, answers: [] }] }, 'a.json'), /a\.json.*"question_type"/);
  assert.throws(() => parseVqaResults({ question_id: 1 }, 'r.json'), /r\.json is not a JSON list/);
});
