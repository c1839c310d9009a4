/**
 * Reader for activation stores: one Arrow file, or a shard directory with a manifest (shards.ts).
 * The main access is slice(hook, layer, positionKind): every matching row's vector in one contiguous
 * Float32Array [n, d], copied from the FixedSizeList child buffers one run of consecutive rows at a
 * time (the writer groups rows so a slice is a few runs), never row by row through the row API.
 */
import { promises as fsp } from 'node:fs';
import { tableFromIPC, type Data, type RecordBatch, type Table } from 'apache-arrow';
import type { PositionKind } from '../model/spans.js';
import { UserError } from '../util/errors.js';
import { POSITION_KINDS, checkStoreSchema, type StoreMetadata } from './schema.js';

export interface Slice {
  n: number;
  d: number;
  /** Row-major [n, d]. */
  values: Float32Array;
  exampleIds: Int32Array;
  labels: Int32Array;
  pos: Int32Array;
  tokenIds: Int32Array;
}

export interface GroupInfo {
  hook: string;
  layer: number;
  kind: PositionKind;
  rows: number;
}

/** One row, for inspection and tests (slice() is the fast path). */
export interface StoreRow {
  runId: string;
  exampleId: number;
  hook: string;
  layer: number;
  pos: number;
  kind: PositionKind;
  tokenId: number;
  label: number;
  value: Float32Array;
}

export interface StoreReader {
  readonly path: string;
  readonly metadata: StoreMetadata;
  readonly d: number;
  readonly numRows: number;
  /** Row counts per (hook, layer, position kind), in first-seen order. */
  readonly groups: readonly GroupInfo[];
  hooks(): string[];
  layers(hook?: string): number[];
  kinds(hook?: string, layer?: number): PositionKind[];
  slice(hook: string, layer: number, kind: PositionKind): Promise<Slice>;
  rows(): AsyncIterable<StoreRow>;
}

/**
 * Resolves a hook alias among a store's hook names: the name itself, or with "hook_" before its last
 * part ("resid_post" -> "hook_resid_post", "attn.z" -> "attn.hook_z"); null when none matches.
 */
export function matchHookAlias(alias: string, known: readonly string[]): string | null {
  const parts = alias.split('.');
  const prefixed = [...parts.slice(0, -1), `hook_${parts[parts.length - 1] ?? ''}`].join('.');
  for (const s of [alias, prefixed]) if (known.includes(s)) return s;
  return null;
}

export function listHooks(groups: readonly GroupInfo[]): string[] {
  return [...new Set(groups.map((g) => g.hook))];
}
export function listLayers(groups: readonly GroupInfo[], hook?: string): number[] {
  return [...new Set(groups.filter((g) => hook === undefined || g.hook === hook).map((g) => g.layer))].sort((a, b) => a - b);
}
export function listKinds(groups: readonly GroupInfo[], hook?: string, layer?: number): PositionKind[] {
  const ks = new Set(groups.filter((g) => (hook === undefined || g.hook === hook) && (layer === undefined || g.layer === layer)).map((g) => g.kind));
  return POSITION_KINDS.filter((k) => ks.has(k));
}

/** Column views of one record batch (offsets applied). */
interface BatchCols {
  n: number;
  runId: ArrayLike<number>;
  runDict: string[];
  example: Int32Array;
  hook: ArrayLike<number>;
  hookDict: string[];
  layer: ArrayLike<number>;
  pos: Int32Array;
  kind: ArrayLike<number>;
  kindDict: string[];
  token: Int32Array;
  label: Int32Array;
  values: Float32Array;
}

function cols(batch: RecordBatch): BatchCols {
  const data = (name: string): Data => batch.getChild(name)!.data[0]!;
  const view = <A extends ArrayLike<number> & { subarray(a: number, b: number): A }>(d: Data): A =>
    (d.values as unknown as A).subarray(d.offset, d.offset + d.length);
  const dictStrings = (d: Data): string[] => (d.dictionary ? (d.dictionary.toArray() as string[]) : []);
  const v = data('value');
  const child = v.children[0]!;
  const dim = (v.type as unknown as { listSize: number }).listSize;
  const start = child.offset + v.offset * dim;
  return {
    n: batch.numRows,
    runId: view(data('run_id')),
    runDict: dictStrings(data('run_id')),
    example: view(data('example_id')),
    hook: view(data('hook')),
    hookDict: dictStrings(data('hook')),
    layer: view(data('layer')),
    pos: view(data('pos')),
    kind: view(data('position_kind')),
    kindDict: dictStrings(data('position_kind')),
    token: view(data('token_id')),
    label: view(data('label')),
    values: (child.values as Float32Array).subarray(start, start + batch.numRows * dim),
  };
}

/** The listing methods every store shares: they read only `groups`. */
export abstract class GroupedStore {
  abstract readonly groups: readonly GroupInfo[];
  hooks(): string[] {
    return listHooks(this.groups);
  }
  layers(hook?: string): number[] {
    return listLayers(this.groups, hook);
  }
  kinds(hook?: string, layer?: number): PositionKind[] {
    return listKinds(this.groups, hook, layer);
  }
}

/** A store held in one Arrow file (read whole into memory: Node has no mmap). */
export class ArrowFileStore extends GroupedStore implements StoreReader {
  readonly metadata: StoreMetadata;
  readonly d: number;
  readonly numRows: number;
  override readonly groups: GroupInfo[];
  private readonly batches: BatchCols[];

  constructor(readonly path: string, table: Table) {
    super();
    this.metadata = checkStoreSchema(table.schema, path);
    this.d = this.metadata.d;
    this.numRows = table.numRows;
    this.batches = table.batches.filter((b) => b.numRows > 0).map(cols);
    const counts = new Map<string, GroupInfo>();
    for (const b of this.batches) {
      for (let i = 0; i < b.n; i++) {
        const hook = b.hookDict[b.hook[i]!]!;
        const layer = b.layer[i]!;
        const kind = b.kindDict[b.kind[i]!] as PositionKind;
        const key = `${hook}\u0000${layer}\u0000${kind}`;
        const g = counts.get(key);
        if (g) g.rows++;
        else counts.set(key, { hook, layer, kind, rows: 1 });
      }
    }
    this.groups = [...counts.values()];
  }

  static async open(path: string): Promise<ArrowFileStore> {
    let bytes: Buffer;
    try {
      bytes = await fsp.readFile(path);
    } catch {
      throw new UserError(`Cannot read activation store ${path}: the file does not exist or is not readable.`);
    }
    let table: Table;
    try {
      table = tableFromIPC(bytes);
    } catch (e) {
      throw new UserError(`${path} is not an Arrow IPC file (${(e as Error).message}); expected an activation store written by narrowgate extract.`);
    }
    return new ArrowFileStore(path, table);
  }

  async slice(hook: string, layer: number, kind: PositionKind): Promise<Slice> {
    return this.sliceSync(hook, layer, kind);
  }

  /** Like slice(); `hook` may be an alias (see matchHookAlias). */
  sliceSync(hook: string, layer: number, kind: PositionKind): Slice {
    hook = matchHookAlias(hook, this.hooks()) ?? hook;
    const d = this.d;
    const runs: [BatchCols, number, number][] = [];
    let n = 0;
    for (const b of this.batches) {
      const h = b.hookDict.indexOf(hook);
      const k = b.kindDict.indexOf(kind);
      if (h < 0 || k < 0) continue;
      let i = 0;
      while (i < b.n) {
        if (b.hook[i] === h && b.layer[i] === layer && b.kind[i] === k) {
          const a = i;
          while (i < b.n && b.hook[i] === h && b.layer[i] === layer && b.kind[i] === k) i++;
          runs.push([b, a, i]);
          n += i - a;
        } else i++;
      }
    }
    const out: Slice = { n, d, values: new Float32Array(n * d), exampleIds: new Int32Array(n), labels: new Int32Array(n), pos: new Int32Array(n), tokenIds: new Int32Array(n) };
    let r = 0;
    for (const [b, a, e] of runs) {
      out.values.set(b.values.subarray(a * d, e * d), r * d);
      out.exampleIds.set(b.example.subarray(a, e), r);
      out.labels.set(b.label.subarray(a, e), r);
      out.pos.set(b.pos.subarray(a, e), r);
      out.tokenIds.set(b.token.subarray(a, e), r);
      r += e - a;
    }
    return out;
  }

  async *rows(): AsyncIterable<StoreRow> {
    const d = this.d;
    for (const b of this.batches) {
      for (let i = 0; i < b.n; i++) {
        yield {
          runId: b.runDict[b.runId[i]!]!,
          exampleId: b.example[i]!,
          hook: b.hookDict[b.hook[i]!]!,
          layer: b.layer[i]!,
          pos: b.pos[i]!,
          kind: b.kindDict[b.kind[i]!] as PositionKind,
          tokenId: b.token[i]!,
          label: b.label[i]!,
          value: b.values.slice(i * d, (i + 1) * d),
        };
      }
    }
  }
}

/** Concatenates slices (same d) in order. */
export function concatSlices(parts: readonly Slice[], d: number): Slice {
  const n = parts.reduce((s, p) => s + p.n, 0);
  const out: Slice = { n, d, values: new Float32Array(n * d), exampleIds: new Int32Array(n), labels: new Int32Array(n), pos: new Int32Array(n), tokenIds: new Int32Array(n) };
  let r = 0;
  for (const p of parts) {
    out.values.set(p.values, r * d);
    out.exampleIds.set(p.exampleIds, r);
    out.labels.set(p.labels, r);
    out.pos.set(p.pos, r);
    out.tokenIds.set(p.tokenIds, r);
    r += p.n;
  }
  return out;
}
