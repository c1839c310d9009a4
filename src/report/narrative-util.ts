/**
 * The thresholds behind the report's sentences and the small formatting helpers they share. Every
 * sentence that applies a threshold states it, so a reader can disagree with the cut and still use
 * the numbers.
 */

export const THRESHOLDS = {
  /** Relative drop at or above which a task metric "collapses". */
  collapse: 0.5,
  /** Relative change below which a metric "barely changes". */
  change: 0.1,
  /** Median cross-modal cosine above which text and image vectors are called mixed (E1). */
  gapCosine: 0.1,
  /** Cluster homogeneity at or above which clusters separate the modalities (E2). */
  homogeneity: 0.9,
  /** Share of text->image attention above which one position takes "most" of it (E3). */
  majority: 0.5,
  /** Overlap above this multiple of chance counts as carrying the labels (E4). */
  overlapOverChance: 2,
  /** Flip accuracy / steering success at or above which "most" pairs or generations change (E7, E8). */
  success: 0.5,
};

export function f2(x: number): string {
  return Math.abs(x) < 0.005 && x !== 0 ? x.toPrecision(2) : x.toFixed(2);
}

export function pct(x: number): string {
  return `${(x * 100).toFixed(Math.abs(x) < 0.1 ? 1 : 0)}%`;
}

export function signedPct(x: number): string {
  const p = Math.round(x * 100);
  return `${p > 0 ? '+' : p < 0 ? '-' : '±'}${Math.abs(p)}%`;
}

/**
 * "from A to B (-94%; a drop of 50% or more): <noun> collapses." The relative change is taken
 * against |A|; with A = 0 the change is stated in absolute terms.
 */
export function changeClause(before: number, after: number, noun: string): string {
  if (before === 0) {
    const d = after - before;
    return `from ${f2(before)} to ${f2(after)} (an absolute change of ${f2(d)}; no relative change can be taken from 0)`;
  }
  // The verdict uses the whole percent the sentence shows, so the number and the verdict never disagree.
  const rel = Math.round(((after - before) / Math.abs(before)) * 100) / 100;
  const head = `from ${f2(before)} to ${f2(after)} (${signedPct(rel)}`;
  const c = THRESHOLDS.collapse * 100, ch = THRESHOLDS.change * 100;
  if (rel <= -THRESHOLDS.collapse) return `${head}; a drop of ${c}% or more): ${noun} collapses`;
  if (rel <= -THRESHOLDS.change) return `${head}; a drop of ${ch}-${c}%): ${noun} degrades but does not collapse`;
  if (rel < THRESHOLDS.change) return `${head}; a change under ${ch}%): no collapse`;
  return `${head}; a rise of ${ch}% or more): ${noun} improves`;
}

/** The value with the largest `key`, and its record (ties: the first). */
export function argmax<T>(items: T[], key: (t: T) => number | null | undefined): { item: T; value: number } | null {
  let best: { item: T; value: number } | null = null;
  for (const it of items) {
    const v = key(it);
    if (typeof v === 'number' && Number.isFinite(v) && (best === null || v > best.value)) best = { item: it, value: v };
  }
  return best;
}

export function argmin<T>(items: T[], key: (t: T) => number | null | undefined): { item: T; value: number } | null {
  const r = argmax(items, (t) => {
    const v = key(t);
    return typeof v === 'number' ? -v : v;
  });
  return r && { item: r.item, value: -r.value };
}

export function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/** What a task does, as the subject of "... collapses". */
export function taskNoun(task: string, taskType: string | undefined, metric: string): string {
  if (metric === 'object_count') return 'object counting';
  if (taskType === 'captioning') return 'captioning';
  if (taskType === 'vqa') return 'question answering';
  if (taskType === 'classification') return 'classification';
  return task;
}
