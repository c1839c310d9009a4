/**
 * images.arrow: one row per image (schema documented in dataset.ts). Written as one Arrow IPC file
 * with record batches of up to 4096 rows; the split dictionary is declared once in the schema and one
 * dictionary vector is shared by every batch (apache-arrow would otherwise write replacement
 * dictionaries, which the file format rejects). Integers are int32 (int64 would come back as BigInt).
 */
import {
  Data, Dictionary, Field, FixedSizeList, Int8, Int32, RecordBatch, Schema, Struct, Table, Uint8, Utf8,
  makeData, tableFromIPC, tableToIPC, vectorFromArray, type Vector,
} from 'apache-arrow';
import { UserError } from '../util/errors.js';

export interface ImageColumns {
  width: number;
  height: number;
  channels: number;
  ids: Int32Array;
  fileNames: string[];
  splits: string[];
  labels: Int32Array;
  labelNames: (string | null)[];
  /** Extra label fields (e.g. shape, color): one Int32Array per field, -1 = none. */
  extra: Record<string, Int32Array>;
  /** One JSON string per row, or null; absent when the dataset has no scenes. */
  scenes?: (string | null)[];
  /** All pixels, row after row (n * height * width * channels). */
  pixels: Uint8Array;
}

const BATCH = 4096;

function int32(values: Int32Array): Data<Int32> {
  return makeData({ type: new Int32(), length: values.length, data: values });
}

export function encodeImagesArrow(c: ImageColumns, metadata: Record<string, string>): Uint8Array {
  const n = c.ids.length;
  const per = c.width * c.height * c.channels;
  if (c.pixels.length !== n * per) throw new Error(`encodeImagesArrow: ${c.pixels.length} pixel bytes for ${n} images of ${per}`);
  const splitNames = [...new Set(c.splits)].sort();
  if (splitNames.length > 127) throw new Error('encodeImagesArrow: too many split names');
  const splitDict = vectorFromArray(splitNames, new Utf8());
  const splitType = new Dictionary(new Utf8(), new Int8(), 0, false);
  const pixType = new FixedSizeList(per, new Field('item', new Uint8(), false));
  const extraNames = Object.keys(c.extra).sort();
  const fields = [
    new Field('image_id', new Int32(), false),
    new Field('file_name', new Utf8(), false),
    new Field('split', splitType, false),
    new Field('label', new Int32(), false),
    new Field('label_name', new Utf8(), true),
    ...extraNames.map((k) => new Field(k, new Int32(), false)),
    new Field('width', new Int32(), false),
    new Field('height', new Int32(), false),
    new Field('channels', new Int32(), false),
    ...(c.scenes ? [new Field('scene', new Utf8(), true)] : []),
    new Field('pixels', pixType, false),
  ];
  const schema = new Schema(fields, new Map(Object.entries(metadata)));
  const splitIndex = new Map(splitNames.map((s, i) => [s, i]));
  const batches: RecordBatch[] = [];
  for (let s = 0; s < n || (n === 0 && s === 0); s += BATCH) {
    const e = Math.min(n, s + BATCH), m = e - s;
    const fill = (v: number) => int32(new Int32Array(m).fill(v));
    const children: Data[] = [
      int32(c.ids.slice(s, e)),
      vectorFromArray(c.fileNames.slice(s, e), new Utf8()).data[0] as Data,
      makeData({ type: splitType, length: m, data: Int8Array.from(c.splits.slice(s, e), (x) => splitIndex.get(x) as number), dictionary: splitDict }),
      int32(c.labels.slice(s, e)),
      vectorFromArray(c.labelNames.slice(s, e), new Utf8()).data[0] as Data,
      ...extraNames.map((k) => int32((c.extra[k] as Int32Array).slice(s, e))),
      fill(c.width),
      fill(c.height),
      fill(c.channels),
      ...(c.scenes ? [vectorFromArray(c.scenes.slice(s, e), new Utf8()).data[0] as Data] : []),
      makeData({ type: pixType, length: m, child: makeData({ type: new Uint8(), length: m * per, data: c.pixels.subarray(s * per, e * per) }) }),
    ];
    batches.push(new RecordBatch(schema, makeData({ type: new Struct(fields), length: m, children })));
    if (n === 0) break;
  }
  return tableToIPC(new Table(schema, batches), 'file');
}

function col<T extends Vector>(t: Table, name: string, path: string): T {
  const v = t.getChild(name);
  if (!v) throw new UserError(`${path} has no "${name}" column; expected an images.arrow written by narrowgate (see src/data/dataset.ts).`);
  return v as unknown as T;
}

function ints(t: Table, name: string, path: string): Int32Array {
  const v = col<Vector<Int32>>(t, name, path);
  return Int32Array.from(v.toArray() as Int32Array);
}

/** Reads images.arrow back into columns; the pixels are copied into one contiguous buffer. */
export function decodeImagesArrow(buf: Uint8Array, path: string): { columns: ImageColumns; metadata: Map<string, string> } {
  let t: Table;
  try {
    t = tableFromIPC(buf);
  } catch (e) {
    throw new UserError(`${path} is not a readable Arrow IPC file (${(e as Error).message}); expected the images.arrow of a narrowgate dataset.`);
  }
  const n = t.numRows;
  const pixCol = col<Vector<FixedSizeList<Uint8>>>(t, 'pixels', path);
  const pixType = pixCol.type as FixedSizeList<Uint8>;
  if (!(pixType instanceof FixedSizeList)) throw new UserError(`${path}: column "pixels" must be FixedSizeList<Uint8>.`);
  const per = pixType.listSize;
  const pixels = new Uint8Array(n * per);
  let off = 0;
  for (const d of pixCol.data) {
    const child = d.children[0] as Data<Uint8>;
    pixels.set((child.values as Uint8Array).subarray(d.offset * per, (d.offset + d.length) * per), off);
    off += d.length * per;
  }
  const width = n > 0 ? (ints(t, 'width', path)[0] as number) : Number(t.schema.metadata.get('width') ?? 0);
  const height = n > 0 ? (ints(t, 'height', path)[0] as number) : Number(t.schema.metadata.get('height') ?? 0);
  const channels = n > 0 ? (ints(t, 'channels', path)[0] as number) : Number(t.schema.metadata.get('channels') ?? 0);
  if (n > 0 && width * height * channels !== per) throw new UserError(`${path}: width x height x channels (${width}x${height}x${channels}) does not match the pixel list size ${per}.`);
  const fixed = new Set(['image_id', 'file_name', 'split', 'label', 'label_name', 'width', 'height', 'channels', 'scene', 'pixels']);
  const extra: Record<string, Int32Array> = {};
  for (const f of t.schema.fields) if (!fixed.has(f.name)) extra[f.name] = ints(t, f.name, path);
  const strs = (name: string) => [...col<Vector<Utf8>>(t, name, path)].map((x) => (x === null || x === undefined ? null : String(x)));
  return {
    columns: {
      width, height, channels,
      ids: ints(t, 'image_id', path),
      fileNames: strs('file_name') as string[],
      splits: strs('split') as string[],
      labels: ints(t, 'label', path),
      labelNames: strs('label_name'),
      extra,
      scenes: t.getChild('scene') ? strs('scene') : undefined,
      pixels,
    },
    metadata: t.schema.metadata,
  };
}
