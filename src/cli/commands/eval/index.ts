/**
 * `narrowgate eval <task>`: evaluation commands. Each subcommand is its own small module in this
 * folder; add one by importing it and listing it in SUBCOMMANDS.
 */
import type { Argv } from 'yargs';
import type { AnyCommand } from '../../run.js';
import { evalCaptionCommand } from './caption.js';
import { evalVqaCommand } from './vqa.js';
import { evalSuiteCommand } from './suite.js';
import { evalRobustnessCommand } from './robustness.js';

const SUBCOMMANDS: AnyCommand[] = [evalCaptionCommand, evalVqaCommand, evalSuiteCommand, evalRobustnessCommand];

export const evalCommand: AnyCommand = {
  command: 'eval <task>',
  describe: 'score model outputs on the standard formats (captions: COCO; VQA: VQAv2)',
  builder: (y: Argv) => {
    let cli = y;
    for (const c of SUBCOMMANDS) cli = cli.command(c);
    return cli
      .demandCommand(1, 'Name an evaluation task; see narrowgate eval --help.')
      .example('$0 eval caption --results results.json --annotations captions_val2014.json', 'CIDEr-D, CIDEr, BLEU, ROUGE-L')
      .example('$0 eval vqa --results results.json --annotations v2_mscoco_val2014_annotations.json --json', 'VQA accuracy as JSON');
  },
  handler: () => {},
};
