/**
 * `narrowgate knockout --checkpoint DIR --suite FILE.yaml --out DIR` (E6): the task table under the
 * conditions none, eoi, last-image, random-image:10, image-to-text in both knockout modes.
 */
import type { Argv } from 'yargs';
import { emit, handler, type AnyCommand } from '../run.js';
import { E6_CONDITIONS, formatKnockoutTable, knockoutDoc, runKnockoutTable } from '../../eval/index.js';
import { suiteOptions, suiteRunOptions, type SuiteArgs } from './eval/suite.js';

interface KnockoutArgs extends SuiteArgs { suite: string }

export const knockoutCommand: AnyCommand = {
  command: 'knockout',
  describe: 'E6: task scores with attention edges knocked out ([EOI], last image token, random image tokens, image->text), both modes',
  builder: (y: Argv) =>
    suiteOptions(y)
      .option('suite', { type: 'string', demandOption: true, describe: 'suite YAML whose tasks are scored, e.g. eval/shapes.yaml' })
      .option('edit', { type: 'string', describe: 'intervention spec JSON applied on top of every condition' })
      .example('$0 knockout --checkpoint checkpoints/native-shapes --suite eval/shapes.yaml --out runs/e6-native', `the full table (${E6_CONDITIONS.join(', ')}; modes zero and renormalize)`)
      .example('$0 knockout --checkpoint ck --suite eval/shapes-quick.yaml --conditions none,eoi --modes renormalize --out r --json', 'two conditions, hard block only'),
  handler: handler<KnockoutArgs>(async (a) => {
    const o = await suiteRunOptions(a, a.suite, 'knockout');
    const t = await runKnockoutTable({ ...o, conditions: o.conditions ?? [...E6_CONDITIONS], modes: o.modes });
    emit(a, { out: o.out, ...knockoutDoc(t) }, () => `${formatKnockoutTable(t)}\nwrote ${o.out}`);
  }),
};
