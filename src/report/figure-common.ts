/** Shared pieces of the figure builders: the figure record, the spec skeleton, labels and ordering. */
import { BASE_CONFIG, type VlSpec } from './render.js';
import type { ModelResults, ResultsDoc } from './results.js';

export const VL_SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

export interface Figure {
  /** File stem: figures/<id>.png and figures/<id>.vl.json. */
  id: string;
  experiment: string;
  title: string;
  /** One sentence saying how to read the figure (not what it shows: that is the narrative's job). */
  caption: string;
  spec: VlSpec;
}

/** The skeleton every figure shares: schema, title, inline data, house config. */
export function baseSpec(title: string, values: object[], rest: VlSpec): VlSpec {
  return { $schema: VL_SCHEMA, title, data: { values }, config: BASE_CONFIG, ...rest };
}

/** One colour per model, in document order, the same in every figure. */
export function modelColor(doc: ResultsDoc, title = 'model'): VlSpec {
  return { field: 'model', type: 'nominal', title, scale: { domain: doc.models.map((m) => m.name) } };
}

export function modelColumn(doc: ResultsDoc): VlSpec {
  return { field: 'model', type: 'nominal', title: null, sort: doc.models.map((m) => m.name), header: { labelFontWeight: 'bold' } };
}

export const DEPTH_X: VlSpec = { field: 'depth', type: 'quantitative', title: 'depth (layer / (L - 1))', scale: { domain: [0, 1] } };

/** Models that carry a section (and did not fail it), paired with it. */
export function withSection<K extends 'e1' | 'e2' | 'e3' | 'e4' | 'e5' | 'e6' | 'e7' | 'e8'>(
  doc: ResultsDoc,
  key: K,
): { m: ModelResults; s: NonNullable<ModelResults[K]> }[] {
  const out: { m: ModelResults; s: NonNullable<ModelResults[K]> }[] = [];
  for (const m of doc.models) {
    const s = m[key];
    if (s && !m.errors?.[key]) out.push({ m, s: s as NonNullable<ModelResults[K]> });
  }
  return out;
}

/** Human names of the E6 conditions, in the paper's column order. */
export const CONDITION_LABELS: Record<string, string> = {
  none: 'none',
  eoi: '[EOI]',
  'last-image': 'last image',
  'random-image:10': '10 random image tokens',
  'image-to-text': 'image->text',
};

export function conditionLabel(c: string): string {
  return CONDITION_LABELS[c] ?? c;
}

export function conditionOrder(conditions: Iterable<string>): string[] {
  const known = Object.keys(CONDITION_LABELS);
  const list = [...new Set(conditions)];
  return list.sort((a, b) => rank(known, a) - rank(known, b)).map(conditionLabel);
}

function rank(order: string[], x: string): number {
  const i = order.indexOf(x);
  return i < 0 ? order.length : i;
}

/** E3 / E4 position labels: [EOI], last image, single positions (pos N, by N), the rest. */
export function positionRank(label: string): number {
  if (label === '[EOI]') return 0;
  if (label === 'last image') return 1;
  const pos = /^pos (\d+)$/.exec(label);
  if (pos) return 2 + Number(pos[1]) / 1e6;
  if (label === 'mean image') return 3;
  if (label === 'internal image') return 4;
  return 5;
}

export function sortedLabels(labels: Iterable<string>): string[] {
  return [...new Set(labels)].sort((a, b) => positionRank(a) - positionRank(b) || a.localeCompare(b));
}

export function isNum(x: number | null | undefined): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}
