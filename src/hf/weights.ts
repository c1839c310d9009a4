/**
 * The weights of a Hugging Face model folder: one `model.safetensors`, or shards listed by
 * `model.safetensors.index.json` (`weight_map`: tensor name -> shard file), or a file named by the
 * caller (e.g. `model.bf16.safetensors`). Tensors are read lazily, one at a time, and converted to
 * float32 (F16 / BF16 exactly), so a model larger than memory can be streamed layer by layer.
 *
 * Names are the hub names (`vision_tower.vision_model.*`, `language_model.model.*`, ...). The layouts
 * that transformers 5 `save_pretrained` writes (`model.language_model.*`, `vision_tower.*` without
 * `vision_model.`, ...) are accepted as aliases.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { SafetensorsFile, type SafeDtype } from '../model/safetensors.js';
import { UserError } from '../util/errors.js';

export interface HfWeights {
  /** The safetensors files read, in index order. */
  readonly files: string[];
  /** Names as stored in the files. */
  names(): string[];
  /** The stored name for a canonical (hub) name, or null when neither it nor an alias exists. */
  resolve(name: string): string | null;
  has(name: string): boolean;
  shape(name: string): number[];
  dtype(name: string): SafeDtype;
  /** The tensor as float32; throws a UserError naming the tensor when it is missing. */
  read(name: string): Promise<Float32Array>;
  /** The stored bytes and dtype (no conversion), for keeping weights compact in JS memory. */
  readRaw(name: string): Promise<{ dtype: SafeDtype; shape: number[]; bytes: Uint8Array }>;
  /** Reads a tensor and checks its shape. */
  readShaped(name: string, shape: number[]): Promise<Float32Array>;
  /** Bytes of all tensors on disk, and the distinct dtypes found. */
  summary(): { bytes: number; dtypes: SafeDtype[]; count: number };
  close(): Promise<void>;
}

/** Prefix rewrites tried when a hub name is missing: [hub prefix, alternative prefixes]. */
const ALIASES: [string, string[]][] = [
  ['vision_tower.vision_model.', ['vision_tower.', 'model.vision_tower.vision_model.', 'model.vision_tower.']],
  ['language_model.model.', ['model.language_model.', 'language_model.']],
  ['language_model.lm_head.', ['lm_head.']],
  ['multi_modal_projector.', ['model.multi_modal_projector.']],
  ['image_newline', ['model.image_newline']],
];

function candidates(name: string): string[] {
  const out = [name];
  for (const [prefix, alts] of ALIASES) {
    if (name.startsWith(prefix)) for (const a of alts) out.push(a + name.slice(prefix.length));
  }
  return out;
}

function resolveFile(dir: string, file: string): string {
  return isAbsolute(file) ? file : join(dir, file);
}

/** Opens the weights of `dir`. `file` picks a specific safetensors file or index json. */
export async function openHfWeights(dir: string, file?: string): Promise<HfWeights> {
  let paths: string[];
  let owner: Map<string, number> | null = null;
  const chosen = file ? resolveFile(dir, file) : existsSync(join(dir, 'model.safetensors.index.json'))
    ? join(dir, 'model.safetensors.index.json') : join(dir, 'model.safetensors');
  if (!existsSync(chosen)) {
    throw new UserError(`${dir} has neither model.safetensors nor model.safetensors.index.json; expected Hugging Face safetensors weights.`);
  }
  if (chosen.endsWith('.json')) {
    let index: { weight_map?: Record<string, string> };
    try {
      index = JSON.parse(readFileSync(chosen, 'utf8'));
    } catch {
      throw new UserError(`${chosen} is not valid JSON; expected a safetensors index with a "weight_map".`);
    }
    if (!index.weight_map || typeof index.weight_map !== 'object') throw new UserError(`${chosen} has no "weight_map"; expected {"weight_map": {tensor: shard file}}.`);
    paths = [...new Set(Object.values(index.weight_map))].map((f) => join(dir, f));
    owner = new Map(Object.entries(index.weight_map).map(([n, f]) => [n, paths.indexOf(join(dir, f))]));
  } else {
    paths = [chosen];
  }
  const opened: SafetensorsFile[] = [];
  try {
    for (const p of paths) opened.push(await SafetensorsFile.open(p));
  } catch (e) {
    await Promise.all(opened.map((f) => f.close()));
    throw e;
  }
  const where = new Map<string, SafetensorsFile>();
  opened.forEach((f, i) => {
    for (const n of f.names()) {
      if (!owner || owner.get(n) === i) where.set(n, f); // the index decides which shard owns a name

    }
  });
  if (owner) {
    for (const n of owner.keys()) {
      if (!where.has(n)) throw new UserError(`${chosen} lists "${n}" but its shard does not contain it.`);
    }
  }
  const resolve = (name: string): string | null => candidates(name).find((c) => where.has(c)) ?? null;
  const need = (name: string): [SafetensorsFile, string] => {
    const r = resolve(name);
    if (r === null) throw new UserError(`The weights in ${dir} have no tensor "${name}"; the checkpoint does not match its config.json.`);
    return [where.get(r) as SafetensorsFile, r];
  };
  const api: HfWeights = {
    files: paths,
    names: () => [...where.keys()],
    resolve,
    has: (name) => resolve(name) !== null,
    shape: (name) => { const [f, r] = need(name); return f.info(r).shape; },
    dtype: (name) => { const [f, r] = need(name); return f.info(r).dtype; },
    read: async (name) => { const [f, r] = need(name); return f.readFloat32(r); },
    readRaw: async (name) => {
      const [f, r] = need(name);
      const i = f.info(r);
      return { dtype: i.dtype, shape: i.shape, bytes: await f.readBytes(r) };
    },
    readShaped: async (name, shape) => {
      const [f, r] = need(name);
      const got = f.info(r).shape;
      if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
        throw new UserError(`Tensor "${r}" in ${f.path} has shape [${got.join(', ')}] but config.json implies [${shape.join(', ')}].`);
      }
      return f.readFloat32(r);
    },
    summary: () => {
      let bytes = 0;
      const dtypes = new Set<SafeDtype>();
      for (const [n, f] of where) {
        const i = f.info(n);
        bytes += i.end - i.begin;
        dtypes.add(i.dtype);
      }
      return { bytes, dtypes: [...dtypes].sort(), count: where.size };
    },
    close: async () => { await Promise.all(opened.map((f) => f.close())); },
  };
  return api;
}
