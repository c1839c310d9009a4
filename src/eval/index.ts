/**
 * Evaluation suites, robustness after edits (E8) and the knockout table (E6): the library side of
 * `narrowgate eval suite`, `narrowgate eval robustness` and `narrowgate knockout`.
 *
 *   loadSuite(path) -> Suite                     parseSuiteText(yaml, source) -> Suite
 *   runSuite({checkpoint, suite, edit?, data?, conditions?, modes?, repetitions?, limit?, out?, progress?}) -> SuiteResult
 *   runRobustness({...same, edit}) -> {edit, clean, edited, rows: [{condition, mode, task, metric, clean, edited, delta}]}
 *   runKnockoutTable({...same}) -> {conditions, modes, rows, cells: [{condition, mode, task, metric, mean, std, min, max, specs, ...}], suite}
 *   conditionSpecs(condition, mode) -> KnockoutSpec[]   formatKnockoutTable(t) -> markdown
 */
export { loadSuite, parseSuite, parseSuiteText, fillPrompt, CONDITION_NAMES, KNOCKOUT_MODES, type Suite, type SuiteTask, type KnockoutMode } from './suite-schema.js';
export { conditionSpecs, planRuns, summarize, type ConditionRun, type PlannedRun, type SummaryCell } from './run.js';
export { PRIMARY_METRIC, type TaskResult, type ClassificationResult } from './tasks.js';
export { scoreShapesCaptions, type SlotScores } from './shapes-slots.js';
export { runSuite, runSuiteVariants, writeSuiteFiles, scoresDoc, suiteImages, type SuiteRunOptions, type SuiteResult } from './suite.js';
export { runRobustness, robustnessRows, formatRobustness, type RobustnessOptions, type RobustnessResult, type RobustnessRow } from './robustness.js';
export { runKnockoutTable, knockoutTable, knockoutDoc, formatKnockoutTable, E6_CONDITIONS, type KnockoutCell, type KnockoutTableResult, type KnockoutOptions } from './knockout-table.js';
