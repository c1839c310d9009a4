/**
 * Data that interventions read at compile time: steering vectors from files (.json, .npy) or from
 * class means in an activation store, and mean activations for mean-ablation.
 */
import { promises as fsp } from 'node:fs';
import { extname, isAbsolute, resolve as resolvePath } from 'node:path';
import type { PositionKind } from '../model/spans.js';
import { openStore, POSITION_KINDS, type StoreReader } from '../store/index.js';
import { UserError } from '../util/errors.js';
import { matchHookAlias } from '../store/reader.js';

export function resolveFile(path: string, baseDir?: string): string {
  return isAbsolute(path) || !baseDir ? resolvePath(path) : resolvePath(baseDir, path);
}

/** Parses a NumPy .npy buffer holding a 1-D (or [1, d]) float32/float64 array. */
export function parseNpy(buf: Uint8Array, source: string): Float32Array {
  const bad = (why: string) => new UserError(`${source} is not a usable .npy vector (${why}); expected a 1-D float32 or float64 array.`);
  if (buf.length < 10 || buf[0] !== 0x93 || String.fromCharCode(...buf.subarray(1, 6)) !== 'NUMPY') throw bad('no NUMPY magic');
  const major = buf[6]!;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(buf.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '').split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (fortran && shape.length > 1) throw bad('Fortran order');
  const n = shape.reduce((a, b) => a * b, 1);
  if (shape.length === 0 || shape.filter((s) => s !== 1).length > 1) throw bad(`shape (${shape.join(', ')})`);
  const body = buf.subarray(start + headerLen);
  const out = new Float32Array(n);
  const bv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  if (descr === '<f4') for (let i = 0; i < n; i++) out[i] = bv.getFloat32(i * 4, true);
  else if (descr === '<f8') for (let i = 0; i < n; i++) out[i] = bv.getFloat64(i * 8, true);
  else throw bad(`dtype ${descr ?? '?'}`);
  return out;
}

/** Reads a vector from .npy, or .json (an array of numbers, or {"vector": [...]} / {"values": [...]}). */
export async function readVectorFile(path: string): Promise<Float32Array> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(path);
  } catch {
    throw new UserError(`Cannot read steering vector file ${path}: it does not exist or is not readable.`);
  }
  if (extname(path).toLowerCase() === '.npy') return parseNpy(buf, path);
  let json: unknown;
  try {
    json = JSON.parse(buf.toString('utf8'));
  } catch {
    throw new UserError(`${path} is neither .npy nor valid JSON; expected a .npy file or a JSON array of numbers.`);
  }
  const arr = Array.isArray(json) ? json : ((json as { vector?: unknown; values?: unknown })?.vector ?? (json as { values?: unknown })?.values);
  if (!Array.isArray(arr) || arr.length === 0 || !arr.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new UserError(`${path} holds no vector; expected a JSON array of finite numbers (or {"vector": [...]}).`);
  }
  return Float32Array.from(arr as number[]);
}

/** The store's name for a hook alias, or a UserError listing what the store has. */
export function storeHook(store: StoreReader, alias: string): string {
  const hit = matchHookAlias(alias, store.hooks());
  if (!hit) throw new UserError(`Store ${store.path} has no hook "${alias}"; it holds ${store.hooks().join(', ') || 'nothing'}.`);
  return hit;
}

/** mean(rows labelled classB) - mean(rows labelled classA) over one (hook, layer, kind) slice. */
export async function classMeanDifference(
  path: string,
  hook: string,
  layer: number,
  kind: PositionKind,
  classA: number,
  classB: number,
): Promise<Float32Array> {
  const store = await openStore(path);
  const s = await store.slice(storeHook(store, hook), layer, kind);
  const mean = (c: number): Float32Array => {
    const acc = new Float64Array(s.d);
    let n = 0;
    for (let i = 0; i < s.n; i++) {
      if (s.labels[i] !== c) continue;
      n++;
      for (let j = 0; j < s.d; j++) acc[j]! += s.values[i * s.d + j]!;
    }
    if (n === 0) throw new UserError(`Store ${path} has no rows with label ${c} for ${hook} layer ${layer} at ${kind} positions; expected both classes to be present.`);
    return Float32Array.from(acc, (x) => x / n);
  };
  const a = mean(classA);
  const b = mean(classB);
  return b.map((x, j) => x - a[j]!);
}

/** Mean activation vectors of one hook and layer, by position and by position kind. */
export interface MeanTable {
  d: number;
  byPos: Map<number, Float32Array>;
  byKind: Map<PositionKind, Float32Array>;
}

export async function meanTable(path: string, hook: string, layer: number): Promise<MeanTable> {
  const store = await openStore(path);
  const name = storeHook(store, hook);
  const d = store.d;
  const posAcc = new Map<number, { sum: Float64Array; n: number }>();
  const byKind = new Map<PositionKind, Float32Array>();
  for (const kind of POSITION_KINDS) {
    const s = await store.slice(name, layer, kind);
    if (s.n === 0) continue;
    const kindSum = new Float64Array(d);
    for (let i = 0; i < s.n; i++) {
      const p = s.pos[i]!;
      let e = posAcc.get(p);
      if (!e) posAcc.set(p, (e = { sum: new Float64Array(d), n: 0 }));
      e.n++;
      for (let j = 0; j < d; j++) {
        const v = s.values[i * d + j]!;
        e.sum[j]! += v;
        kindSum[j]! += v;
      }
    }
    byKind.set(kind, Float32Array.from(kindSum, (x) => x / s.n));
  }
  if (byKind.size === 0) throw new UserError(`Store ${path} has no rows for hook ${hook} at layer ${layer}; expected the activations to average.`);
  const byPos = new Map([...posAcc].map(([p, e]) => [p, Float32Array.from(e.sum, (x) => x / e.n)] as const));
  return { d, byPos, byKind };
}

/** One example's rows of one hook and layer, by position (a donor from a store). */
export async function exampleRows(path: string, hook: string, layer: number, exampleId: number): Promise<{ d: number; rows: Map<number, Float32Array> }> {
  const store = await openStore(path);
  const name = storeHook(store, hook);
  const rows = new Map<number, Float32Array>();
  for (const kind of POSITION_KINDS) {
    const s = await store.slice(name, layer, kind);
    for (let i = 0; i < s.n; i++) if (s.exampleIds[i] === exampleId) rows.set(s.pos[i]!, s.values.slice(i * s.d, (i + 1) * s.d));
  }
  if (rows.size === 0) throw new UserError(`Store ${path} has no rows of example ${exampleId} for hook ${hook} layer ${layer}; expected the donor example to be there.`);
  return { d: store.d, rows };
}
