/**
 * E5 bookkeeping: the progressive knockout acts on the last w layers, w = 0, step, 2 step, ..., L
 * (L always included), and each window is read out as chi^{out,gt} of the final-layer vector.
 */
import { UserError } from '../util/errors.js';

export interface KnockoutWindow {
  /** Number of knocked-out layers (the last w). */
  w: number;
  /** The layers knocked out: L - w .. L - 1 (empty for w = 0). */
  layers: number[];
}

export function knockoutWindows(numLayers: number, step = 1): KnockoutWindow[] {
  if (!(Number.isInteger(numLayers) && numLayers >= 1)) throw new UserError(`knockout sweep: the number of layers must be a positive integer, got ${numLayers}.`);
  if (!(Number.isInteger(step) && step >= 1)) throw new UserError(`knockout sweep: step must be a positive integer, got ${step}.`);
  const ws: number[] = [];
  for (let w = 0; w < numLayers; w += step) ws.push(w);
  ws.push(numLayers);
  return ws.map((w) => ({ w, layers: Array.from({ length: w }, (_, i) => numLayers - w + i) }));
}

export interface SweepPoint {
  w: number;
  /** w / L: the knocked-out fraction of the depth, for plots across models of different depth. */
  fraction: number;
  value: number;
}

/** Pairs each window with its measured value (one per window, in the same order). */
export function sweepCurve(numLayers: number, windows: KnockoutWindow[], values: ArrayLike<number>): SweepPoint[] {
  if (values.length !== windows.length) throw new UserError(`knockout sweep: expected one value per window (${windows.length}), got ${values.length}.`);
  return windows.map((win, i) => ({ w: win.w, fraction: win.w / numLayers, value: values[i] as number }));
}
