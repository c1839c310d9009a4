/**
 * The safetensors format (https://github.com/huggingface/safetensors): 8-byte little-endian header
 * length N, N bytes of JSON header {name: {dtype, shape, data_offsets: [begin, end)}, "__metadata__"},
 * then the raw little-endian tensor bytes. The header is bounded and validated before anything is
 * allocated, so a truncated or hostile file fails with one clear sentence.
 *
 * Reading is lazy (a file handle, one tensor at a time) so that a model larger than memory can be
 * streamed layer by layer; `readAll` is the convenience for small files.
 */
import { promises as fsp } from 'node:fs';
import { UserError } from '../util/errors.js';

export type SafeDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const DTYPE_BYTES: Record<SafeDtype, number> = {
  F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

/** Headers larger than this are refused (real checkpoints have headers of a few hundred KB). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorInfo {
  name: string;
  dtype: SafeDtype;
  shape: number[];
  /** Byte range inside the data section (after the header). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** Absolute file offset where the data section starts (8 + header length). */
  dataStart: number;
}

function bad(path: string, what: string): UserError {
  return new UserError(`${path} is not a valid safetensors file: ${what}.`);
}

/** Parses and validates a header given the first bytes of the file and the file size. */
export function parseHeader(path: string, headerBytes: Uint8Array, fileSize: number): SafetensorsHeader {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch {
    throw bad(path, 'its header is not valid UTF-8 JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad(path, 'its header is not a JSON object');
  const dataStart = 8 + headerBytes.length;
  const dataSize = fileSize - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null) throw bad(path, '__metadata__ is not an object');
      metadata = Object.fromEntries(Object.entries(entry as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) throw bad(path, `entry "${name}" is not an object`);
    if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_BYTES)) {
      throw bad(path, `tensor "${name}" has unsupported dtype ${JSON.stringify(e.dtype)} (expected one of ${Object.keys(DTYPE_BYTES).join(', ')})`);
    }
    const dtype = e.dtype as SafeDtype;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad(path, `tensor "${name}" has an invalid shape`);
    }
    const shape = e.shape as number[];
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad(path, `tensor "${name}" has invalid data_offsets`);
    }
    const [begin, end] = off as [number, number];
    const numel = shape.reduce((a, b) => a * b, 1);
    if (end < begin || end - begin !== numel * DTYPE_BYTES[dtype]) {
      throw bad(path, `tensor "${name}" spans ${end - begin} bytes but shape [${shape.join(', ')}] of ${dtype} needs ${numel * DTYPE_BYTES[dtype]}`);
    }
    if (end > dataSize) {
      throw bad(path, `tensor "${name}" ends at byte ${end} of the data section but the file holds only ${Math.max(0, dataSize)} (truncated?)`);
    }
    tensors.set(name, { name, dtype, shape, begin, end });
  }
  return { tensors, metadata, dataStart };
}

/** Converts raw little-endian bytes of a float dtype to a fresh Float32Array. BF16 is exact: bits << 16. */
export function toFloat32(dtype: SafeDtype, bytes: Uint8Array): Float32Array {
  const n = bytes.length / DTYPE_BYTES[dtype];
  // copy into an aligned buffer first: file offsets need not be aligned
  const aligned = new Uint8Array(bytes.length);
  aligned.set(bytes);
  switch (dtype) {
    case 'F32':
      return new Float32Array(aligned.buffer, 0, n);
    case 'F64':
      return Float32Array.from(new Float64Array(aligned.buffer, 0, n));
    case 'BF16': {
      const u16 = new Uint16Array(aligned.buffer, 0, n);
      const u32 = new Uint32Array(n);
      for (let i = 0; i < n; i++) u32[i] = (u16[i] as number) << 16;
      return new Float32Array(u32.buffer);
    }
    case 'F16': {
      const u16 = new Uint16Array(aligned.buffer, 0, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(u16[i] as number);
      return out;
    }
    default:
      throw new UserError(`Tensor dtype ${dtype} is not a floating-point type; expected F32, F16, BF16 or F64.`);
  }
}

/** Converts raw bytes of an integer dtype to Int32Array (I64 values must fit in int32). */
export function toInt32(dtype: SafeDtype, bytes: Uint8Array): Int32Array {
  const aligned = new Uint8Array(bytes.length);
  aligned.set(bytes);
  const n = bytes.length / DTYPE_BYTES[dtype];
  switch (dtype) {
    case 'I32':
      return new Int32Array(aligned.buffer, 0, n);
    case 'I64': {
      const big = new BigInt64Array(aligned.buffer, 0, n);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = Number(big[i]);
      return out;
    }
    case 'I16':
      return Int32Array.from(new Int16Array(aligned.buffer, 0, n));
    case 'I8':
      return Int32Array.from(new Int8Array(aligned.buffer, 0, n));
    case 'U8':
    case 'BOOL':
      return Int32Array.from(aligned);
    default:
      throw new UserError(`Tensor dtype ${dtype} is not an integer type.`);
  }
}

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE half-precision bits of a number, rounded to nearest, ties to even (overflow -> infinity). */
export function floatToHalf(v: number): number {
  f32Scratch[0] = v;
  const x = u32Scratch[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 0x1f) return sign | 0x7c00;
  const round = (m: number, shift: number): number => {
    const h = Math.floor(m / 2 ** shift), rem = m - h * 2 ** shift, half = 2 ** (shift - 1);
    return rem > half || (rem === half && h % 2 === 1) ? h + 1 : h;
  };
  if (e <= 0) return e < -10 ? sign : sign | round(mant | 0x800000, 14 - e); // subnormal (or 0)
  return sign | ((e << 10) + round(mant, 13)); // a carry out of the mantissa bumps the exponent, as it should
}

/** A safetensors file opened for lazy reading. Call close() when done. */
export class SafetensorsFile {
  private constructor(
    readonly path: string,
    readonly header: SafetensorsHeader,
    private readonly fh: fsp.FileHandle,
  ) {}

  static async open(path: string): Promise<SafetensorsFile> {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(path, 'r');
    } catch {
      throw new UserError(`Cannot open ${path}: the file does not exist or is not readable.`);
    }
    try {
      const size = (await fh.stat()).size;
      if (size < 8) throw bad(path, `it has ${size} bytes, fewer than the 8-byte header length`);
      const lenBuf = Buffer.alloc(8);
      await fh.read(lenBuf, 0, 8, 0);
      const len = lenBuf.readBigUInt64LE(0);
      if (len > BigInt(MAX_HEADER_BYTES)) throw bad(path, `its header claims ${len} bytes, more than the ${MAX_HEADER_BYTES}-byte limit`);
      if (Number(len) + 8 > size) throw bad(path, `its header claims ${len} bytes but the file has only ${size} (truncated?)`);
      const headerBytes = Buffer.alloc(Number(len));
      await fh.read(headerBytes, 0, Number(len), 8);
      return new SafetensorsFile(path, parseHeader(path, headerBytes, size), fh);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  names(): string[] {
    return [...this.header.tensors.keys()];
  }

  info(name: string): TensorInfo {
    const t = this.header.tensors.get(name);
    if (!t) throw new UserError(`${this.path} has no tensor named "${name}".`);
    return t;
  }

  async readBytes(name: string): Promise<Uint8Array> {
    const t = this.info(name);
    const buf = Buffer.alloc(t.end - t.begin);
    await this.fh.read(buf, 0, buf.length, this.header.dataStart + t.begin);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  }

  /** The tensor as float32 (F32/F16/BF16/F64 converted). */
  async readFloat32(name: string): Promise<Float32Array> {
    return toFloat32(this.info(name).dtype, await this.readBytes(name));
  }

  async readInt32(name: string): Promise<Int32Array> {
    return toInt32(this.info(name).dtype, await this.readBytes(name));
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

export interface NamedArray {
  dtype: SafeDtype;
  shape: number[];
  data: Float32Array | Int32Array;
}

/** Reads every tensor of a (small) file: floats as Float32Array, integers as Int32Array. */
export async function readSafetensors(path: string): Promise<{ tensors: Map<string, NamedArray>; metadata: Record<string, string> }> {
  const f = await SafetensorsFile.open(path);
  try {
    const tensors = new Map<string, NamedArray>();
    for (const name of f.names()) {
      const info = f.info(name);
      const isFloat = info.dtype === 'F32' || info.dtype === 'F16' || info.dtype === 'BF16' || info.dtype === 'F64';
      const data = isFloat ? await f.readFloat32(name) : await f.readInt32(name);
      tensors.set(name, { dtype: info.dtype, shape: info.shape, data });
    }
    return { tensors, metadata: f.header.metadata };
  } finally {
    await f.close();
  }
}

export interface TensorToWrite {
  name: string;
  shape: number[];
  /** Float32Array is written as F32, Int32Array as I32, Uint16Array as F16 (half-precision bit patterns, see floatToHalf). */
  data: Float32Array | Int32Array | Uint16Array;
}

/** Encodes tensors (sorted by name, as the Python library does) into safetensors bytes. */
export function encodeSafetensors(tensors: TensorToWrite[], metadata: Record<string, string> = {}): Uint8Array {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of sorted) {
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length) throw new Error(`encodeSafetensors: "${t.name}" has ${t.data.length} values for shape [${t.shape}]`);
    const bytes = t.data.byteLength;
    header[t.name] = { dtype: t.data instanceof Float32Array ? 'F32' : t.data instanceof Uint16Array ? 'F16' : 'I32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // pad the header with spaces to a multiple of 8 so the data section is aligned
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of sorted) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}
