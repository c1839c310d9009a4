/**
 * Between canonical hook names (blocks.3.hook_resid_post) and the store's (hook, layer) columns:
 * the store keeps the block-relative name ("hook_resid_post", "attn.hook_z", "vision.hook_resid_post")
 * and the layer; hooks outside the blocks keep their full name with layer -1. Users may write short
 * aliases: "resid_post" for "hook_resid_post", "attn.z" for "attn.hook_z".
 */
import { closeMatches } from '../model/hookpoint.js';
import { matchHookAlias } from '../store/reader.js';
import { UserError } from '../util/errors.js';

export { matchHookAlias };

export function splitHookName(full: string): { hook: string; layer: number } {
  const m = /^(vision\.)?blocks\.(\d+)\.(.+)$/.exec(full);
  if (!m) return { hook: full, layer: -1 };
  return { hook: `${m[1] ?? ''}${m[3]}`, layer: Number(m[2]) };
}

export function joinHookName(hook: string, layer: number): string {
  if (layer < 0) return hook;
  return hook.startsWith('vision.') ? `vision.blocks.${layer}.${hook.slice('vision.'.length)}` : `blocks.${layer}.${hook}`;
}

/**
 * The block-relative (store-style) names a model offers, from its canonical hook names:
 * ["hook_embed", "hook_resid_pre", ..., "attn.hook_z", ..., "ln_final.hook_normalized", ...].
 */
export function storeHookNames(modelHookNames: readonly string[]): string[] {
  return [...new Set(modelHookNames.map((n) => splitHookName(n).hook))];
}

/** Resolves a user's hook alias against the model's hooks; a UserError lists close matches. */
export function resolveHookAlias(alias: string, modelHookNames: readonly string[]): string {
  const known = storeHookNames(modelHookNames);
  const hit = matchHookAlias(alias, known);
  if (hit) return hit;
  throw new UserError(`Unknown hook "${alias}"; expected a hook such as ${closeMatches(alias, known).join(', ')} (block hooks are named without "blocks.N.").`);
}
