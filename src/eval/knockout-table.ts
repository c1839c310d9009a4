/**
 * `narrowgate knockout` (E6, the paper's Table 1): a suite's tasks under the conditions none, eoi,
 * last-image, random-image:10 (averaged over repetitions, spread reported) and image-to-text, in both
 * knockout modes (zero: post-softmax zeroing as the paper; renormalize: blocked before the softmax).
 * The table holds one cell per condition x mode x task row; a row is each task's primary metric
 * (CIDEr-D, VQA accuracy, classification accuracy) and, where the task has it, object_count (shapes:
 * count questions, or the count a caption states). The none condition has no mode: it is run once and
 * its cell appears under each mode with no specs. Output directory (atomic): the suite files of every
 * run (as `eval suite` writes them), OUT/knockout.json (cells with mode and specs) and OUT/knockout.md.
 */
import { join } from 'node:path';
import type { InterventionSpec } from '../interventions/spec.js';
import { writeDirAtomic, writeFileAtomic } from '../util/fs.js';
import { KNOCKOUT_MODES, type KnockoutMode } from './suite-schema.js';
import { runSuiteVariants, writeSuiteFiles, type SuiteResult, type SuiteRunOptions } from './suite.js';

export const E6_CONDITIONS = ['none', 'eoi', 'last-image', 'random-image:10', 'image-to-text'] as const;

export interface KnockoutCell {
  condition: string;
  mode: KnockoutMode;
  /** Whether anything was knocked out (false for none). */
  knockout: boolean;
  task: string;
  metric: string;
  mean: number;
  std: number;
  min: number;
  max: number;
  repetitions: number;
  /** Specs of the cell's runs (a random-image condition's repetitions differ only in seed). */
  specs: InterventionSpec[];
  seeds: number[];
}

export interface KnockoutTableResult {
  conditions: string[];
  modes: KnockoutMode[];
  rows: { task: string; metric: string }[];
  cells: KnockoutCell[];
  suite: SuiteResult;
}

export type KnockoutOptions = SuiteRunOptions;

/** Builds the table from a suite result whose runs cover the conditions and modes. */
export function knockoutTable(r: SuiteResult): KnockoutTableResult {
  const conditions = [...new Set(r.suite.conditions)];
  const modes = [...new Set(r.suite.modes)];
  const rows: { task: string; metric: string }[] = [];
  for (const t of r.suite.tasks) {
    const any = r.runs.find((run) => run.tasks[t.name]);
    const tr = any?.tasks[t.name];
    if (!tr) continue;
    rows.push({ task: t.name, metric: tr.primary });
    if (tr.metrics.object_count !== undefined) rows.push({ task: t.name, metric: 'object_count' });
  }
  const cells: KnockoutCell[] = [];
  for (const mode of modes) {
    for (const condition of conditions) {
      const cellMode = condition === 'none' ? null : mode;
      const runs = r.runs.filter((x) => x.condition === condition && x.mode === cellMode);
      for (const row of rows) {
        const s = r.summary.find((c) => c.condition === condition && c.mode === cellMode && c.task === row.task && c.metric === row.metric);
        if (!s) continue;
        cells.push({
          condition, mode, knockout: condition !== 'none', task: row.task, metric: row.metric,
          mean: s.mean, std: s.std, min: s.min, max: s.max, repetitions: s.repetitions,
          specs: runs[0]?.specs ?? [], seeds: runs.map((x) => x.seed),
        });
      }
    }
  }
  return { conditions, modes, rows, cells, suite: r };
}

/** Runs the E6 table: the suite under `conditions` (default E6_CONDITIONS) x `modes` (default both). */
export async function runKnockoutTable(o: KnockoutOptions): Promise<KnockoutTableResult> {
  const [r] = await runSuiteVariants({ ...o, conditions: o.conditions ?? [...E6_CONDITIONS], modes: o.modes ?? [...KNOCKOUT_MODES] }, [o.edit]);
  const table = knockoutTable(r!);
  if (o.out) {
    await writeDirAtomic(o.out, async (tmp) => {
      await writeSuiteFiles(tmp, r!);
      await writeFileAtomic(join(tmp, 'knockout.json'), JSON.stringify(knockoutDoc(table), null, 2) + '\n');
      await writeFileAtomic(join(tmp, 'knockout.md'), formatKnockoutTable(table) + '\n');
    });
  }
  return table;
}

/** The knockout.json document (the table without the suite's predictions). */
export function knockoutDoc(t: KnockoutTableResult) {
  const s = t.suite;
  return {
    experiment: 'E6', suite: s.suite.name, checkpoint: s.checkpoint, checkpoint_sha256: s.sha256, dataset: s.dataset, split: s.split,
    n_images: s.nImages, decoding: s.suite.decoding, repetitions: s.suite.repetitions, seed: s.suite.seed, edit: s.edit,
    conditions: t.conditions, modes: t.modes, rows: t.rows, cells: t.cells,
  };
}

function fmt(c: KnockoutCell): string {
  return c.repetitions > 1 ? `${c.mean.toFixed(3)} ± ${c.std.toFixed(3)} [${c.min.toFixed(3)}, ${c.max.toFixed(3)}]` : c.mean.toFixed(3);
}

/** Markdown: one table per mode, rows = task / metric, columns = conditions. */
export function formatKnockoutTable(t: KnockoutTableResult): string {
  const out: string[] = [];
  for (const mode of t.modes) {
    const what = mode === 'zero' ? 'post-softmax zeroing, no renormalisation (the paper)' : 'blocked before the softmax (renormalised)';
    out.push(`### Knockout mode ${mode}: ${what}`, '', `| task / metric | ${t.conditions.join(' | ')} |`, `|---|${t.conditions.map(() => '---').join('|')}|`);
    for (const row of t.rows) {
      const vals = t.conditions.map((c) => {
        const cell = t.cells.find((x) => x.mode === mode && x.condition === c && x.task === row.task && x.metric === row.metric);
        return cell ? fmt(cell) : '-';
      });
      out.push(`| ${row.task} / ${row.metric} | ${vals.join(' | ')} |`);
    }
    out.push('');
  }
  const s = t.suite;
  out.push(`${s.nImages} images of ${s.dataset} (${s.split}), greedy decoding; random-image:N: mean ± sample std [min, max] over ${s.suite.repetitions} seeded repetitions.`);
  return out.join('\n');
}
