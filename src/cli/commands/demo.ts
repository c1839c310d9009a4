/** `narrowgate demo`: the whole suite (E1-E9) on the shipped (or given) checkpoints, and the report. */
import type { Argv } from 'yargs';
import { globalOptions, emit, handler, type AnyCommand, type GlobalArgs } from '../run.js';
import { initBackend } from '../../backend/index.js';
import { runDemo, type StageEvent } from '../../demo/run.js';
import { STAGES } from '../../demo/stages.js';
import { log } from '../../util/log.js';
import { createProgress, noProgress } from '../../util/progress.js';

interface DemoArgs extends GlobalArgs {
  $0?: string;
  checkpoints?: string[];
  out?: string;
  quick?: boolean;
  seed?: number;
  fashion?: boolean;
  stages?: string;
  'keep-work'?: boolean;
}

function stageLine(e: StageEvent, t0: number): string {
  const el = ((Date.now() - t0) / 1000).toFixed(0);
  const what = e.status === 'ok' ? `ok (${e.seconds.toFixed(1)} s)` : e.status === 'skipped' ? `skipped: ${e.message}` : `FAILED: ${e.message}`;
  return `demo [${e.index}/${e.total}] ${e.model}: ${e.label} ${what} [${el} s elapsed]`;
}

export const demoCommand: AnyCommand = {
  command: 'demo',
  describe: "run every experiment (modality gap, attention flow, overlap, knockouts, patching, steering, fine-tunes) on the shipped models and write a self-contained HTML report",
  builder: (y: Argv) =>
    globalOptions(y)
      .option('checkpoints', { type: 'string', array: true, describe: 'checkpoint directories or folders of them (default: the shipped checkpoints/)' })
      .option('out', { type: 'string', default: 'runs/demo', describe: 'output directory: report.html, results.json, figures/*.png and *.vl.json' })
      .option('quick', { type: 'boolean', default: false, describe: 'fewer images, conditions and repetitions (about 2 minutes on 2 cores)' })
      .option('seed', { type: 'number', default: 0, describe: 'seed for the generated data and random choices' })
      .option('fashion', { type: 'boolean', default: true, describe: 'use Fashion-MNIST for models trained on it, when installed (--no-fashion to skip)' })
      .option('stages', { type: 'string', describe: `only these stages, comma-separated: ${STAGES.map((s) => s.id).join(', ')}` })
      .option('keep-work', { type: 'boolean', default: false, describe: 'keep the generated data and edit files under OUT/work' })
      .example('$0 demo', 'the full suite on the shipped models into runs/demo/report.html')
      .example('$0 demo --quick --out runs/quick', 'a quick pass (fewer images) in about two minutes')
      .example('$0 demo --checkpoints runs/my-native runs/my-adapter --stages gap,attention,knockout', 'your own checkpoints, some stages'),
  handler: handler<DemoArgs>(async (a) => {
    await initBackend(a.backend);
    const t0 = Date.now();
    const chatty = !a.quiet && !a.json;
    const r = await runDemo({
      checkpoints: a.checkpoints,
      out: a.out,
      quick: a.quick,
      seed: a.seed,
      fashion: a.fashion,
      stages: a.stages?.split(',').map((s) => s.trim()).filter(Boolean),
      keepWork: a['keep-work'],
      progress: chatty ? createProgress : noProgress,
      onStage: (e) => {
        if (chatty || e.status === 'failed') log(stageLine(e, t0));
      },
    });
    const failed = r.events.filter((e) => e.status === 'failed');
    emit(
      a,
      { report: r.report.html, results: r.report.results, figures: r.report.figures, events: r.events, skippedCheckpoints: r.skippedCheckpoints, seconds: r.seconds, narrative: r.report.narrative },
      () =>
        [
          `wrote ${r.report.html} (${r.report.figures.length} figures, ${r.doc.models.length} models, ${r.seconds.toFixed(0)} s)`,
          ...r.skippedCheckpoints.map((s) => `skipped checkpoint ${s.dir}: ${s.reason}`),
          ...(failed.length ? [`${failed.length} stage(s) failed (see the report): ${failed.map((e) => `${e.model}/${e.stage}`).join(', ')}`] : []),
          `rebuild the page from results.json with: narrowgate report ${a.out ?? 'runs/demo'}`,
        ].join('\n'),
    );
  }),
};
