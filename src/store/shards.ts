/**
 * Sharded activation stores for large runs (Node reads a whole Arrow file into memory, so a reader
 * should only need the shards holding the slice it asks for). A shard store is a directory:
 *
 *   manifest.json                 {format, format_version, metadata, shards: [{file, rows, groups}]}
 *   layer-0003.part-000.arrow     one store file per layer (shardBy "layer"), split every maxRows rows
 *   part-000.arrow                or one sequence of files split every maxRows rows (shardBy "rows")
 *
 * Each shard is a complete store file with the same metadata. The directory is built under a
 * temporary sibling name and renamed into place on close().
 */
import { promises as fsp, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PositionKind } from '../model/spans.js';
import { UserError } from '../util/errors.js';
import { removeStaleTemps, tempSibling } from '../util/fs.js';
import { ArrowFileStore, GroupedStore, concatSlices, matchHookAlias, type GroupInfo, type Slice, type StoreReader, type StoreRow } from './reader.js';
import { STORE_FORMAT, STORE_FORMAT_VERSION, type StoreMetadata } from './schema.js';
import { ActivationWriter, completeMetadata, type RowBlock, type StoreMetadataInput, type StoreWriter, type WriterOptions } from './writer.js';

export const MANIFEST = 'manifest.json';

export interface ShardInfo {
  file: string;
  rows: number;
  groups: GroupInfo[];
}

export interface Manifest {
  format: typeof STORE_FORMAT;
  format_version: number;
  metadata: StoreMetadata;
  shards: ShardInfo[];
}

export interface ShardOptions extends WriterOptions {
  /** "layer": one file sequence per layer; "rows": one sequence for everything. */
  shardBy: 'layer' | 'rows';
  /** Start a new file once a shard holds this many rows (default: no limit). */
  maxRows?: number;
}

interface OpenShard {
  writer: ActivationWriter;
  file: string;
  groups: Map<string, GroupInfo>;
}

export class ShardedWriter implements StoreWriter {
  readonly d: number;
  private readonly meta: StoreMetadata;
  private readonly tmpDir: string;
  private readonly open = new Map<string, OpenShard>();
  private readonly parts = new Map<string, number>();
  private readonly done: ShardInfo[] = [];
  private count = 0;
  private state: 'open' | 'closed' | 'aborted' = 'open';

  constructor(readonly dir: string, meta: StoreMetadataInput, private readonly opts: ShardOptions) {
    this.meta = completeMetadata(meta);
    this.d = meta.d;
    mkdirSync(dirname(dir), { recursive: true });
    removeStaleTemps(dir); // what a killed extraction into the same directory left behind
    this.tmpDir = tempSibling(dir);
    mkdirSync(this.tmpDir);
  }

  get rows(): number {
    return this.count;
  }

  write(block: RowBlock): void {
    if (this.state !== 'open') throw new Error(`ShardedWriter: write after ${this.state}`);
    const l = block.layer;
    const key = this.opts.shardBy === 'layer' ? `layer-${l < 0 ? `neg${-l}` : String(l).padStart(4, '0')}` : 'part';
    let shard = this.open.get(key);
    if (shard && this.opts.maxRows !== undefined && shard.writer.rows >= this.opts.maxRows) {
      this.finishShard(key, shard);
      shard = undefined;
    }
    if (!shard) {
      const part = this.parts.get(key) ?? 0;
      this.parts.set(key, part + 1);
      const file = `${key === 'part' ? '' : key + '.'}part-${String(part).padStart(3, '0')}.arrow`;
      const writer = new ActivationWriter(join(this.tmpDir, file), this.meta, this.opts);
      shard = { writer, file, groups: new Map() };
      this.open.set(key, shard);
    }
    shard.writer.write(block);
    this.count += block.pos.length;
    for (let i = 0; i < block.pos.length; i++) {
      const kind = block.kinds[i] as PositionKind;
      const k = `${block.hook}\u0000${block.layer}\u0000${kind}`;
      const g = shard.groups.get(k);
      if (g) g.rows++;
      else shard.groups.set(k, { hook: block.hook, layer: block.layer, kind, rows: 1 });
    }
  }

  private pending: Promise<void>[] = [];
  private finishShard(key: string, shard: OpenShard): void {
    this.open.delete(key);
    this.done.push({ file: shard.file, rows: shard.writer.rows, groups: [...shard.groups.values()] });
    this.pending.push(shard.writer.close());
  }

  async close(): Promise<void> {
    if (this.state !== 'open') throw new Error(`ShardedWriter: close after ${this.state}`);
    try {
      for (const [key, shard] of [...this.open]) this.finishShard(key, shard);
      await Promise.all(this.pending);
      const manifest: Manifest = { format: STORE_FORMAT, format_version: STORE_FORMAT_VERSION, metadata: this.meta, shards: this.done };
      await fsp.writeFile(join(this.tmpDir, MANIFEST), JSON.stringify(manifest, null, 1));
      this.state = 'closed';
      if (existsSync(this.dir)) {
        const old = tempSibling(this.dir);
        await fsp.rename(this.dir, old);
        await fsp.rename(this.tmpDir, this.dir);
        await fsp.rm(old, { recursive: true, force: true });
      } else {
        await fsp.rename(this.tmpDir, this.dir);
      }
    } catch (e) {
      this.state = 'open';
      await this.abort();
      throw e;
    }
  }

  async abort(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'aborted';
    for (const shard of this.open.values()) await shard.writer.abort();
    this.open.clear();
    await Promise.allSettled(this.pending);
    rmSync(this.tmpDir, { recursive: true, force: true });
  }
}

/** A shard directory opened through its manifest; shards are loaded only when a slice needs them. */
export class ShardedStore extends GroupedStore implements StoreReader {
  readonly metadata: StoreMetadata;
  readonly d: number;
  readonly numRows: number;
  override readonly groups: GroupInfo[];

  constructor(readonly path: string, private readonly manifest: Manifest) {
    super();
    this.metadata = manifest.metadata;
    this.d = manifest.metadata.d;
    this.numRows = manifest.shards.reduce((s, sh) => s + sh.rows, 0);
    const merged = new Map<string, GroupInfo>();
    for (const sh of manifest.shards) {
      for (const g of sh.groups) {
        const k = `${g.hook}\u0000${g.layer}\u0000${g.kind}`;
        const m = merged.get(k);
        if (m) m.rows += g.rows;
        else merged.set(k, { ...g });
      }
    }
    this.groups = [...merged.values()];
  }

  static async open(dir: string): Promise<ShardedStore> {
    const path = join(dir, MANIFEST);
    let manifest: Manifest;
    try {
      manifest = JSON.parse(await fsp.readFile(path, 'utf8')) as Manifest;
    } catch {
      throw new UserError(`${dir} is a directory without a readable ${MANIFEST}; expected an Arrow store file or a shard directory written by narrowgate.`);
    }
    if (manifest.format !== STORE_FORMAT || !Array.isArray(manifest.shards)) {
      throw new UserError(`${path} is not a narrowgate activation-store manifest (format "${String(manifest.format)}"); expected format "${STORE_FORMAT}".`);
    }
    return new ShardedStore(dir, manifest);
  }

  async slice(hook: string, layer: number, kind: PositionKind): Promise<Slice> {
    hook = matchHookAlias(hook, this.hooks()) ?? hook;
    const parts: Slice[] = [];
    for (const sh of this.manifest.shards) {
      if (!sh.groups.some((g) => g.hook === hook && g.layer === layer && g.kind === kind)) continue;
      const store = await ArrowFileStore.open(join(this.path, sh.file));
      parts.push(store.sliceSync(hook, layer, kind));
    }
    return concatSlices(parts, this.d);
  }

  async *rows(): AsyncIterable<StoreRow> {
    for (const sh of this.manifest.shards) {
      const store = await ArrowFileStore.open(join(this.path, sh.file));
      yield* store.rows();
    }
  }
}
