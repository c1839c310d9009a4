/**
 * IDX files (the MNIST / Fashion-MNIST format), gzipped or not. Layout: two zero bytes, a type byte
 * (0x08 = unsigned byte, the only type these datasets use), the number of dimensions, then each
 * dimension as a big-endian uint32, then the data in row-major order.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { UserError } from '../util/errors.js';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Parses IDX bytes (already decompressed); `path` names the file in errors. */
export function parseIdx(buf: Uint8Array, path: string): IdxArray {
  if (buf.length < 4) throw new UserError(`${path} is truncated (${buf.length} bytes); expected an IDX file with a 4-byte magic number.`);
  if (buf[0] !== 0 || buf[1] !== 0) throw new UserError(`${path} does not start with an IDX magic number (0x0000 type ndims); expected an MNIST-style IDX file.`);
  if (buf[2] !== 0x08) throw new UserError(`${path} has IDX element type 0x${(buf[2] as number).toString(16)}; expected 0x08 (unsigned bytes).`);
  const nd = buf[3] as number;
  if (nd < 1 || nd > 4) throw new UserError(`${path} declares ${nd} dimensions; expected 1 to 4.`);
  const head = 4 + 4 * nd;
  if (buf.length < head) throw new UserError(`${path} is truncated inside its header; expected ${head} header bytes.`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims = Array.from({ length: nd }, (_, i) => view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  if (buf.length - head !== size) {
    const what = buf.length - head < size ? 'is truncated' : 'has trailing bytes';
    throw new UserError(`${path} ${what}: dimensions ${dims.join('x')} need ${size} data bytes, found ${buf.length - head}.`);
  }
  return { dims, data: buf.subarray(head) };
}

/** Reads an IDX file; gzip (by its magic bytes 1f 8b) is undone first. */
export async function readIdx(path: string): Promise<IdxArray> {
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch {
    throw new UserError(`Cannot read ${path}: the file does not exist or is not readable.`);
  }
  let buf: Uint8Array = raw;
  if (raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      buf = gunzipSync(raw);
    } catch (e) {
      throw new UserError(`${path} is a damaged or truncated gzip file (${(e as Error).message}); expected a complete .gz IDX file.`);
    }
  }
  return parseIdx(buf, path);
}

/** Encodes unsigned bytes as an IDX file (optionally gzipped): used for fixtures and exports. */
export function encodeIdx(dims: number[], data: Uint8Array, gzip = true): Uint8Array {
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== data.length) throw new Error(`encodeIdx: dims ${dims.join('x')} need ${size} bytes, got ${data.length}`);
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return gzip ? new Uint8Array(gzipSync(out)) : out;
}
