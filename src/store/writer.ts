/**
 * Streaming writer for one activation-store file (Arrow IPC file format). Rows arrive in blocks (one
 * example, hook and layer, several positions); they are buffered per (hook, layer, position kind) and
 * written as record batches of up to `batchRows` rows, so that a reader's slice is a few contiguous
 * runs. Within a group rows keep their write order. The file is written under a temporary sibling
 * name and renamed on close(): a crash leaves nothing at the final name; abort() removes the temp file.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  AsyncByteQueue,
  Float32,
  FixedSizeList,
  Int16,
  Int32,
  RecordBatch,
  RecordBatchFileWriter,
  Struct,
  Utf8,
  makeData,
  vectorFromArray,
  type Data,
  type DataType,
  type Schema,
  type Vector,
} from 'apache-arrow';
import type { PositionKind } from '../model/spans.js';
import { removeStaleTemps, tempSibling } from '../util/fs.js';
import { POSITION_KINDS, makeStoreSchema, narrowgateVersion, type StoreMetadata } from './schema.js';

/** Rows of one (example, hook, layer): n positions, values row-major [n, d]. */
export interface RowBlock {
  exampleId: number;
  hook: string;
  layer: number;
  /** Class label of the example, -1 (default) for none. */
  label?: number;
  pos: ArrayLike<number>;
  kinds: ArrayLike<PositionKind>;
  /** Token id at each position, -1 where there is none (default). */
  tokenIds?: ArrayLike<number>;
  values: Float32Array;
}

export interface StoreMetadataInput {
  runId: string;
  d: number;
  checkpointHash?: string;
  recipe?: string;
  backend?: string;
  /** Intervention specs (any JSON value, usually the validated list) or their JSON text. */
  interventions?: unknown;
  extra?: Record<string, string>;
  /** ISO time; now by default. */
  createdAt?: string;
}

export interface WriterOptions {
  /** Every hook name that will be written (the hook dictionary is declared once, up front). */
  hooks: readonly string[];
  /** Rows per record batch (default 4096). */
  batchRows?: number;
  /** Flush the largest buffered group when buffered values exceed this many bytes (default 64 MiB). */
  maxBufferedBytes?: number;
}

/** What any store writer (single file or shards) offers to producers such as extractActivations. */
export interface StoreWriter {
  readonly d: number;
  readonly rows: number;
  write(block: RowBlock): void;
  close(): Promise<void>;
  abort(): Promise<void>;
}

export function completeMetadata(m: StoreMetadataInput): StoreMetadata {
  const iv = m.interventions ?? [];
  return {
    runId: m.runId,
    d: m.d,
    checkpointHash: m.checkpointHash ?? '',
    recipe: m.recipe ?? '',
    backend: m.backend ?? '',
    interventions: typeof iv === 'string' ? iv : JSON.stringify(iv),
    narrowgateVersion: narrowgateVersion(),
    createdAt: m.createdAt ?? new Date().toISOString(),
    extra: m.extra ?? {},
  };
}

/** An Arrow byte sink that writes straight to a file descriptor (synchronous: no unbounded queue). */
class FdSink extends AsyncByteQueue {
  constructor(private readonly fd: number) {
    super();
  }
  override write(value: Uint8Array): void {
    let off = 0;
    while (off < value.byteLength) off += writeSync(this.fd, value, off, value.byteLength - off);
  }
}

interface Group {
  hook: number;
  layer: number;
  kind: number;
  n: number;
  example: Int32Array;
  pos: Int32Array;
  token: Int32Array;
  label: Int32Array;
  values: Float32Array;
}

export class ActivationWriter implements StoreWriter {
  readonly d: number;
  readonly metadata: StoreMetadata;
  private readonly schema: Schema;
  private readonly writer = new RecordBatchFileWriter();
  private readonly fd: number;
  private readonly tmp: string;
  private readonly hookIndex: Map<string, number>;
  private readonly kindIndex = new Map(POSITION_KINDS.map((k, i) => [k, i] as const));
  private readonly dicts: { runId: Vector<Utf8>; hook: Vector<Utf8>; kind: Vector<Utf8> };
  private readonly groups = new Map<string, Group>();
  private readonly batchRows: number;
  private readonly maxBuffered: number;
  private buffered = 0;
  private written = 0;
  private state: 'open' | 'closed' | 'aborted' = 'open';

  constructor(readonly path: string, meta: StoreMetadataInput, opts: WriterOptions) {
    if (!Number.isInteger(meta.d) || meta.d < 1) throw new Error(`ActivationWriter: d = ${meta.d}; expected a positive integer`);
    if (new Set(opts.hooks).size !== opts.hooks.length || opts.hooks.length === 0) {
      throw new Error(`ActivationWriter: hooks must be a non-empty list of distinct names, got ${JSON.stringify(opts.hooks)}`);
    }
    this.d = meta.d;
    this.metadata = completeMetadata(meta);
    this.schema = makeStoreSchema(this.metadata);
    this.hookIndex = new Map(opts.hooks.map((h, i) => [h, i] as const));
    this.dicts = {
      runId: vectorFromArray([meta.runId], new Utf8()),
      hook: vectorFromArray([...opts.hooks], new Utf8()),
      kind: vectorFromArray([...POSITION_KINDS], new Utf8()),
    };
    this.batchRows = Math.max(1, opts.batchRows ?? 4096);
    this.maxBuffered = opts.maxBufferedBytes ?? 64 * 2 ** 20;
    mkdirSync(dirname(path), { recursive: true });
    removeStaleTemps(path); // what a killed extraction into the same path left behind
    this.tmp = tempSibling(path);
    this.fd = openSync(this.tmp, 'w');
    this.writer.reset(new FdSink(this.fd), this.schema);
  }

  /** Rows accepted so far (written or buffered). */
  get rows(): number {
    return this.written + this.buffered;
  }

  write(block: RowBlock): void {
    if (this.state !== 'open') throw new Error(`ActivationWriter: write after ${this.state}`);
    const n = block.pos.length;
    const hook = this.hookIndex.get(block.hook);
    if (hook === undefined) throw new Error(`ActivationWriter: hook "${block.hook}" was not declared (declared: ${[...this.hookIndex.keys()].join(', ')})`);
    if (block.kinds.length !== n || (block.tokenIds && block.tokenIds.length !== n) || block.values.length !== n * this.d) {
      throw new Error(`ActivationWriter: block of ${n} positions has ${block.kinds.length} kinds, ${block.tokenIds?.length ?? n} token ids and ${block.values.length} values (expected ${n * this.d})`);
    }
    if (!Number.isInteger(block.layer) || block.layer < -32768 || block.layer > 32767) throw new Error(`ActivationWriter: layer ${block.layer} does not fit int16`);
    for (let i = 0; i < n; i++) {
      const kind = this.kindIndex.get(block.kinds[i]!);
      if (kind === undefined) throw new Error(`ActivationWriter: unknown position kind "${String(block.kinds[i])}"`);
      const g = this.group(hook, block.layer, kind);
      const r = g.n++;
      g.example[r] = block.exampleId;
      g.pos[r] = block.pos[i]!;
      g.token[r] = block.tokenIds ? block.tokenIds[i]! : -1;
      g.label[r] = block.label ?? -1;
      g.values.set(block.values.subarray(i * this.d, (i + 1) * this.d), r * this.d);
      this.buffered++;
      if (g.n === this.batchRows) this.flush(g);
    }
    if (this.buffered * this.d * 4 > this.maxBuffered) {
      let largest: Group | undefined;
      for (const g of this.groups.values()) if (!largest || g.n > largest.n) largest = g;
      if (largest) this.flush(largest);
    }
  }

  private group(hook: number, layer: number, kind: number): Group {
    const key = `${hook}/${layer}/${kind}`;
    let g = this.groups.get(key);
    if (!g) {
      const cap = Math.min(this.batchRows, 64);
      g = { hook, layer, kind, n: 0, example: new Int32Array(cap), pos: new Int32Array(cap), token: new Int32Array(cap), label: new Int32Array(cap), values: new Float32Array(cap * this.d) };
      this.groups.set(key, g);
    }
    if (g.n === g.example.length) {
      const cap = Math.min(this.batchRows, g.n * 2);
      const grow = <A extends Int32Array | Float32Array>(a: A, size: number): A => {
        const b = new (a.constructor as { new (n: number): A })(size);
        b.set(a);
        return b;
      };
      g.example = grow(g.example, cap);
      g.pos = grow(g.pos, cap);
      g.token = grow(g.token, cap);
      g.label = grow(g.label, cap);
      g.values = grow(g.values, cap * this.d);
    }
    return g;
  }

  private flush(g: Group): void {
    const n = g.n;
    if (n === 0) return;
    const f = this.schema.fields;
    const int32 = (a: Int32Array): Data => makeData({ type: new Int32(), length: n, nullCount: 0, data: a.subarray(0, n) });
    const dict = (i: number, idx: Int8Array | Int16Array, dictionary: Vector<Utf8>): Data =>
      makeData({ type: f[i]!.type as DataType as never, length: n, nullCount: 0, data: idx, dictionary: dictionary as never });
    const child = makeData({ type: new Float32(), length: n * this.d, nullCount: 0, data: g.values.subarray(0, n * this.d) });
    const children: Data[] = [
      dict(0, new Int8Array(n), this.dicts.runId),
      int32(g.example),
      dict(2, new Int16Array(n).fill(g.hook), this.dicts.hook),
      makeData({ type: new Int16(), length: n, nullCount: 0, data: new Int16Array(n).fill(g.layer) }),
      int32(g.pos),
      dict(5, new Int8Array(n).fill(g.kind), this.dicts.kind),
      int32(g.token),
      int32(g.label),
      makeData({ type: f[8]!.type as FixedSizeList<Float32>, length: n, nullCount: 0, child }),
    ];
    const data = makeData({ type: new Struct(f), length: n, nullCount: 0, children });
    // The sink writes synchronously, so the group's buffers can be reused once write() returns.
    this.writer.write(new RecordBatch(this.schema, data));
    this.written += n;
    this.buffered -= n;
    g.n = 0;
  }

  /** Flushes everything, writes the footer, fsyncs and renames the file into place. */
  async close(): Promise<void> {
    if (this.state !== 'open') throw new Error(`ActivationWriter: close after ${this.state}`);
    try {
      for (const g of this.groups.values()) this.flush(g);
      this.writer.close();
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.state = 'closed';
      renameSync(this.tmp, this.path);
    } catch (e) {
      await this.abort();
      throw e;
    }
  }

  /** Drops everything written so far: the temporary file is removed, nothing appears at `path`. */
  async abort(): Promise<void> {
    if (this.state === 'open') {
      this.state = 'aborted';
      try {
        closeSync(this.fd);
      } catch {
        // already closed by a failed close()
      }
    }
    rmSync(this.tmp, { force: true });
  }
}

