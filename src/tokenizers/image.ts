/**
 * The image tokenizer contract, shared by the k-means codebook (kmeans.ts) and the VQ-VAE
 * (vqvae.ts), plus plain-array helpers: patchify / unpatchify and PSNR.
 *
 * Images are plain arrays, row-major [B, H, W, C] with interleaved channels (what src/data returns):
 * Uint8Array values are 0..255, Float32Array values are in [0, 1]. Images are square,
 * H = W = gridSize * patchSize, and an image's N = gridSize^2 codes are in row-major grid order.
 * Inside a patch, values are ordered (row, column, channel).
 */
import { UserError } from '../util/errors.js';

export interface ImageBatch {
  data: Uint8Array | Uint8ClampedArray | Float32Array;
  /** [B, H, W, C] */
  shape: [number, number, number, number];
}

export interface ImageTokenizer {
  /** The saved "type" ("narrowgate-kmeans" or "narrowgate-vqvae"). */
  readonly type: string;
  readonly imageSize: number;
  readonly channels: number;
  readonly patchSize: number;
  /** Patches per side; N = gridSize^2 codes per image. */
  readonly gridSize: number;
  /** K, the codebook size. */
  readonly numCodes: number;
  /** Codes of a batch: Int32Array [B * N], image-major. */
  encode(images: ImageBatch): Promise<Int32Array>;
  /** Pixels of codes [B * N] (B = codes.length / N): Float32Array [B, H, W, C] in [0, 1]. */
  decode(codes: ArrayLike<number>): Promise<ImageBatch>;
  /** Writes image_tokenizer.json (+ weights) into `dir`. */
  save(dir: string): Promise<void>;
  dispose(): void;
}

/** The file every saved image tokenizer has; its "type" field picks the class. */
export const IMAGE_TOKENIZER_CONFIG = 'image_tokenizer.json';
export const IMAGE_TOKENIZER_WEIGHTS = 'image_tokenizer.safetensors';

/** Checks that `images` is a batch of imageSize x imageSize x channels images; returns B. */
export function checkImages(images: ImageBatch, imageSize: number, channels: number): number {
  const [B, H, W, C] = images.shape;
  if (H !== imageSize || W !== imageSize || C !== channels) {
    throw new UserError(`Images of shape [${images.shape.join(', ')}] do not fit this image tokenizer; expected [B, ${imageSize}, ${imageSize}, ${channels}].`);
  }
  if (images.data.length !== B * H * W * C) {
    throw new UserError(`The image batch holds ${images.data.length} values but its shape [${images.shape.join(', ')}] needs ${B * H * W * C}.`);
  }
  return B;
}

/** Cuts images into patches: Float32Array [B * N, p * p * C] with values in [0, 1]. */
export function patchify(images: ImageBatch, patchSize: number): Float32Array {
  const [B, H, W, C] = images.shape;
  const p = patchSize;
  if (H % p !== 0 || W % p !== 0) throw new UserError(`Image size ${H}x${W} is not a multiple of the patch size ${p}.`);
  const gh = H / p, gw = W / p, D = p * p * C;
  const scale = images.data instanceof Float32Array ? 1 : 1 / 255;
  const src = images.data;
  const out = new Float32Array(B * gh * gw * D);
  let o = 0;
  for (let b = 0; b < B; b++) {
    for (let gy = 0; gy < gh; gy++) {
      for (let gx = 0; gx < gw; gx++) {
        for (let y = 0; y < p; y++) {
          let i = ((b * H + gy * p + y) * W + gx * p) * C;
          for (let k = 0; k < p * C; k++) out[o++] = (src[i++] as number) * scale;
        }
      }
    }
  }
  return out;
}

/** Inverse of patchify: patches [B * g * g, p * p * C] -> Float32Array [B, g*p, g*p, C]. */
export function unpatchify(patches: Float32Array, batch: number, gridSize: number, patchSize: number, channels: number): Float32Array {
  const p = patchSize, g = gridSize, C = channels, S = g * p;
  if (patches.length !== batch * g * g * p * p * C) throw new Error(`unpatchify: ${patches.length} values do not make ${batch} images of ${g}x${g} patches`);
  const out = new Float32Array(batch * S * S * C);
  let i = 0;
  for (let b = 0; b < batch; b++) {
    for (let gy = 0; gy < g; gy++) {
      for (let gx = 0; gx < g; gx++) {
        for (let y = 0; y < p; y++) {
          let o = ((b * S + gy * p + y) * S + gx * p) * C;
          for (let k = 0; k < p * C; k++) out[o++] = patches[i++] as number;
        }
      }
    }
  }
  return out;
}

/** Values in [0, 1] (Float32Array) or 0..255 (uint8) to [0, 1] floats. */
export function toUnitFloat(data: ImageBatch['data']): Float32Array {
  if (data instanceof Float32Array) return data;
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = (data[i] as number) / 255;
  return out;
}

/** [0, 1] floats to uint8 (clamped, rounded). */
export function toUint8(images: ImageBatch): ImageBatch {
  if (!(images.data instanceof Float32Array)) return { data: Uint8Array.from(images.data), shape: images.shape };
  const out = new Uint8Array(images.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, images.data[i] as number)) * 255);
  return { data: out, shape: images.shape };
}

/** Peak signal-to-noise ratio in dB on the [0, 1] scale (Infinity for identical images). */
export function psnr(a: ImageBatch, b: ImageBatch): number {
  if (a.data.length !== b.data.length) throw new UserError(`PSNR needs images of one shape; got ${a.data.length} and ${b.data.length} values.`);
  const x = toUnitFloat(a.data), y = toUnitFloat(b.data);
  let se = 0;
  for (let i = 0; i < x.length; i++) {
    const d = (x[i] as number) - (y[i] as number);
    se += d * d;
  }
  const mse = se / x.length;
  return mse === 0 ? Infinity : 10 * Math.log10(1 / mse);
}
