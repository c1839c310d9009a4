/**
 * The experiment runners behind `narrowgate analyze`, `narrowgate patch` and `narrowgate steer`
 * (EXPERIMENTS.md E1-E5, E7, E8): each opens a checkpoint and a dataset, runs the model, hands the
 * vectors to src/analysis, and returns (and with `out`, writes) a results document in src/report's
 * shape plus the figure data.
 */
export * from './common.js';
export { runModalityGap, clusterLayer, captionThenImage, type ModalityGapOptions, type ModalityGapResult, type ModalityGapLayer } from './modality-gap.js';
export { runAttentionFlow, attentionRecords, type AttentionOptions, type AttentionResult } from './attention.js';
export { runOverlap, overlapWithIndex, attentionOutliers, type OverlapRunOptions, type OverlapRunResult, type OverlapRecord } from './overlap.js';
export { runProgressiveKnockout, edgeSetSpecs, EDGE_SETS, type EdgeSet, type ProgressiveKnockoutOptions, type ProgressiveKnockoutResult, type ProgressiveRecord } from './progressive-knockout.js';
export { runPatching, patchSpecs, PATCH_VARIANTS, DEFAULT_PROMPTS, type PatchVariant, type PatchingOptions, type PatchingResult, type PatchingRecord } from './patching.js';
export { steeringVectors, steerSpec, namesClass, classPair, sideEffectAccuracy, generateTexts, generateOutputs, type SteerOp, type SteerSource } from './steering.js';
export { meanLogProb, logProb } from './fluency.js';
export { runSteering, runSteeringSweep, type SteeringOptions, type SteeringResult, type SweepOptions, type SweepResult, type SweepRecord } from './steer-run.js';
