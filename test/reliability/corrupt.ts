/** Hostile variants of a valid safetensors file, for the bad-input tests. */

interface Entry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

function parts(file: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))) as Record<string, unknown>;
  return { header, data: file.subarray(8 + n) };
}

function assemble(header: Record<string, unknown> | Uint8Array, data: Uint8Array, claimedLength?: bigint): Uint8Array {
  const h = header instanceof Uint8Array ? header : new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, claimedLength ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** The first tensor entry of the header (sorted by name), edited by `fn`. */
function editFirst(file: Uint8Array, fn: (e: Entry) => void): Uint8Array {
  const { header, data } = parts(file);
  const name = Object.keys(header).filter((k) => k !== '__metadata__').sort()[0]!;
  const e = { ...(header[name] as Entry) };
  fn(e);
  return assemble({ ...header, [name]: e }, data);
}

export function badSafetensors(file: Uint8Array): Record<string, Uint8Array> {
  const { header, data } = parts(file);
  return {
    truncated: file.subarray(0, Math.floor(file.length * 0.6)),
    empty: new Uint8Array(0),
    'huge-header': assemble(header, data, 1n << 40n),
    'bad-header': assemble(new TextEncoder().encode('{"a": [1, 2, 3 xxxxxx'), data),
    'offsets-out': editFirst(file, (e) => (e.data_offsets = [e.data_offsets[0] + 1_000_000, e.data_offsets[1] + 1_000_000])),
    'offsets-span': editFirst(file, (e) => (e.data_offsets = [e.data_offsets[0], e.data_offsets[0] + 1_000_000_000])),
    dtype: editFirst(file, (e) => (e.dtype = 'I32')),
    'dtype-unknown': editFirst(file, (e) => (e.dtype = 'Q8')),
  };
}
