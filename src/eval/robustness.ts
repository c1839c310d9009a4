/**
 * `narrowgate eval robustness` (E8): the same suite clean and edited on one checkpoint, side by side
 * per (condition, mode, task, metric), with delta = edited - clean (of the means over repetitions).
 * Output directory (atomic): OUT/clean/ and OUT/edited/ (each as `eval suite` writes it) and
 * OUT/robustness.json (the edit specs, and every row with clean, edited and delta).
 */
import { join } from 'node:path';
import type { InterventionSpec } from '../interventions/spec.js';
import { UserError } from '../util/errors.js';
import { writeDirAtomic, writeFileAtomic } from '../util/fs.js';
import type { KnockoutMode } from './suite-schema.js';
import { runSuiteVariants, writeSuiteFiles, type SuiteResult, type SuiteRunOptions } from './suite.js';

export interface RobustnessRow {
  condition: string;
  mode: KnockoutMode | null;
  task: string;
  metric: string;
  clean: number;
  edited: number;
  delta: number;
}

export interface RobustnessResult {
  edit: InterventionSpec[];
  clean: SuiteResult;
  edited: SuiteResult;
  rows: RobustnessRow[];
}

export type RobustnessOptions = SuiteRunOptions & { edit: string };

/** Pairs the summary cells of two results of the same suite; a metric present in only one is left out. */
export function robustnessRows(clean: SuiteResult, edited: SuiteResult): RobustnessRow[] {
  const key = (c: { condition: string; mode: string | null; task: string; metric: string }) => JSON.stringify([c.condition, c.mode, c.task, c.metric]);
  const e = new Map(edited.summary.map((c) => [key(c), c]));
  const rows: RobustnessRow[] = [];
  for (const c of clean.summary) {
    const x = e.get(key(c));
    if (!x) continue;
    rows.push({ condition: c.condition, mode: c.mode, task: c.task, metric: c.metric, clean: c.mean, edited: x.mean, delta: x.mean - c.mean });
  }
  return rows;
}

export async function runRobustness(o: RobustnessOptions): Promise<RobustnessResult> {
  if (!o.edit) throw new UserError('eval robustness needs --edit SPEC.json: the edit to compare against the clean model.');
  const [clean, edited] = await runSuiteVariants(o, [undefined, o.edit]);
  const result: RobustnessResult = { edit: edited!.edit, clean: clean!, edited: edited!, rows: robustnessRows(clean!, edited!) };
  if (o.out) {
    await writeDirAtomic(o.out, async (tmp) => {
      await writeSuiteFiles(join(tmp, 'clean'), clean!);
      await writeSuiteFiles(join(tmp, 'edited'), edited!);
      await writeFileAtomic(
        join(tmp, 'robustness.json'),
        JSON.stringify({ suite: clean!.suite.name, checkpoint: clean!.checkpoint, checkpoint_sha256: clean!.sha256, edit: result.edit, rows: result.rows }, null, 2) + '\n',
      );
    });
  }
  return result;
}

/** A plain-text side-by-side table (primary metrics and object counts unless `all`). */
export function formatRobustness(r: RobustnessResult, all = false): string {
  const primary = new Set(r.clean.runs.flatMap((run) => Object.values(run.tasks).map((t) => `${t.name}/${t.primary}`)));
  const rows = r.rows.filter((x) => all || primary.has(`${x.task}/${x.metric}`) || x.metric === 'object_count');
  const lines = ['condition        task / metric                     clean   edited    delta'];
  for (const x of rows) {
    const cond = `${x.condition}${x.mode ? ` (${x.mode})` : ''}`;
    lines.push(`${cond.padEnd(16)} ${`${x.task} / ${x.metric}`.padEnd(32)} ${x.clean.toFixed(4)} ${x.edited.toFixed(4)} ${(x.delta >= 0 ? '+' : '') + x.delta.toFixed(4)}`);
  }
  return lines.join('\n');
}
