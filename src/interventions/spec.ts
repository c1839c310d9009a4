/**
 * Interventions are data (DESIGN.md section 6): small JSON objects, validated here, compiled into
 * hooks by compile.ts and written verbatim (after defaults) into every output's metadata.
 *
 *   knockout  {queries, keys, layers, heads, mode: zero | renormalize}
 *   patch     {hook, positions, donor: {run, positions?} | {store, example_id} | {image, prompt?, positions?}}
 *   steer     {layer, hook?, position, op: add | replace | interpolate, vector, strength}
 *   ablate    {hook, positions, mode: zero | mean, mean?: {store, over?: position | kind}}
 *
 * A spec file holds one intervention or a list; a list composes (applied in order).
 * Checks that need the model (layer and head ranges, hook names, vector size) happen at compile time.
 */
import { z } from 'zod';
import { parseSelector } from './selectors.js';
import { UserError } from '../util/errors.js';

const selector = z.string().superRefine((s, ctx) => {
  try {
    parseSelector(s);
  } catch (e) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: (e as Error).message });
  }
});
/** One selector or a non-empty list of them (their union). */
const selectors = z.union([selector, z.array(selector).nonempty()]);
const index = z.number().int().nonnegative();
const indexList = z.union([z.literal('all'), z.array(index).nonempty()]);
const hookName = z.string().regex(/^[A-Za-z_][\w.]*$/, 'expected a canonical hook name such as "blocks.1.hook_resid_post"');
const positionKind = z.enum(['bos', 'boi', 'image', 'eoi', 'text']);

export const knockoutSchema = z
  .object({
    type: z.literal('knockout'),
    queries: selectors,
    keys: selectors,
    layers: indexList.default('all'),
    heads: indexList.default('all'),
    /** zero: post-softmax zeroing without renormalisation (the paper's); renormalize: -inf on the scores. */
    mode: z.enum(['zero', 'renormalize']).default('zero'),
  })
  .strict();

export const patchSchema = z
  .object({
    type: z.literal('patch'),
    hook: hookName,
    positions: selectors,
    donor: z.union([
      /** A donor run supplied at compile time (its cached activations and spans); positions default to the recipient's selectors. */
      z.object({ run: z.string().min(1), positions: selectors.optional() }).strict(),
      /** Activations of one example in an activation store, matched by position index. */
      z.object({ store: z.string().min(1), example_id: z.number().int() }).strict(),
      /** A donor run on another image (+ prompt), run by the generate / extract commands. */
      z.object({ image: z.string().min(1), prompt: z.string().optional(), positions: selectors.optional() }).strict(),
    ]),
  })
  .strict();

const vectorSource = z.union([
  z.object({ file: z.string().min(1) }).strict(),
  z.object({ values: z.array(z.number()).nonempty() }).strict(),
  /** mean over rows labelled class_b minus mean over rows labelled class_a, from one store slice. */
  z
    .object({
      store: z.string().min(1),
      hook: z.string().min(1),
      layer: z.number().int(),
      position_kind: positionKind,
      class_a: z.number().int(),
      class_b: z.number().int(),
    })
    .strict(),
]);

export const steerSchema = z
  .object({
    type: z.literal('steer'),
    layer: index,
    hook: z.enum(['resid_pre', 'resid_mid', 'resid_post']).default('resid_post'),
    position: selectors,
    /** add: h + s v; replace: h + s ((v.u) - (h.u)) u with u = v/|v|; interpolate: h + s (v - h). Strength 0 is the identity. */
    op: z.enum(['add', 'replace', 'interpolate']),
    vector: vectorSource,
    strength: z.number().finite().default(1),
  })
  .strict();

export const ablateSchema = z
  .object({
    type: z.literal('ablate'),
    hook: hookName,
    positions: selectors,
    mode: z.enum(['zero', 'mean']),
    /** For mode mean: the store holding the activations to average, per position (default) or per position kind. */
    mean: z.object({ store: z.string().min(1), over: z.enum(['position', 'kind']).default('position') }).strict().optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.mode === 'mean' && !a.mean) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['mean'], message: 'mode "mean" needs mean: {store: FILE}' });
  });

export type KnockoutSpec = z.infer<typeof knockoutSchema>;
export type PatchSpec = z.infer<typeof patchSchema>;
export type SteerSpec = z.infer<typeof steerSchema>;
export type AblateSpec = z.infer<typeof ablateSchema>;
export type InterventionSpec = KnockoutSpec | PatchSpec | SteerSpec | AblateSpec;
export type SelectorField = string | string[];

/** The path prefix used in messages: "knockout" for a single spec, "[2].knockout" inside a list. */
export function specLabel(spec: { type: string }, i: number, count: number): string {
  return count > 1 ? `[${i}].${spec.type}` : spec.type;
}

function formatPath(path: (string | number)[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
}

/**
 * Validates one intervention or a list of them (already parsed JSON) and fills defaults.
 * `source` names the input in error messages (e.g. the spec file's path).
 */
export function parseInterventions(json: unknown, source = 'intervention spec'): InterventionSpec[] {
  const items = Array.isArray(json) ? json : [json];
  if (items.length === 0) throw new UserError(`${source} is an empty list; expected at least one intervention.`);
  return items.map((item, i) => {
    const type = typeof item === 'object' && item !== null ? (item as { type?: unknown }).type : undefined;
    if (!['knockout', 'patch', 'steer', 'ablate'].includes(String(type))) {
      throw new UserError(
        `${source}: ${items.length > 1 ? `[${i}]` : 'the intervention'} has type ${JSON.stringify(type)}; expected "knockout", "patch", "steer" or "ablate".`,
      );
    }
    const schema = { knockout: knockoutSchema, patch: patchSchema, steer: steerSchema, ablate: ablateSchema }[type as string]!;
    const r = schema.safeParse(item);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      let at = `${specLabel({ type: String(type) }, i, items.length)}${formatPath(issue.path)}`;
      const value = getPath(item, issue.path);
      if (value !== undefined && issue.code !== 'unrecognized_keys') at += ` = ${JSON.stringify(value)}`;
      throw new UserError(`${source}: ${at} is invalid: ${issueMessage(issue, value)}.`);
    }
    return r.data as InterventionSpec;
  });
}

/** One readable reason for a zod issue (a union's reason comes from the branch that got furthest). */
function issueMessage(issue: z.ZodIssue, value: unknown): string {
  if (value === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_union')) return 'required';
  let msg = issue.message;
  if (issue.code === 'invalid_union') {
    const inner = issue.unionErrors.flatMap((e) => e.issues).find((i) => i.code !== 'invalid_type');
    msg = inner ? `${formatPath(inner.path.slice(issue.path.length)).replace(/^\./, '')} ${inner.message}`.trim() : 'expected a selector string, a list, or an object of the documented form';
  }
  // zod's messages can be two sentences ("Invalid enum value. Expected ..."): keep ours one
  return msg.replace(/\.+$/, '').replace(/\.\s+([A-Z])/g, (_m, c: string) => `; ${c.toLowerCase()}`);
}

function getPath(obj: unknown, path: (string | number)[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}

/** Parses spec text (JSON); a syntax error is a UserError naming the source. */
export function parseInterventionsText(text: string, source = 'intervention spec'): InterventionSpec[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${source} is not valid JSON (${(e as Error).message}); expected an intervention object or a list of them.`);
  }
  return parseInterventions(json, source);
}

/** Canonical JSON of validated specs, as written into output metadata; parses back to equal specs. */
export function serializeInterventions(specs: readonly InterventionSpec[]): string {
  return JSON.stringify(specs);
}

/** The model sizes that spec validation needs. */
export interface ModelDims {
  nLayers: number;
  nHeads: number;
  dModel: number;
}

/** Range checks against a model; errors name the spec path, e.g. "knockout.layers[2] = 9 is out of range 0..3". */
export function validateAgainstModel(specs: readonly InterventionSpec[], dims: ModelDims): void {
  const check = (label: string, v: number, n: number): void => {
    if (v >= n) throw new UserError(`Intervention ${label} = ${v} is out of range 0..${n - 1} for this model.`);
  };
  specs.forEach((s, i) => {
    const label = specLabel(s, i, specs.length);
    if (s.type === 'knockout') {
      if (s.layers !== 'all') s.layers.forEach((l, j) => check(`${label}.layers[${j}]`, l, dims.nLayers));
      if (s.heads !== 'all') s.heads.forEach((h, j) => check(`${label}.heads[${j}]`, h, dims.nHeads));
    } else if (s.type === 'steer') {
      check(`${label}.layer`, s.layer, dims.nLayers);
      if ('values' in s.vector && s.vector.values.length !== dims.dModel) {
        throw new UserError(`Intervention ${label}.vector.values has ${s.vector.values.length} numbers; expected d_model = ${dims.dModel}.`);
      }
    }
  });
}
