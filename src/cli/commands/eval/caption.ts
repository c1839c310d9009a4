/**
 * `narrowgate eval caption`: CIDEr-D, CIDEr, BLEU-1..4 and ROUGE-L of COCO-format results against a
 * COCO captions annotation file, as pycocoevalcap computes them.
 */
import type { Argv } from 'yargs';
import { globalOptions, emit, handler, type AnyCommand, type GlobalArgs } from '../../run.js';
import { readJson } from '../../../util/fs.js';
import {
  CAPTION_METRICS, TOKENIZATIONS, evaluateCocoCaptions, parseCaptionAnnotations, parseCaptionResults,
  type Tokenization,
} from '../../../metrics/index.js';

interface CaptionArgs extends GlobalArgs { results: string; annotations: string; tokenize: Tokenization }

export const evalCaptionCommand: AnyCommand = {
  command: 'caption',
  describe: 'caption metrics (CIDEr-D, CIDEr, BLEU-1..4, ROUGE-L) of COCO results against COCO annotations',
  builder: (y: Argv) =>
    globalOptions(y)
      .option('results', { type: 'string', demandOption: true, describe: 'COCO results file: [{"image_id", "caption"}], one caption per image' })
      .option('annotations', { type: 'string', demandOption: true, describe: 'COCO captions file: {"images": [...], "annotations": [{"image_id", "caption"}]}' })
      .option('tokenize', {
        choices: TOKENIZATIONS, default: 'ptb' as Tokenization,
        describe: 'ptb: coco-caption PTB-style (lower-case, punctuation removed); whitespace: raw whitespace tokens',
      })
      .example('$0 eval caption --results results.json --annotations captions_val2014.json', 'coco-caption scores')
      .example('$0 eval caption --results r.json --annotations a.json --tokenize whitespace --json', 'raw-token scores as JSON'),
  handler: handler<CaptionArgs>(async (a) => {
    const results = parseCaptionResults(await readJson(a.results, 'results file'), `Results file ${a.results}`);
    const annotations = parseCaptionAnnotations(await readJson(a.annotations, 'annotations file'), `Annotations file ${a.annotations}`);
    const ev = evaluateCocoCaptions(results, annotations, a.tokenize);
    emit(a, { ...ev.corpus, n_images: ev.nImages, tokenize: ev.tokenization }, () =>
      [
        `${ev.nImages} images, ${ev.tokenization} tokens`,
        ...CAPTION_METRICS.map((m) => `${m.padEnd(8)} ${ev.corpus[m].toFixed(4)}`),
      ].join('\n'));
  }),
};
