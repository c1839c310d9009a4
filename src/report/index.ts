/**
 * The report: a typed results document (results.json) -> vega-lite figures -> SVG (headless vega)
 * -> PNG (sharp), generated sentences, and one self-contained report.html.
 *
 *   validateResults(doc, source) / loadResults(path) -> ResultsDoc   (UserError naming the bad field)
 *   buildFigures(doc) -> Figure[]        one vega-lite spec per figure (e1Figure ... e9Figure)
 *   renderSvg(spec) / svgToPng(svg) / renderFigure(spec) -> { svg, png }
 *   narrate(doc) -> ModelNarrative[]     sentences from the numbers, thresholds stated (THRESHOLDS)
 *   reportHtml(doc, rendered, narrative) -> string
 *   writeReport(doc, outDir, opts) / rebuildReport(runDir, opts) -> ReportSummary
 */
export * from './results.js'; // validateResults, loadResults, mergeResults, depthOf, types
export { buildFigures, FIGURE_BUILDERS, e1Figure, e2Figure, e3Figure, e4Figure, e5Figure, e6Figure, e7Figure, e8Figure, e8RobustnessFigure, e9Figure, type Figure } from './figures.js';
export { renderSvg, svgToPng, renderFigure, BASE_CONFIG, type VlSpec } from './render.js';
export { narrate, finetuneSentences, EXPERIMENT_TITLES, THRESHOLDS, type ModelNarrative, type NarrativeItem } from './narrative.js';
export { reportHtml, knockoutTableHtml, type RenderedFigure } from './html.js';
export { writeReport, rebuildReport, type WriteReportOptions, type ReportSummary } from './write.js';
