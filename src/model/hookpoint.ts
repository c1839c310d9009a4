/**
 * HookPoint: one named site in the forward pass. Its name is built from the parent module's path
 * (e.g. "blocks.3.attn" + "hook_pattern"), so a name is never typed in two places. Hooks are not
 * stored on the HookPoint: each forward call carries its own table (name -> hook functions), so a
 * registration lives exactly as long as one run, and a HookPoint whose name is not in the table
 * returns its input untouched (no allocation, no context object).
 */
import type * as tf from '@tensorflow/tfjs';
import type { HookFn } from '../hooks/types.js';
import type { Spans } from './spans.js';

export type HookTable = ReadonlyMap<string, readonly HookFn[]>;

/** What a HookPoint needs from the current run. */
export interface HookRun {
  hooks?: HookTable;
  /** Absolute position of the first query row (the number of cached positions). */
  offset: number;
  spans?: Spans[];
}

export function joinPath(prefix: string, name: string): string {
  return prefix ? `${prefix}.${name}` : name;
}

export class HookPoint {
  constructor(
    readonly name: string,
    readonly layer: number | null,
  ) {}

  /** Runs the hooks registered under this name in `run` (in order); a returned tensor replaces the activation. */
  run(act: tf.Tensor, run: HookRun): tf.Tensor {
    const fns = run.hooks?.get(this.name);
    if (!fns || fns.length === 0) return act;
    for (const fn of fns) {
      const out = fn(act, { name: this.name, layer: this.layer, offset: run.offset, spans: run.spans });
      if (out) {
        if (out.shape.length !== act.shape.length || out.shape.some((d, i) => d !== act.shape[i])) {
          throw new Error(`hook on ${this.name} returned shape [${out.shape}] for an activation of shape [${act.shape}]`);
        }
        // a clone, so that a tensor the hook's owner keeps is never handed on (and disposed) as ours
        act = out === act ? act : out.clone();
      }
    }
    return act;
  }
}

/** Builds hook points named `${prefix}.${local}` for each local name, in the given order. */
export function hookPoints<K extends string>(prefix: string, layer: number | null, locals: Record<K, string>): Record<K, HookPoint> {
  const out = {} as Record<K, HookPoint>;
  for (const key of Object.keys(locals) as K[]) out[key] = new HookPoint(joinPath(prefix, locals[key]), layer);
  return out;
}

/** Edit distance (for "did you mean" suggestions). */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j] as number;
      prev[j] = Math.min((prev[j] as number) + 1, (prev[j - 1] as number) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length] as number;
}

/** Up to `k` known names closest to `name`. */
export function closeMatches(name: string, known: readonly string[], k = 3): string[] {
  return known
    .map((n) => ({ n, d: editDistance(name, n) }))
    .sort((x, y) => x.d - y.d || x.n.localeCompare(y.n))
    .slice(0, k)
    .map((x) => x.n);
}
