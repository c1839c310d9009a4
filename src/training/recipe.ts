/**
 * Loading recipes: YAML files that extend a base (`extends: base.yaml`, relative to the file),
 * `--set key=value` overrides with type coercion, validation with errors that name the key and the
 * file, and the resolved recipe as YAML for the run directory.
 */
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { UserError } from '../util/errors.js';
import { checkRecipe, PartialRecipeSchema, RecipeSchema, type Recipe } from './recipe-schema.js';

export { type Recipe } from './recipe-schema.js';

export interface LoadedRecipe {
  recipe: Recipe;
  /** The files read, the recipe itself first, then what it extends. */
  files: string[];
  /** The --set overrides applied, as given. */
  sets: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Objects merge key by key; lists and scalars replace. */
export function deepMerge(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isObj(b) && isObj(v) ? deepMerge(b, v) : v;
  }
  return out;
}

function unwrap(s: z.ZodTypeAny): z.ZodTypeAny {
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap();
    else if (s instanceof z.ZodDefault) s = s._def.innerType;
    else if (s instanceof z.ZodEffects) s = s.innerType();
    else return s;
  }
}

/** The schema at a dotted path, or null when a key does not exist (the list of allowed keys is returned). */
function schemaAt(path: (string | number)[]): { schema: z.ZodTypeAny } | { unknown: string; allowed: string[] } {
  let s: z.ZodTypeAny = RecipeSchema;
  for (let i = 0; i < path.length; i++) {
    s = unwrap(s);
    const key = path[i] as string | number;
    if (s instanceof z.ZodObject) {
      const shape = s.shape as Record<string, z.ZodTypeAny>;
      const next = shape[String(key)];
      if (!next) return { unknown: path.slice(0, i + 1).join('.'), allowed: Object.keys(shape) };
      s = next;
    } else if (s instanceof z.ZodArray) s = s.element;
    else if (s instanceof z.ZodRecord) s = s.valueSchema;
    else return { schema: z.unknown() };
  }
  return { schema: unwrap(s) };
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function getPath(obj: unknown, path: (string | number)[]): unknown {
  let o = obj;
  for (const k of path) o = isObj(o) || Array.isArray(o) ? (o as Obj)[k as string] : undefined;
  return o;
}

/** One sentence per zod issue, naming the dotted key. */
export function formatIssues(issues: z.ZodIssue[], input: unknown): string[] {
  return issues.map((iss) => {
    const key = iss.path.join('.');
    if (iss.code === 'unrecognized_keys') {
      const where = schemaAt(iss.path);
      const allowed = 'schema' in where && where.schema instanceof z.ZodObject ? Object.keys(where.schema.shape as Obj) : [];
      const names = iss.keys.map((k) => `"${[...iss.path, k].join('.')}"`).join(', ');
      return `unknown key ${names}; expected one of: ${allowed.join(', ')}`;
    }
    const got = getPath(input, iss.path);
    if (iss.code === 'invalid_type') {
      if (got === undefined) return `missing key "${key}" (expected ${iss.expected}; recipes usually get it from "extends: base.yaml")`;
      return `"${key}" must be ${iss.expected === 'object' ? 'a mapping' : iss.expected === 'array' ? 'a list' : `a ${iss.expected}`}, got ${describe(got)}`;
    }
    if (iss.code === 'invalid_enum_value') return `"${key}" must be one of ${iss.options.map(String).join(' | ')}, got ${describe(got)}`;
    return `"${key}" ${iss.message.charAt(0).toLowerCase()}${iss.message.slice(1)}, got ${describe(got)}`;
  });
}

function fail(where: string, messages: string[]): never {
  throw new UserError(`${where}: ${messages.join('; ')}.`);
}

function readRecipeFile(path: string, seen: string[]): { files: string[]; data: Obj } {
  const abs = resolve(path);
  if (seen.includes(abs)) throw new UserError(`Recipe ${path} extends itself through ${seen.join(' -> ')}; expected a chain that ends at a base.`);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch {
    throw new UserError(`Cannot read recipe ${path}: the file does not exist or is not readable.`);
  }
  const doc = YAML.parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0] as YAML.YAMLError;
    const line = e.linePos?.[0]?.line;
    throw new UserError(`Recipe ${path} is not valid YAML${line ? ` (line ${line})` : ''}: ${e.message.split('\n')[0]}.`);
  }
  const raw: unknown = doc.toJS() ?? {};
  if (!isObj(raw)) throw new UserError(`Recipe ${path} must be a YAML mapping of keys to values, got ${describe(raw)}.`);
  const { extends: parent, ...own } = raw;
  const parsed = PartialRecipeSchema.safeParse(own);
  if (!parsed.success) fail(`Recipe ${path}`, formatIssues(parsed.error.issues, own));
  if (parent === undefined) return { files: [abs], data: own };
  if (typeof parent !== 'string') throw new UserError(`Recipe ${path}: "extends" must be a file name, got ${describe(parent)}.`);
  const base = readRecipeFile(resolve(dirname(abs), parent), [...seen, abs]);
  return { files: [abs, ...base.files], data: deepMerge(base.data, own) };
}

/** Parses one `key=value` override into a nested object, coercing the value to the key's type. */
export function parseSet(assignment: string): Obj {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new UserError(`--set ${assignment}: expected key=value, e.g. --set optim.lr=1e-3.`);
  const key = assignment.slice(0, eq).trim();
  const raw = assignment.slice(eq + 1).trim();
  const path = key.split('.');
  if (path.includes('extends')) throw new UserError(`--set ${assignment}: "extends" cannot be overridden; pass another recipe file instead.`);
  const at = schemaAt(path);
  if ('unknown' in at) throw new UserError(`--set ${assignment}: unknown key "${at.unknown}"; expected one of: ${at.allowed.join(', ')}.`);
  const s = at.schema;
  let value: unknown;
  if (raw === 'null' || raw === '~') value = null;
  else if (s instanceof z.ZodString || s instanceof z.ZodEnum) value = raw;
  else if (s instanceof z.ZodNumber) {
    value = Number(raw);
    if (raw === '' || !Number.isFinite(value)) throw new UserError(`--set ${assignment}: "${key}" must be a number, got "${raw}".`);
  } else if (s instanceof z.ZodBoolean) {
    if (!['true', 'false'].includes(raw)) throw new UserError(`--set ${assignment}: "${key}" must be true or false, got "${raw}".`);
    value = raw === 'true';
  } else {
    try {
      value = YAML.parse(raw);
    } catch (e) {
      throw new UserError(`--set ${assignment}: the value is not valid YAML (${(e as Error).message.split('\n')[0]}).`);
    }
  }
  let nested: unknown = value;
  for (let i = path.length - 1; i >= 0; i--) nested = { [path[i] as string]: nested };
  const checked = PartialRecipeSchema.safeParse(nested);
  if (!checked.success) fail(`--set ${assignment}`, formatIssues(checked.error.issues, nested));
  return nested as Obj;
}

/** Resolves a plain object (e.g. read back from recipe.resolved.yaml) into a checked recipe. */
export function validateRecipe(data: unknown, where: string): Recipe {
  const parsed = RecipeSchema.safeParse(data);
  if (!parsed.success) fail(where, formatIssues(parsed.error.issues, data));
  const errs = checkRecipe(parsed.data);
  if (errs.length > 0) fail(where, errs);
  return parsed.data;
}

/** Reads a recipe file with its bases, applies the --set overrides in order and validates the result. */
export function loadRecipe(path: string, sets: string[] = []): LoadedRecipe {
  const { files, data } = readRecipeFile(path, []);
  let merged = data;
  for (const s of sets) merged = deepMerge(merged, parseSet(s));
  const where = `Recipe ${path}${files.length > 1 ? ' (with what it extends)' : ''}${sets.length > 0 ? ' after --set' : ''}`;
  return { recipe: validateRecipe(merged, where), files, sets };
}

/** The resolved recipe as YAML, with a header saying where it came from. */
export function recipeToYaml(loaded: LoadedRecipe): string {
  const header = [
    '# Resolved recipe, written before the first step. Re-run with: narrowgate train <this file>',
    `# from: ${loaded.files.map((f) => relative(process.cwd(), f) || f).join(' <- ')}`,
    ...(loaded.sets.length > 0 ? [`# --set: ${loaded.sets.join(' ')}`] : []),
  ].join('\n');
  return `${header}\n${YAML.stringify(loaded.recipe)}`;
}

/** Number of image tokens per image. */
export function imageTokens(r: Recipe): number {
  return Math.floor(r.image.size / r.image.patch) ** 2;
}
