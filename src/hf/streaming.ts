/**
 * Layer-by-layer execution for models too large for the backend (the wasm backend holds at most
 * 4 GiB): the decoder layers' weights stay in JS memory in their file dtype (bf16 / f16 stay 2 bytes
 * per value, as read from the safetensors file) and are turned into float32 tensors one layer at a
 * time, inside that layer's tf.tidy, so they are released right after the layer ran. Every forward
 * pays the upload and conversion of all layers: batch several prompts into one call.
 */
import * as tf from '@tensorflow/tfjs';
import { toFloat32, type SafeDtype } from '../model/safetensors.js';
import type { WeightSet } from '../model/params.js';
import { UserError } from '../util/errors.js';
import type { HfDecoderSpec } from './config.js';
import { blockSources, type WeightSource } from './decoder-weights.js';
import type { HfWeights } from './weights.js';

interface RawWeight {
  src: WeightSource;
  dtype: SafeDtype;
  bytes: Uint8Array;
}

export class LayerStore {
  private constructor(private readonly layers: RawWeight[][]) {}

  /** Reads every decoder layer's weights into JS memory, unconverted. */
  static async load(w: HfWeights, s: HfDecoderSpec, prefix: string, onLayer?: (l: number) => void): Promise<LayerStore> {
    const layers: RawWeight[][] = [];
    for (let l = 0; l < s.nLayers; l++) {
      const raw: RawWeight[] = [];
      for (const src of blockSources(s, prefix, l)) {
        const r = await w.readRaw(src.hf);
        if (r.shape.length !== src.hfShape.length || r.shape.some((d, i) => d !== src.hfShape[i])) {
          throw new UserError(`Tensor "${src.hf}" has shape [${r.shape.join(', ')}] but config.json implies [${src.hfShape.join(', ')}].`);
        }
        raw.push({ src, dtype: r.dtype, bytes: r.bytes });
      }
      layers.push(raw);
      onLayer?.(l);
    }
    return new LayerStore(layers);
  }

  get nLayers(): number {
    return this.layers.length;
  }

  /** Bytes held in JS memory. */
  bytes(): number {
    let n = 0;
    for (const l of this.layers) for (const r of l) n += r.bytes.length;
    return n;
  }

  /** Layer l's weights as float32 tensors in narrowgate's layout. Call inside a tf.tidy (the decoder does). */
  weights(l: number): WeightSet {
    const raw = this.layers[l];
    if (!raw) throw new Error(`layer ${l} is not in the store`);
    const out: WeightSet = {};
    for (const r of raw) {
      const data = toFloat32(r.dtype, r.bytes);
      const t = tf.tensor(data, r.src.hfShape, 'float32');
      out[r.src.local] = r.src.transpose ? tf.transpose(t) : t;
    }
    return out;
  }
}

/** Bytes a model needs as float32 tensors on the backend: every weight, 4 bytes per value. */
export function float32Bytes(w: HfWeights): number {
  let n = 0;
  for (const name of w.names()) n += w.shape(name).reduce((a, b) => a * b, 1) * 4;
  return n;
}

/** The wasm backend's memory ceiling (one 32-bit address space), with room for activations. */
export const WASM_LIMIT_BYTES = 4 * 1024 ** 3;
