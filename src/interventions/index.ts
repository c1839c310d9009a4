/**
 * Interventions (DESIGN.md sections 4 and 6): position selectors, intervention specs as data,
 * compile(specs, model) -> hooks, activation extraction into the store, and the checkpoint pipeline
 * behind `narrowgate generate` / `narrowgate extract`.
 *
 *   resolve('@eoi', spans, {generatedLength?, seed?, exampleId?}) -> number[]
 *   parseInterventions(json, source?) -> InterventionSpec[]     serializeInterventions(specs) -> string
 *   await compile(specs, model, {donors?, baseDir?, seed?, exampleIds?}) -> NamedHook[]
 *   await extractActivations(model, examples, {hooks, layers, positions, interventions?}, writer)
 */
export * from './selectors.js';
export * from './spec.js';
export { compile, imageDonorKey, type CompileEnv, type DonorRun } from './compile.js';
export { extractActivations, planExtraction, type ExtractExample, type ExtractOptions, type ExtractPlan } from './extract.js';
export { joinHookName, splitHookName, resolveHookAlias, storeHookNames } from './hooknames.js';
export { parseNpy, readVectorFile, classMeanDifference, meanTable } from './vectors.js';
export { loadPipeline, imageTensors, type Pipeline, type PipelineItem, type RawPixels } from './pipeline.js';
export { extractDataset, generateWithEdit, readSpecFile, runImageDonors, type ExtractRunOptions, type GenerateEditOptions } from './commands.js';
