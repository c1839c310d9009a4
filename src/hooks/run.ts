/**
 * Temporary hooks (TransformerLens' run_with_hooks / run_with_cache). Hooks live for one call: they
 * are handed to the model's forward as a per-call table and are gone when it returns or throws, so
 * no registration can outlive the run. Unknown hook names are a UserError listing close matches.
 */
import * as tf from '@tensorflow/tfjs';
import type { ForwardOptions, ModelInput, VLModel } from '../model/model.js';
import { closeMatches } from '../model/hookpoint.js';
import { UserError } from '../util/errors.js';
import type { HookContext, NamedHook } from './types.js';

export type RunOptions = Omit<ForwardOptions, 'hooks'>;

/** One forward pass with `hooks` active; returns the logits (owned by the caller). */
export function runWithHooks(model: VLModel, input: ModelInput, hooks: readonly NamedHook[], opts: RunOptions = {}): tf.Tensor {
  return model.forward(input, { ...opts, hooks });
}

/** Which activations to keep: exact names, or a predicate on names (both may be given: union). */
export interface CacheSelection {
  names?: readonly string[];
  filter?: (name: string) => boolean;
}

/**
 * Activations kept from a run, keyed by hook name. The cache owns its tensors: dispose() it.
 * A hook that fires more than once in a run (generation steps) keeps every call, in order.
 */
export class ActivationCache {
  private readonly store = new Map<string, tf.Tensor[]>();
  private readonly ctxs = new Map<string, HookContext[]>();

  /** @internal used by the caching hooks */
  add(name: string, t: tf.Tensor, ctx: HookContext): void {
    const list = this.store.get(name) ?? [];
    list.push(t);
    this.store.set(name, list);
    const c = this.ctxs.get(name) ?? [];
    c.push(ctx);
    this.ctxs.set(name, c);
  }

  has(name: string): boolean {
    return this.store.has(name);
  }

  /** Names present, in the order they were first recorded (forward order). */
  names(): string[] {
    return [...this.store.keys()];
  }

  /** The activation of `name` (the first call's when the hook fired several times). Still owned by the cache. */
  get(name: string): tf.Tensor {
    const t = this.store.get(name)?.[0];
    if (!t) throw new UserError(`The activation cache has no '${name}'; it holds: ${closeMatches(name, this.names()).join(', ') || 'nothing'}.`);
    return t;
  }

  /** Every recorded call of `name`, in order, with its context (offset = first query position). */
  getAll(name: string): { tensor: tf.Tensor; ctx: HookContext }[] {
    const ts = this.store.get(name) ?? [];
    const cs = this.ctxs.get(name) ?? [];
    return ts.map((tensor, i) => ({ tensor, ctx: cs[i] as HookContext }));
  }

  get size(): number {
    return this.store.size;
  }

  dispose(): void {
    for (const list of this.store.values()) for (const t of list) t.dispose();
    this.store.clear();
    this.ctxs.clear();
  }
}

/** The names a selection picks from the model's hook names (validating exact names). */
export function selectHookNames(model: Pick<VLModel, 'hookNames'>, sel: CacheSelection): string[] {
  const known = model.hookNames();
  const set = new Set(known);
  for (const n of sel.names ?? []) {
    if (!set.has(n)) throw new UserError(`Unknown hook name '${n}'; close matches: ${closeMatches(n, known).join(', ')}.`);
  }
  const want = new Set(sel.names ?? []);
  const picked = known.filter((n) => want.has(n) || (sel.filter ? sel.filter(n) : false));
  if (!sel.names && !sel.filter) return known;
  return picked;
}

/** Hooks that copy each selected activation into `cache` (they do not change the activation). */
export function cachingHooks(names: readonly string[], cache: ActivationCache): NamedHook[] {
  return names.map((name) => ({
    name,
    fn: (act: tf.Tensor, ctx: HookContext) => {
      cache.add(name, tf.keep(act.clone()), { ...ctx });
    },
  }));
}

/**
 * One forward pass that keeps the selected activations (all of them when the selection is empty).
 * Extra hooks (e.g. an intervention) run too; caching hooks come after them, so the cache sees the
 * modified activations. Returns the logits and the cache; the caller disposes both.
 */
export function runWithCache(
  model: VLModel,
  input: ModelInput,
  sel: CacheSelection = {},
  opts: RunOptions & { hooks?: readonly NamedHook[] } = {},
): { logits: tf.Tensor; cache: ActivationCache } {
  const cache = new ActivationCache();
  const names = selectHookNames(model, sel);
  try {
    const logits = model.forward(input, { ...opts, hooks: [...(opts.hooks ?? []), ...cachingHooks(names, cache)] });
    return { logits, cache };
  } catch (e) {
    cache.dispose();
    throw e;
  }
}
