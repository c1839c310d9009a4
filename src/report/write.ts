/**
 * Writing a report directory: results.json, figures/<id>.png and figures/<id>.vl.json, report.html.
 * The figures folder is built under a temporary name and swapped in whole; results.json and
 * report.html are written atomically (report.html last, so a complete page means complete figures).
 */
import { join } from 'node:path';
import { buildFigures } from './figures.js';
import { reportHtml, type RenderedFigure } from './html.js';
import { narrate, type ModelNarrative } from './narrative.js';
import { renderFigure } from './render.js';
import { loadResults, validateResults, type ResultsDoc } from './results.js';
import { writeDirAtomic, writeFileAtomic } from '../util/fs.js';
import { noProgress, type ProgressFactory } from '../util/progress.js';

export interface WriteReportOptions {
  /** Write results.json too (false when rebuilding from it). Default true. */
  writeResults?: boolean;
  /** PNG scale relative to the SVG's nominal size. Default 2. */
  scale?: number;
  progress?: ProgressFactory;
}

export interface ReportSummary {
  outDir: string;
  html: string;
  results: string;
  figures: { id: string; experiment: string; png: string; spec: string; bytes: number }[];
  narrative: ModelNarrative[];
}

/** Renders every figure of `doc` and writes the report files under `outDir`. */
export async function writeReport(doc: ResultsDoc | Record<string, unknown>, outDir: string, opts: WriteReportOptions = {}): Promise<ReportSummary> {
  // A JSON round trip first: NaN and Infinity (undefined measurements) become null, as they would in
  // results.json, and extra fields a runner recorded are kept in the written file.
  const plain = JSON.parse(JSON.stringify(doc)) as unknown;
  const checked = validateResults(plain, 'results document');
  const figures = buildFigures(checked);
  const progress = (opts.progress ?? noProgress)('report figures', figures.length, 'fig');
  const rendered: RenderedFigure[] = [];
  for (const figure of figures) {
    const { png } = await renderFigure(figure.spec, opts.scale ?? 2);
    rendered.push({ figure, png });
    progress.tick(1, figure.id);
  }
  progress.done();
  const figDir = join(outDir, 'figures');
  await writeDirAtomic(figDir, async (tmp) => {
    for (const r of rendered) {
      await writeFileAtomic(join(tmp, `${r.figure.id}.png`), r.png);
      await writeFileAtomic(join(tmp, `${r.figure.id}.vl.json`), JSON.stringify(r.figure.spec, null, 2) + '\n');
    }
  });
  const results = join(outDir, 'results.json');
  if (opts.writeResults !== false) await writeFileAtomic(results, JSON.stringify(plain, null, 1) + '\n');
  const narrative = narrate(checked);
  const html = join(outDir, 'report.html');
  await writeFileAtomic(html, reportHtml(checked, rendered, narrative));
  return {
    outDir,
    html,
    results,
    figures: rendered.map((r) => ({
      id: r.figure.id,
      experiment: r.figure.experiment,
      png: join(figDir, `${r.figure.id}.png`),
      spec: join(figDir, `${r.figure.id}.vl.json`),
      bytes: r.png.length,
    })),
    narrative,
  };
}

/** `narrowgate report RUN_DIR`: rebuilds report.html and figures/ from RUN_DIR/results.json. */
export async function rebuildReport(runDir: string, opts: Omit<WriteReportOptions, 'writeResults'> = {}): Promise<ReportSummary> {
  const doc = await loadResults(join(runDir, 'results.json'));
  return writeReport(doc, runDir, { ...opts, writeResults: false });
}
