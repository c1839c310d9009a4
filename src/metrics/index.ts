/** Metrics on plain strings, records and numbers (no tensors): captioning, VQA, classification. */
export { cider, ciderD, ciderPlain, type CiderOptions, type CorpusScore } from './cider.js';
export { NgramIndex, pySplit, type CookedCaption, type OrderCounts } from './ngrams.js';
export { bleu, type BleuResult } from './bleu.js';
export { rougeL, rougeLSentence, lcsLength } from './rouge.js';
export { ptbTokenize, ptbRawTokens, whitespaceTokenize, tokenizeCaption, TOKENIZATIONS, type Tokenization } from './tokenize.js';
export {
  evaluateCaptions, evaluateCocoCaptions, alignCaptions, CAPTION_METRICS,
  type CaptionEvaluation, type CaptionMetric, type CaptionScores, type AlignedCaptions,
} from './caption.js';
export {
  evaluateVqa, vqaQuestionAccuracy, officialPercentages, pyRound,
  type VqaEvaluation, type VqaQuestionScore, type VqaPercentages,
} from './vqa.js';
export { processPunctuation, processDigitArticle, normalizeAnswer, normalizeWhitespace } from './vqa-normalize.js';
export {
  parseCaptionResults, parseCaptionAnnotations, parseVqaResults, parseVqaAnnotations, parseVqaQuestions,
  describeIds, type Id, type CaptionResult, type CaptionAnnotations, type VqaAnnotation, type VqaResult, type VqaQuestion,
} from './formats.js';
export { classificationAccuracy, probabilitySimilarity } from './classification.js';
export { npMean, npSum, pySum } from './sums.js';
