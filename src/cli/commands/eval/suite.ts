/**
 * `narrowgate eval suite FILE.yaml --checkpoint DIR [--edit SPEC.json]`: runs an evaluation suite
 * (eval/*.yaml) and writes predictions in the standard formats plus scores.json under --out. The
 * option helpers here are shared by `eval robustness` and `knockout`.
 */
import { basename, extname, join } from 'node:path';
import type { Argv } from 'yargs';
import { globalOptions, emit, handler, type AnyCommand, type GlobalArgs } from '../../run.js';
import { initBackend } from '../../../backend/index.js';
import { runSuite, type SuiteResult, type SuiteRunOptions } from '../../../eval/index.js';
import { KNOCKOUT_MODES, type KnockoutMode } from '../../../eval/suite-schema.js';
import { UserError } from '../../../util/errors.js';
import { createProgress, noProgress } from '../../../util/progress.js';

export interface SuiteArgs extends GlobalArgs {
  checkpoint: string;
  out?: string;
  edit?: string;
  data?: string;
  limit?: number;
  conditions?: string;
  modes?: string;
  repetitions?: number;
}

/** The options every suite-running command takes (--checkpoint, --out, --edit, overrides). */
export function suiteOptions<T>(y: Argv<T>) {
  return globalOptions(y)
    .option('checkpoint', { type: 'string', demandOption: true, describe: 'checkpoint directory' })
    .option('out', { type: 'string', describe: 'output directory (predictions per run, scores.json), written atomically; default runs/<command>/<suite name>' })
    .option('data', { type: 'string', describe: "dataset directory instead of the suite's dataset" })
    .option('limit', { type: 'number', describe: "at most this many images (instead of the suite's limit)" })
    .option('conditions', { type: 'string', describe: 'comma-separated: none, eoi, last-image, random-image:N, image-to-text' })
    .option('modes', { type: 'string', describe: 'comma-separated knockout modes: zero (post-softmax zeroing, the paper), renormalize (blocked before the softmax)' })
    .option('repetitions', { type: 'number', describe: 'repetitions of random-image:N conditions' });
}

const list = (s: string | undefined) => (s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean));

/** Checks the shared flags and turns them into library options. */
export async function suiteRunOptions(a: SuiteArgs, suite: string, command: string): Promise<SuiteRunOptions & { out: string }> {
  for (const [flag, v] of [['--limit', a.limit], ['--repetitions', a.repetitions]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new UserError(`${flag} ${v} is invalid; expected a positive integer.`);
  }
  const modes = list(a.modes);
  const bad = modes?.find((m) => !(KNOCKOUT_MODES as readonly string[]).includes(m));
  if (bad !== undefined) throw new UserError(`--modes "${a.modes}" has "${bad}"; expected zero and/or renormalize.`);
  await initBackend(a.backend);
  return {
    checkpoint: a.checkpoint, suite, out: a.out ?? join('runs', command, basename(suite, extname(suite))), edit: a.edit, data: a.data, limit: a.limit,
    conditions: list(a.conditions), modes: modes as KnockoutMode[] | undefined, repetitions: a.repetitions,
    progress: a.quiet ? noProgress : createProgress,
  };
}

/** Human-readable summary: the primary metrics and object counts per condition. */
export function formatSuite(r: SuiteResult): string {
  const primary = new Set(r.runs.flatMap((run) => Object.values(run.tasks).map((t) => `${t.name}/${t.primary}`)));
  const lines = [`${r.suite.name}: ${r.nImages} images of ${r.dataset} (${r.split})${r.edit.length ? `, edited (${r.edit.length} intervention${r.edit.length > 1 ? 's' : ''})` : ''}`];
  for (const c of r.summary) {
    if (!primary.has(`${c.task}/${c.metric}`) && c.metric !== 'object_count') continue;
    const cond = `${c.condition}${c.mode ? ` (${c.mode})` : ''}`;
    const spread = c.repetitions > 1 ? ` ± ${c.std.toFixed(4)} [${c.min.toFixed(4)}, ${c.max.toFixed(4)}] over ${c.repetitions}` : '';
    lines.push(`  ${cond.padEnd(28)} ${`${c.task} / ${c.metric}`.padEnd(30)} ${c.mean.toFixed(4)}${spread}`);
  }
  return lines.join('\n');
}

interface EvalSuiteArgs extends SuiteArgs { file: string }

export const evalSuiteCommand: AnyCommand = {
  command: 'suite <file>',
  describe: 'run an evaluation suite (eval/*.yaml) on a checkpoint, optionally edited; predictions + scores under --out',
  builder: (y: Argv) =>
    suiteOptions(y)
      .positional('file', { type: 'string', describe: 'suite YAML, e.g. eval/shapes-quick.yaml' })
      .option('edit', { type: 'string', describe: 'intervention spec JSON applied in every run (recorded in every output)' })
      .example('$0 eval suite eval/shapes-quick.yaml --checkpoint checkpoints/native-shapes --out runs/quick', 'captioning, VQA and classification scores')
      .example('$0 eval suite eval/shapes-quick.yaml --checkpoint ck --edit steer.json --out runs/steered --json', 'the same with an edit, as JSON'),
  handler: handler<EvalSuiteArgs>(async (a) => {
    const o = await suiteRunOptions(a, a.file, 'eval-suite');
    const r = await runSuite(o);
    emit(a, { out: o.out, suite: r.suite.name, checkpoint_sha256: r.sha256, n_images: r.nImages, edit: r.edit, summary: r.summary }, () => `${formatSuite(r)}\nwrote ${o.out}`);
  }),
};
