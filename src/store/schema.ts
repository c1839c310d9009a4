/**
 * The activation store's Arrow schema (DESIGN.md section 7): one row per (example, hook, layer,
 * position). Dictionary columns are declared once, with their full dictionaries known when the file
 * is opened, so every record batch shares one dictionary per column (the IPC file format forbids
 * replacement dictionaries, and per-batch dictionaries silently produced nulls; see STACK.md).
 *
 *   run_id          Dictionary<Int8, Utf8>
 *   example_id      Int32
 *   hook            Dictionary<Int16, Utf8>   e.g. "resid_post", "attn.hook_z"
 *   layer           Int16                     -1 for hooks outside the blocks
 *   pos             Int32                     absolute position in the sequence
 *   position_kind   Dictionary<Int8, Utf8>    bos | boi | image | eoi | text
 *   token_id        Int32                     -1 when the position has no token id (adapter image)
 *   label           Int32                     -1 when none
 *   value           FixedSizeList<Float32>[d]
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DataType,
  Dictionary,
  Field,
  FixedSizeList,
  Float32,
  Int16,
  Int32,
  Int8,
  Precision,
  Schema,
  Utf8,
} from 'apache-arrow';
import type { PositionKind } from '../model/spans.js';
import { UserError } from '../util/errors.js';

export const POSITION_KINDS: readonly PositionKind[] = ['bos', 'boi', 'image', 'eoi', 'text'];
export const STORE_FORMAT = 'narrowgate-activation-store';
export const STORE_FORMAT_VERSION = 1;

/** What a store says about how it was made (schema metadata; every value is a string in Arrow). */
export interface StoreMetadata {
  runId: string;
  d: number;
  checkpointHash: string;
  recipe: string;
  backend: string;
  /** Intervention specs applied during the run, as JSON text ("[]" for none). */
  interventions: string;
  narrowgateVersion: string;
  createdAt: string;
  /** Further key/value pairs (e.g. dataset, command line). */
  extra: Record<string, string>;
}

const KEYS = {
  format: 'narrowgate.format',
  formatVersion: 'narrowgate.format_version',
  runId: 'run_id',
  d: 'd',
  checkpointHash: 'checkpoint_hash',
  recipe: 'recipe',
  backend: 'backend',
  interventions: 'interventions',
  narrowgateVersion: 'narrowgate_version',
  createdAt: 'created_at',
} as const;
const EXTRA_PREFIX = 'extra.';

let cachedVersion: string | undefined;
/** This package's version, from the nearest package.json named narrowgate above this module. */
export function narrowgateVersion(): string {
  if (cachedVersion) return cachedVersion;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'narrowgate' && pkg.version) return (cachedVersion = pkg.version);
    } catch {
      // not here; go up
    }
    dir = dirname(dir);
  }
  return (cachedVersion = 'unknown');
}

export function metadataToMap(m: StoreMetadata): Map<string, string> {
  const map = new Map<string, string>([
    [KEYS.format, STORE_FORMAT],
    [KEYS.formatVersion, String(STORE_FORMAT_VERSION)],
    [KEYS.runId, m.runId],
    [KEYS.d, String(m.d)],
    [KEYS.checkpointHash, m.checkpointHash],
    [KEYS.recipe, m.recipe],
    [KEYS.backend, m.backend],
    [KEYS.interventions, m.interventions],
    [KEYS.narrowgateVersion, m.narrowgateVersion],
    [KEYS.createdAt, m.createdAt],
  ]);
  for (const [k, v] of Object.entries(m.extra)) map.set(EXTRA_PREFIX + k, v);
  return map;
}

export function metadataFromMap(map: Map<string, string>, source: string): StoreMetadata {
  if (map.get(KEYS.format) !== STORE_FORMAT) {
    throw new UserError(`${source} is an Arrow file but not a narrowgate activation store (schema metadata "${KEYS.format}" is missing); expected a file written by narrowgate extract.`);
  }
  const get = (k: string): string => map.get(k) ?? '';
  const extra: Record<string, string> = {};
  for (const [k, v] of map) if (k.startsWith(EXTRA_PREFIX)) extra[k.slice(EXTRA_PREFIX.length)] = v;
  return {
    runId: get(KEYS.runId),
    d: Number(get(KEYS.d)),
    checkpointHash: get(KEYS.checkpointHash),
    recipe: get(KEYS.recipe),
    backend: get(KEYS.backend),
    interventions: map.get(KEYS.interventions) ?? '[]',
    narrowgateVersion: get(KEYS.narrowgateVersion),
    createdAt: get(KEYS.createdAt),
    extra,
  };
}

/** The column types; dictionary ids 0, 1, 2 for run_id, hook and position_kind. */
export function storeTypes(d: number) {
  return {
    runId: new Dictionary(new Utf8(), new Int8(), 0),
    hook: new Dictionary(new Utf8(), new Int16(), 1),
    positionKind: new Dictionary(new Utf8(), new Int8(), 2),
    value: new FixedSizeList(d, new Field('item', new Float32(), false)),
  };
}

export function makeStoreSchema(meta: StoreMetadata): Schema {
  const t = storeTypes(meta.d);
  return new Schema(
    [
      new Field('run_id', t.runId, false),
      new Field('example_id', new Int32(), false),
      new Field('hook', t.hook, false),
      new Field('layer', new Int16(), false),
      new Field('pos', new Int32(), false),
      new Field('position_kind', t.positionKind, false),
      new Field('token_id', new Int32(), false),
      new Field('label', new Int32(), false),
      new Field('value', t.value, false),
    ],
    metadataToMap(meta),
  );
}

const isInt = (bits: number[]) => (t: DataType) => DataType.isInt(t) && t.isSigned && bits.includes(t.bitWidth);
const isDictUtf8 = (t: DataType) => DataType.isDictionary(t) && DataType.isUtf8(t.dictionary) && DataType.isInt(t.indices);
const COLUMNS: [string, (t: DataType) => boolean, string][] = [
  ['run_id', isDictUtf8, 'Dictionary<Int, Utf8>'],
  ['example_id', isInt([32]), 'Int32'],
  ['hook', isDictUtf8, 'Dictionary<Int, Utf8>'],
  ['layer', isInt([16, 32]), 'Int16 or Int32'],
  ['pos', isInt([32]), 'Int32'],
  ['position_kind', isDictUtf8, 'Dictionary<Int8, Utf8>'],
  ['token_id', isInt([32]), 'Int32'],
  ['label', isInt([32]), 'Int32'],
  [
    'value',
    (t) => DataType.isFixedSizeList(t) && DataType.isFloat(t.children[0]!.type) && t.children[0]!.type.precision === Precision.SINGLE,
    'FixedSizeList<Float32>[d]',
  ],
];

/** Checks that `schema` is the store schema; a UserError names the first missing or mistyped column. */
export function checkStoreSchema(schema: Schema, source: string): StoreMetadata {
  for (const [name, ok, expected] of COLUMNS) {
    const field = schema.fields.find((f) => f.name === name);
    if (!field) throw new UserError(`${source} has no column "${name}"; expected an activation store with column ${name}: ${expected}.`);
    if (!ok(field.type)) {
      throw new UserError(`${source} column "${name}" has type ${String(field.type)}; expected ${expected}.`);
    }
  }
  const meta = metadataFromMap(schema.metadata, source);
  const listSize = (schema.fields.find((f) => f.name === 'value')!.type as FixedSizeList).listSize;
  if (meta.d !== listSize) throw new UserError(`${source} says d = ${meta.d} in its metadata but its value column holds ${listSize} floats per row; the file is inconsistent.`);
  return meta;
}
