/** The numerical core of the geometry and attention analyses (E1-E5, E7): plain arrays in, plain values out. */
export * from './matrix.js';
export { knnExact, knnRecall, truncateNeighbours, type ExactKnnOptions } from './knn.js';
export { buildHnsw, hnswKnn, sampledRecall, saveHnsw, loadHnsw, fingerprint, type HnswIndex, type HnswBuildOptions } from './hnsw.js';
export { gride, twoNN, grideScaling, logRatios, type IdEstimate, type TwoNnOptions } from './intrinsic-dim.js';
export { knnLogDensity, logGamma, logUnitBallVolume, type DensityResult } from './density.js';
export { adp, adpFromNeighbours, adpFromDensity, type AdpResult, type AdpFullResult, type AdpOptions, type AdpCoreOptions, type Saddle } from './adp.js';
export { homogeneity, type HomogeneityResult } from './homogeneity.js';
export { modalityClusters, type ModalityClustersResult } from './modality-clusters.js';
export { modalityGap, crossCosines, quantilesInPlace, type GapResult } from './modality-gap.js';
export { neighbourhoodOverlap, overlapFromNeighbours, type OverlapResult, type OverlapReport, type OverlapOptions } from './overlap.js';
export { attentionFlow, flowSums, stackedShares, type PatternInput, type FlowResult, type StackedShares } from './attention-flow.js';
export { knockoutWindows, sweepCurve, type KnockoutWindow, type SweepPoint } from './knockout-sweep.js';
export { softmax, logitSimilarity, patchingSummary, type PatchPair, type PatchingSummary } from './similarity.js';
