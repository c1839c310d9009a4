/**
 * E2 for one layer: the 2N vectors (N text, N image) are clustered together by ADP (cosine distance,
 * k = 16, Z = 1.65, ID by Gride(8,16): the paper's revision) and the clusters are scored by their
 * homogeneity with respect to modality: 1 when no cluster mixes text and image, 0 when the clusters
 * ignore modality.
 */
import { UserError } from '../util/errors.js';
import { adp, type AdpOptions } from './adp.js';
import { homogeneity } from './homogeneity.js';
import { checkMatrix, type Matrix, type Metric } from './matrix.js';

export interface ModalityClustersResult {
  homogeneity: number;
  nClusters: number;
  /** Intrinsic dimension used for the density (in the chosen metric's units: see adp()). */
  id: number;
  /** Cluster of each vector: text rows first (0..N-1), then image rows. */
  labels: Int32Array;
  /** Per cluster: how many text and image vectors it holds. */
  composition: { text: number; image: number }[];
}

export async function modalityClusters(text: Matrix, image: Matrix, opts: AdpOptions & { metric?: Metric; maxk?: number } = {}): Promise<ModalityClustersResult> {
  checkMatrix(text, 'E2 text');
  checkMatrix(image, 'E2 image');
  if (text.d !== image.d) throw new UserError(`E2: text and image vectors must have the same width, got ${text.d} and ${image.d}.`);
  const data = new Float32Array(text.data.length + image.data.length);
  data.set(text.data, 0);
  data.set(image.data, text.data.length);
  const r = await adp({ data, n: text.n + image.n, d: text.d }, { metric: 'cosine', ...opts });
  const modality = Array.from({ length: text.n + image.n }, (_, i) => (i < text.n ? 0 : 1));
  const composition = Array.from({ length: r.nClusters }, () => ({ text: 0, image: 0 }));
  r.labels.forEach((c, i) => {
    if (c >= 0) composition[c]![i < text.n ? 'text' : 'image']++;
  });
  return { homogeneity: homogeneity(modality, r.labels).homogeneity, nClusters: r.nClusters, id: r.id, labels: r.labels, composition };
}
