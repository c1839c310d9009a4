/**
 * Homogeneity of a clustering with respect to a labelling (E2: label = modality):
 *   h = 1 - H(label | cluster) / H(label),
 * natural logarithms (the base cancels), as sklearn.metrics.homogeneity_score; like sklearn, a single
 * label (H(label) = 0) gives 1. Cluster ids are opaque: -1 (ADP halo) is one more cluster.
 */
import { UserError } from '../util/errors.js';
import { classIds } from './matrix.js';

export interface HomogeneityResult {
  homogeneity: number;
  /** H(label) and H(label | cluster), in nats. */
  hLabel: number;
  hLabelGivenCluster: number;
  nClusters: number;
}

function entropyOf(counts: Iterable<number>, total: number): number {
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / total) * Math.log(c / total);
  return h;
}

export function homogeneity(labels: ArrayLike<number | string>, clusters: ArrayLike<number>): HomogeneityResult {
  const n = labels.length;
  if (clusters.length !== n) throw new UserError(`homogeneity: expected one cluster per label (${n}), got ${clusters.length}.`);
  if (n === 0) throw new UserError('homogeneity: needs at least one point.');
  const lab = classIds(labels).ids;
  const perCluster = new Map<number, Map<number, number>>();
  const perLabel = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const c = clusters[i] as number;
    const l = lab[i] as number;
    perLabel.set(l, (perLabel.get(l) ?? 0) + 1);
    let m = perCluster.get(c);
    if (!m) perCluster.set(c, (m = new Map()));
    m.set(l, (m.get(l) ?? 0) + 1);
  }
  const hLabel = entropyOf(perLabel.values(), n);
  let hCond = 0;
  for (const m of perCluster.values()) {
    let size = 0;
    for (const c of m.values()) size += c;
    hCond += (size / n) * entropyOf(m.values(), size);
  }
  const h = hLabel === 0 ? 1 : Math.min(1, Math.max(0, 1 - hCond / hLabel));
  return { homogeneity: h, hLabel, hLabelGivenCluster: hCond, nClusters: perCluster.size };
}
