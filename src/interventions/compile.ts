/**
 * compile(specs, model) -> hooks. Positions are resolved per example from ctx.spans at every call,
 * with ctx.offset, so the same hooks act in a full forward pass and in cached generation: a new query
 * row at absolute position >= spans.length is a generated token, i.e. text after the image.
 * Everything a hook needs from files and donor runs is read here, once; the hooks hold plain arrays
 * and build their tensors inside the forward pass's tidy.
 */
import * as tf from '@tensorflow/tfjs';
import { knockoutHooks } from '../hooks/knockout.js';
import type { ActivationCache } from '../hooks/run.js';
import type { HookContext, NamedHook } from '../hooks/types.js';
import { closeMatches } from '../model/hookpoint.js';
import type { VLModel } from '../model/model.js';
import { positionKind, type Spans } from '../model/spans.js';
import { UserError } from '../util/errors.js';
import { splitHookName } from './hooknames.js';
import { resolveAll } from './selectors.js';
import { specLabel, validateAgainstModel, type AblateSpec, type InterventionSpec, type KnockoutSpec, type PatchSpec, type SelectorField, type SteerSpec } from './spec.js';
import { classMeanDifference, exampleRows, meanTable, readVectorFile, resolveFile } from './vectors.js';

/** A donor run for patch specs with donor {run: NAME}: its activations (runWithCache) and spans. */
export interface DonorRun {
  cache: Pick<ActivationCache, 'get'>;
  /** One entry per donor example; a single donor example serves every recipient example. */
  spans: Spans[];
}

export interface CompileEnv {
  donors?: Record<string, DonorRun>;
  /** Directory that relative file paths in specs are resolved against (default: the working directory). */
  baseDir?: string;
  /** Seed for @random-image:N (with the example id). */
  seed?: number;
  /** Example id of each batch row (for seeded selectors); default: the row index. */
  exampleIds?: readonly number[];
}

/** The env.donors key under which an image donor's run is expected. */
export function imageDonorKey(donor: { image: string; prompt?: string }): string {
  return `image:${donor.image}|${donor.prompt ?? ''}`;
}

type Ctx = { label: string; model: VLModel; env: CompileEnv };

/** Turns validated specs into hooks for runWithHooks / generate; specs compose in list order. */
export async function compile(specs: InterventionSpec | readonly InterventionSpec[], model: VLModel, env: CompileEnv = {}): Promise<NamedHook[]> {
  const list = Array.isArray(specs) ? (specs as InterventionSpec[]) : [specs as InterventionSpec];
  const dec = model.config.decoder;
  validateAgainstModel(list, { nLayers: dec.nLayers, nHeads: dec.nHeads, dModel: dec.dModel });
  const hooks: NamedHook[] = [];
  for (const [i, spec] of list.entries()) {
    const c: Ctx = { label: specLabel(spec, i, list.length), model, env };
    if (spec.type === 'knockout') hooks.push(...compileKnockout(spec, c));
    else if (spec.type === 'patch') hooks.push(await compilePatch(spec, c));
    else if (spec.type === 'steer') hooks.push(await compileSteer(spec, c));
    else hooks.push(await compileAblate(spec, c));
  }
  return hooks;
}

const sels = (s: SelectorField): string[] => (Array.isArray(s) ? s : [s]);

function spansOf(ctx: HookContext, b: number, label: string): Spans {
  const s = ctx.spans?.[b];
  if (!s) throw new UserError(`Intervention ${label} needs the spans of each example; pass spans with the model input.`);
  return s;
}

/** Positions of example b for a call whose rows end at absolute position ctx.offset + rows (generated ones count). */
function positionsAt(selectors: string[], ctx: HookContext, b: number, rows: number, c: Ctx): number[] {
  const spans = spansOf(ctx, b, c.label);
  const generatedLength = Math.max(0, ctx.offset + rows - spans.length);
  return resolveAll(selectors, spans, { generatedLength, seed: c.env.seed, exampleId: c.env.exampleIds?.[b] ?? b });
}

function checkHook(name: string, c: Ctx, positional: boolean): void {
  const known = c.model.hookNames();
  if (!known.includes(name)) throw new UserError(`Intervention ${c.label}.hook "${name}" is not a hook of this model; close matches: ${closeMatches(name, known).join(', ')}.`);
  if (positional && /hook_(pattern|attn_scores)$/.test(name)) {
    throw new UserError(`Intervention ${c.label}.hook "${name}" has no position axis; expected a hook such as blocks.N.hook_resid_post (use knockout for attention).`);
  }
}

/** hook_k / hook_v hold every key position from 0; other positional hooks hold this call's query rows. */
const rowBase = (name: string, ctx: HookContext): number => (/attn\.hook_[kv]$/.test(name) ? 0 : ctx.offset);

function compileKnockout(spec: KnockoutSpec, c: Ctx): NamedHook[] {
  const dec = c.model.config.decoder;
  const layers = spec.layers === 'all' ? Array.from({ length: dec.nLayers }, (_, l) => l) : spec.layers;
  let cur: { ctx: HookContext; T: number; q: Set<number>[]; k: Set<number>[] } | null = null;
  const sets = (b: number) => {
    const s = cur!;
    if (!s.q[b]) {
      s.q[b] = new Set(positionsAt(sels(spec.queries), s.ctx, b, s.T, c));
      s.k[b] = new Set(positionsAt(sels(spec.keys), s.ctx, b, s.T, c));
      if (spec.mode === 'renormalize') {
        // a query whose every earlier key is cut has nothing left to renormalise over
        for (const q of s.q[b]!) {
          if (q < s.ctx.offset || q >= s.ctx.offset + s.T) continue;
          let all = true;
          for (let k = 0; k <= q && all; k++) all = s.k[b]!.has(k);
          if (all) {
            throw new UserError(`Intervention ${c.label} with mode "renormalize" cuts every key of query position ${q} (keys 0..${q}); expected each query to keep at least one key (e.g. leave @bos out of the keys).`);
          }
        }
      }
    }
    return { q: s.q[b]!, k: s.k[b]! };
  };
  const inner = knockoutHooks({
    layers,
    heads: spec.heads === 'all' ? undefined : spec.heads,
    mode: spec.mode,
    query: (b, q) => sets(b).q.has(q),
    key: (b, k) => sets(b).k.has(k),
  });
  return inner.map((h) => ({
    name: h.name,
    fn: (act: tf.Tensor, ctx: HookContext) => {
      cur = { ctx, T: act.shape[2]!, q: [], k: [] };
      try {
        return h.fn(act, ctx);
      } finally {
        cur = null;
      }
    },
  }));
}

/**
 * A hook that replaces whole rows (positions) of a [B, N, ...] activation: `rowValue(b, pos, size)`
 * gives the new row or null to keep it. Returns nothing when no row changes.
 */
function rowReplaceHook(name: string, selectors: string[], c: Ctx, rowValue: (b: number, pos: number, size: number, spans: Spans) => Float32Array | null): NamedHook {
  return {
    name,
    fn: (act: tf.Tensor, ctx: HookContext) => {
      const [B, N] = act.shape as [number, number];
      const size = act.size / (B * N);
      const base = rowBase(name, ctx);
      const values = new Float32Array(act.size);
      const keep = new Uint8Array(act.size);
      let changed = false;
      for (let b = 0; b < B; b++) {
        const spans = spansOf(ctx, b, c.label);
        for (const p of positionsAt(selectors, ctx, b, base === 0 ? N - ctx.offset : N, c)) {
          const r = p - base;
          if (r < 0 || r >= N) continue;
          const v = rowValue(b, p, size, spans);
          if (!v) continue;
          if (v.length !== size) throw new UserError(`Intervention ${c.label}: the replacement for ${name} has ${v.length} values per position; the activation has ${size}.`);
          values.set(v, (b * N + r) * size);
          keep.fill(1, (b * N + r) * size, (b * N + r + 1) * size);
          changed = true;
        }
      }
      if (!changed) return;
      return tf.where(tf.tensor(keep, act.shape, 'bool'), tf.tensor(values, act.shape, 'float32'), act);
    },
  };
}

async function compilePatch(spec: PatchSpec, c: Ctx): Promise<NamedHook> {
  checkHook(spec.hook, c, true);
  const recipient = sels(spec.positions);
  if ('run' in spec.donor || 'image' in spec.donor) {
    const key = 'run' in spec.donor ? spec.donor.run : imageDonorKey(spec.donor);
    const donor = c.env.donors?.[key];
    if (!donor && 'image' in spec.donor) {
      throw new UserError(`Intervention ${c.label}.donor.image "${spec.donor.image}" has not been run; image donors are run by narrowgate generate / extract (or pass env.donors["${key}"]).`);
    }
    if (!donor) throw new UserError(`Intervention ${c.label}.donor.run "${key}" was not supplied; known donor runs: ${Object.keys(c.env.donors ?? {}).join(', ') || 'none'}.`);
    const t = donor.cache.get(spec.hook);
    const [Bd, Nd] = t.shape as [number, number];
    const data = (await t.data()) as Float32Array;
    const donorSel = sels(spec.donor.positions ?? spec.positions);
    const size = t.size / (Bd * Nd);
    const pairs = new Map<string, Map<number, number>>();
    return rowReplaceHook(spec.hook, recipient, c, (b, p, _size, spans) => {
      const db = Bd === 1 ? 0 : b;
      if (db >= Bd || !donor.spans[db]) throw new UserError(`Intervention ${c.label}: the donor run has ${Bd} examples; expected 1 or one per recipient example.`);
      const key = `${b}`;
      let map = pairs.get(key);
      if (!map) {
        const mine = resolveAll(recipient, spans, { seed: c.env.seed, exampleId: c.env.exampleIds?.[b] ?? b });
        const theirs = resolveAll(donorSel, donor.spans[db]!, { seed: c.env.seed, exampleId: db });
        if (mine.length !== theirs.length) {
          throw new UserError(`Intervention ${c.label}: the recipient has ${mine.length} positions and the donor ${theirs.length}; expected as many donor positions as patched positions.`);
        }
        map = new Map(mine.map((m, i) => [m, theirs[i]!] as const));
        pairs.set(key, map);
      }
      const q = map.get(p);
      if (q === undefined || q >= Nd) return null;
      const off = (db * Nd + q) * size;
      return data.subarray(off, off + size);
    });
  }
  const { hook, layer } = splitHookName(spec.hook);
  const { rows } = await exampleRows(resolveFile(spec.donor.store, c.env.baseDir), hook, layer, spec.donor.example_id);
  const store = spec.donor.store;
  return rowReplaceHook(spec.hook, recipient, c, (_b, p, _size, spans) => {
    if (p >= spans.length) return null; // generated tokens have no stored donor row
    const v = rows.get(p);
    if (!v) throw new UserError(`Intervention ${c.label}: store ${store} has no row at position ${p} for the donor example; expected the donor extracted at the patched positions.`);
    return v;
  });
}

async function steerVector(spec: SteerSpec, c: Ctx): Promise<Float32Array> {
  const v = spec.vector;
  if ('values' in v) return Float32Array.from(v.values);
  if ('file' in v) return readVectorFile(resolveFile(v.file, c.env.baseDir));
  return classMeanDifference(resolveFile(v.store, c.env.baseDir), v.hook, v.layer, v.position_kind, v.class_a, v.class_b);
}

async function compileSteer(spec: SteerSpec, c: Ctx): Promise<NamedHook> {
  const name = `blocks.${spec.layer}.hook_${spec.hook}`;
  checkHook(name, c, true);
  const vec = await steerVector(spec, c);
  const D = c.model.config.decoder.dModel;
  if (vec.length !== D) throw new UserError(`Intervention ${c.label}.vector has ${vec.length} values; expected d_model = ${D}.`);
  const norm = Math.sqrt(vec.reduce((s, x) => s + x * x, 0));
  if (spec.op === 'replace' && norm === 0) throw new UserError(`Intervention ${c.label}: op "replace" needs a non-zero vector (it sets the component along it).`);
  const s = spec.strength;
  const selectors = sels(spec.position);
  return {
    name,
    fn: (act: tf.Tensor, ctx: HookContext) => {
      const [B, T] = act.shape as [number, number, number];
      const m = new Float32Array(B * T);
      let any = false;
      for (let b = 0; b < B; b++) {
        for (const p of positionsAt(selectors, ctx, b, T, c)) {
          const r = p - ctx.offset;
          if (r >= 0 && r < T) (m[b * T + r] = 1), (any = true);
        }
      }
      if (!any) return;
      const M = tf.tensor3d(m, [B, T, 1]);
      const v = tf.tensor1d(vec);
      if (spec.op === 'add') return tf.add(act, tf.mul(M, tf.mul(v, s)));
      if (spec.op === 'interpolate') return tf.add(act, tf.mul(tf.mul(M, tf.sub(v, act)), s));
      const u = tf.div(v, norm);
      const proj = tf.sum(tf.mul(act, u), -1, true);
      return tf.add(act, tf.mul(tf.mul(tf.mul(M, tf.sub(norm, proj)), s), u));
    },
  };
}

async function compileAblate(spec: AblateSpec, c: Ctx): Promise<NamedHook> {
  checkHook(spec.hook, c, true);
  const selectors = sels(spec.positions);
  if (spec.mode === 'zero') return rowReplaceHook(spec.hook, selectors, c, (_b, _p, size) => new Float32Array(size));
  const { hook, layer } = splitHookName(spec.hook);
  const path = spec.mean!.store;
  const table = await meanTable(resolveFile(path, c.env.baseDir), hook, layer);
  const over = spec.mean!.over;
  return rowReplaceHook(spec.hook, selectors, c, (_b, p, _size, spans) => {
    const kind = p >= spans.length ? 'text' : positionKind(spans, p);
    const v = over === 'position' ? table.byPos.get(p) : table.byKind.get(kind);
    if (!v) throw new UserError(`Intervention ${c.label}: store ${path} has no mean for ${over === 'position' ? `position ${p}` : `${kind} positions`}; expected it extracted there (or use mean.over "kind").`);
    return v;
  });
}
