/** `narrowgate report RUN_DIR`: rebuild report.html and figures/ from RUN_DIR/results.json. */
import type { Argv } from 'yargs';
import { globalOptions, emit, handler, type AnyCommand, type GlobalArgs } from '../run.js';
import { rebuildReport } from '../../report/index.js';
import { UserError } from '../../util/errors.js';
import { createProgress, noProgress } from '../../util/progress.js';

interface ReportArgs extends GlobalArgs {
  $0?: string;
  run?: string;
  scale?: number;
}

export const reportCommand: AnyCommand = {
  command: 'report <run>',
  describe: 'rebuild report.html and the figures (PNG + vega-lite JSON) of a run directory from its results.json',
  builder: (y: Argv) =>
    globalOptions(y)
      .positional('run', { type: 'string', describe: 'run directory holding results.json (e.g. runs/demo)' })
      .option('scale', { type: 'number', default: 2, describe: 'PNG resolution as a multiple of the figure size' })
      .example('$0 report runs/demo', 'rebuild runs/demo/report.html and runs/demo/figures/ from runs/demo/results.json')
      .example('$0 report runs/demo --json', 'the same, printing the written files and the generated sentences as JSON'),
  handler: handler<ReportArgs>(async (a) => {
    if (!a.run) throw new UserError('report needs a run directory, e.g. narrowgate report runs/demo.');
    if (a.scale !== undefined && !(Number.isFinite(a.scale) && a.scale > 0 && a.scale <= 8)) {
      throw new UserError(`--scale ${a.scale} is invalid; expected a number in (0, 8].`);
    }
    const progress = a.quiet || a.json ? noProgress : createProgress;
    const r = await rebuildReport(a.run, { scale: a.scale, progress });
    emit(a, r, () =>
      [
        `wrote ${r.html}`,
        `      ${r.figures.length} figures under ${r.outDir}/figures (.png and .vl.json)`,
        ...r.narrative.flatMap((n) => [`${n.model}:`, ...n.items.map((it) => `  ${it.title}: ${it.sentences.join(' ')}`)]),
      ].join('\n'),
    );
  }),
};
