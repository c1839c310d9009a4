/**
 * The activation store (DESIGN.md section 7): Arrow IPC files, one row per (example, hook, layer,
 * position). Write with createStoreWriter (one file, or a shard directory), read with openStore.
 */
import { promises as fsp } from 'node:fs';
import { UserError } from '../util/errors.js';
import { ArrowFileStore, type StoreReader } from './reader.js';
import { ShardedStore, ShardedWriter, type ShardOptions } from './shards.js';
import { ActivationWriter, type StoreMetadataInput, type StoreWriter, type WriterOptions } from './writer.js';

export { ArrowFileStore, concatSlices, type GroupInfo, type Slice, type StoreReader, type StoreRow } from './reader.js';
export { ShardedStore, ShardedWriter, MANIFEST, type Manifest, type ShardOptions } from './shards.js';
export { ActivationWriter, completeMetadata, type RowBlock, type StoreMetadataInput, type StoreWriter, type WriterOptions } from './writer.js';
export { POSITION_KINDS, checkStoreSchema, makeStoreSchema, type StoreMetadata } from './schema.js';

/** Opens a store file or a shard directory. */
export async function openStore(path: string): Promise<StoreReader> {
  let isDir: boolean;
  try {
    isDir = (await fsp.stat(path)).isDirectory();
  } catch {
    throw new UserError(`Cannot read activation store ${path}: it does not exist; expected an .arrow file or a shard directory.`);
  }
  return isDir ? ShardedStore.open(path) : ArrowFileStore.open(path);
}

/** A single-file writer, or a shard-directory writer when `shards` is given. */
export function createStoreWriter(
  path: string,
  meta: StoreMetadataInput,
  opts: WriterOptions & { shards?: Pick<ShardOptions, 'shardBy' | 'maxRows'> },
): StoreWriter {
  return opts.shards ? new ShardedWriter(path, meta, { ...opts, ...opts.shards }) : new ActivationWriter(path, meta, opts);
}
