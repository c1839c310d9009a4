/**
 * `narrowgate eval robustness --checkpoint DIR --edit SPEC.json --suite FILE.yaml --out DIR` (E8):
 * the suite clean and edited, side by side per task, with delta = edited - clean.
 */
import type { Argv } from 'yargs';
import { emit, handler, type AnyCommand } from '../../run.js';
import { formatRobustness, runRobustness } from '../../../eval/index.js';
import { suiteOptions, suiteRunOptions, type SuiteArgs } from './suite.js';

interface RobustnessArgs extends SuiteArgs { suite: string; edit: string; all?: boolean }

export const evalRobustnessCommand: AnyCommand = {
  command: 'robustness',
  describe: 'a suite clean and edited, side by side per task, with the deltas (E8)',
  builder: (y: Argv) =>
    suiteOptions(y)
      .option('suite', { type: 'string', demandOption: true, describe: 'suite YAML, e.g. eval/shapes.yaml' })
      .option('edit', { type: 'string', demandOption: true, describe: 'intervention spec JSON (the edit whose side effects are measured)' })
      .option('all', { type: 'boolean', default: false, describe: 'print every metric (default: primary metrics and object counts)' })
      .example('$0 eval robustness --checkpoint checkpoints/native-shapes --edit steer-red-to-blue.json --suite eval/shapes-quick.yaml --out runs/robust', 'scores clean vs edited')
      .example('$0 eval robustness --checkpoint ck --edit e.json --suite eval/shapes.yaml --conditions none --out r --json', 'the rows as JSON'),
  handler: handler<RobustnessArgs>(async (a) => {
    const o = await suiteRunOptions(a, a.suite, 'robustness');
    const r = await runRobustness({ ...o, edit: a.edit });
    emit(a, { out: o.out, suite: r.clean.suite.name, checkpoint_sha256: r.clean.sha256, edit: r.edit, rows: r.rows }, () => `${formatRobustness(r, a.all)}\nwrote ${o.out}`);
  }),
};
