/** Every figure of the report, in the paper's order; a figure appears only when some model has its data. */
import type { Figure } from './figure-common.js';
import { e1Figure, e2Figure, e3Figure, e4Figure } from './figures-geometry.js';
import { e5Figure, e6Figure, e7Figure, e8Figure, e8RobustnessFigure, e9Figure } from './figures-effects.js';
import type { ResultsDoc } from './results.js';

export type { Figure } from './figure-common.js';
export { e1Figure, e2Figure, e3Figure, e4Figure } from './figures-geometry.js';
export { e5Figure, e6Figure, e7Figure, e8Figure, e8RobustnessFigure, e9Figure } from './figures-effects.js';

export const FIGURE_BUILDERS: ((doc: ResultsDoc) => Figure | null)[] = [
  e1Figure,
  e2Figure,
  e3Figure,
  e4Figure,
  e5Figure,
  e6Figure,
  e7Figure,
  e8Figure,
  e8RobustnessFigure,
  e9Figure,
];

export function buildFigures(doc: ResultsDoc): Figure[] {
  return FIGURE_BUILDERS.map((b) => b(doc)).filter((f): f is Figure => f !== null);
}
