/**
 * Training API.
 *   loadRecipe(path, sets?) -> LoadedRecipe            recipes/*.yaml with `extends` and --set overrides
 *   train(loaded, {out, resume?, workers?, stopAfter?, progress?, note?})
 *                                                      runs the recipe's task into the run directory
 *   AdamW / clipByGlobalNorm / GradAccumulator / learningRate   the optimizer pieces
 *   lossAndGrads / evalBatch / toStepBatch             one micro-batch of compute (plain-array batches)
 *   createStepRunner                                   the same over N replicas (worker threads, parallel.ts)
 *   ship({run, name, suite?, into?, dtype?, command?, force?}) -> {dir, doc}   a finished run -> checkpoints/NAME (ship.ts)
 * Run directory layout: checkpointing.ts.
 */
import type { LoadedRecipe } from './recipe.js';
import { trainVlm, type TrainOptions, type TrainResult } from './trainer.js';
import { trainImageTokenizer } from './vq.js';

export { loadRecipe, parseSet, recipeToYaml, validateRecipe, imageTokens, type LoadedRecipe, type Recipe } from './recipe.js';
export { RecipeSchema, checkRecipe } from './recipe-schema.js';
export { AdamW, clipByGlobalNorm, globalNorm, GradAccumulator, type TrainableParam, type Grads, type OptimizerState } from './optimizer.js';
export { learningRate, type ScheduleConfig } from './schedule.js';
export { MixtureSampler, buildPools, makeBatch, CAPTION_PROMPT, SOURCES, type SourceKind, type Item } from './batches.js';
export { lossAndGrads, evalBatch, toStepBatch, type StepBatch } from './step.js';
export { modelConfig, trainableParams, initFromCheckpoint, compileTrainingKnockouts } from './model-setup.js';
export { latestCheckpoint, stepDirName, type TrainerState } from './checkpointing.js';
export { createStepRunner, type StepRunner } from './parallel.js';
export type { TrainOptions, TrainResult, ValMetrics } from './trainer.js';
export { ship, runProvenance, type ShipOptions, type Provenance } from './ship.js';
export type { ShipDoc } from './ship-card.js';

/** Runs a recipe: the image tokenizer task or the training of a (vision-)language model. */
export async function train(loaded: LoadedRecipe, opts: TrainOptions): Promise<TrainResult> {
  return loaded.recipe.task === 'image_tokenizer' ? trainImageTokenizer(loaded, opts) : trainVlm(loaded, opts);
}
