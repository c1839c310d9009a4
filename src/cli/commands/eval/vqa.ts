/**
 * `narrowgate eval vqa`: official VQAv2 accuracy (0-1 scale) of results against VQAv2 annotations,
 * overall, per answer type and per question type.
 */
import type { Argv } from 'yargs';
import { globalOptions, emit, handler, type AnyCommand, type GlobalArgs } from '../../run.js';
import { readJson } from '../../../util/fs.js';
import { evaluateVqa, parseVqaAnnotations, parseVqaQuestions, parseVqaResults } from '../../../metrics/index.js';

interface VqaArgs extends GlobalArgs { results: string; annotations: string; questions?: string }

export const evalVqaCommand: AnyCommand = {
  command: 'vqa',
  describe: 'official VQAv2 accuracy of results against VQAv2 annotations (0-1 scale)',
  builder: (y: Argv) =>
    globalOptions(y)
      .option('results', { type: 'string', demandOption: true, describe: 'VQA results file: [{"question_id", "answer"}], one answer per question' })
      .option('annotations', { type: 'string', demandOption: true, describe: 'VQAv2 annotations file: {"annotations": [{"question_id", "answers", ...}]}' })
      .option('questions', { type: 'string', describe: 'VQAv2 questions file; when given, its question ids must match the annotations' })
      .example('$0 eval vqa --results results.json --annotations v2_mscoco_val2014_annotations.json', 'overall and per answer type')
      .example('$0 eval vqa --results r.json --annotations a.json --questions q.json --json', 'full breakdown as JSON'),
  handler: handler<VqaArgs>(async (a) => {
    const results = parseVqaResults(await readJson(a.results, 'results file'), `Results file ${a.results}`);
    const annotations = parseVqaAnnotations(await readJson(a.annotations, 'annotations file'), `Annotations file ${a.annotations}`);
    const questions = a.questions === undefined
      ? undefined
      : parseVqaQuestions(await readJson(a.questions, 'questions file'), `Questions file ${a.questions}`);
    const ev = evaluateVqa(annotations, results, questions);
    emit(
      a,
      { overall: ev.overall, perAnswerType: ev.perAnswerType, perQuestionType: ev.perQuestionType, n_questions: ev.nQuestions },
      () => [
        `${ev.nQuestions} questions`,
        `overall      ${ev.overall.toFixed(4)}`,
        ...Object.entries(ev.perAnswerType).map(([t, v]) => `  ${t.padEnd(10)} ${v.toFixed(4)}`),
      ].join('\n'),
    );
  }),
};
