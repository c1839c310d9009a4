/**
 * Which checkpoints the demo runs: every vision-language checkpoint among the given paths (a path is a
 * checkpoint directory, or a folder whose subfolders are), with what its recipe says about it: the
 * data it was trained on (shapes or Fashion-MNIST) and, for a fine-tune, the checkpoint it started
 * from and the knockout it was trained under (E9).
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { UserError } from '../util/errors.js';

export interface DemoModel {
  dir: string;
  name: string;
  family: 'native' | 'adapter';
  numLayers: number;
  /** The training data source named by the recipe (default shapes). */
  source: 'shapes' | 'fashion-mnist';
  recipe?: string;
  /** For a fine-tune: the base model's name (when it is among the demo's models) and the recipe name as the kind. */
  finetune?: { of: string; kind: string; steps?: number };
  /** Recipe fields behind `finetune` (init.from, whether it trained under knockouts). */
  initFrom?: string;
  trainedWithKnockout: boolean;
}

export interface Discovery {
  models: DemoModel[];
  /** Checkpoint directories left out, with the reason (e.g. an image tokenizer). */
  skipped: { dir: string; reason: string }[];
}

function isCheckpoint(dir: string): boolean {
  return existsSync(join(dir, 'config.json')) && existsSync(join(dir, 'model.safetensors'));
}

function readRecipe(dir: string): Record<string, unknown> | null {
  const p = join(dir, 'recipe.resolved.yaml');
  if (!existsSync(p)) return null;
  try {
    const r = parseYaml(readFileSync(p, 'utf8')) as unknown;
    return r && typeof r === 'object' ? (r as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function field(o: unknown, ...path: string[]): unknown {
  let x = o;
  for (const k of path) x = x && typeof x === 'object' ? (x as Record<string, unknown>)[k] : undefined;
  return x;
}

function samePath(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return resolve(a) === resolve(b);
  }
}

function describe(dir: string): DemoModel | string {
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  } catch {
    return 'config.json is not valid JSON';
  }
  const family = field(config, 'family');
  const numLayers = field(config, 'decoder', 'nLayers');
  if (family !== 'native' && family !== 'adapter') return 'not a vision-language model (no family native or adapter in config.json)';
  if (typeof numLayers !== 'number') return 'config.json has no decoder.nLayers';
  const recipe = readRecipe(dir);
  const source = field(recipe, 'data', 'source') === 'fashion-mnist' ? 'fashion-mnist' : 'shapes';
  const initFrom = field(recipe, 'init', 'from');
  const knockouts = field(recipe, 'intervention', 'knockouts');
  const name = field(recipe, 'name');
  return {
    dir,
    name: basename(resolve(dir)),
    family,
    numLayers,
    source,
    ...(typeof name === 'string' ? { recipe: name } : {}),
    ...(typeof initFrom === 'string' ? { initFrom } : {}),
    trainedWithKnockout: Array.isArray(knockouts) && knockouts.length > 0,
  };
}

/** Finds the checkpoints under `paths` and links fine-tunes to their base models. */
export function discoverCheckpoints(paths: readonly string[]): Discovery {
  const dirs: string[] = [];
  for (const p of paths) {
    if (!existsSync(p) || !statSync(p).isDirectory()) throw new UserError(`--checkpoints ${p} is not a directory; expected a checkpoint directory or a folder of them.`);
    if (isCheckpoint(p)) dirs.push(p);
    else for (const e of readdirSync(p).sort()) if (isCheckpoint(join(p, e))) dirs.push(join(p, e));
  }
  const models: DemoModel[] = [];
  const skipped: Discovery['skipped'] = [];
  for (const d of dirs) {
    const m = describe(d);
    if (typeof m === 'string') skipped.push({ dir: d, reason: m });
    else if (models.some((x) => x.name === m.name)) skipped.push({ dir: d, reason: `a model named ${m.name} is already in the demo` });
    else models.push(m);
  }
  if (models.length === 0) {
    throw new UserError(`No vision-language checkpoints under ${paths.join(', ')}; expected directories with config.json (family native or adapter) and model.safetensors (train some with narrowgate train, or pass --checkpoints DIR).`);
  }
  for (const m of models) {
    if (!m.initFrom) continue;
    const base = models.find((b) => b !== m && (samePath(b.dir, m.initFrom!) || b.name === basename(resolve(m.initFrom!))));
    if (base) m.finetune = { of: base.name, kind: m.recipe ?? (m.trainedWithKnockout ? 'masked fine-tune' : 'fine-tune') };
  }
  return { models, skipped };
}
