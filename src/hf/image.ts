/**
 * Image decoding and Pillow-exact resampling for the Hugging Face processors.
 *
 * The reference processors (transformers' PIL backend) resize with Pillow. Its resampler is a
 * separable convolution in 8-bit fixed point (22 fractional bits), horizontal pass first with a uint8
 * intermediate, then vertical. It is reimplemented here from Pillow's Resample.c so that our pixels
 * match Pillow's, rather than libvips' (sharp) own kernels, which differ by a grey level or more.
 * sharp is used only to decode files into raw 8-bit pixels.
 */
import sharp from 'sharp';
import { UserError } from '../util/errors.js';

/** Interleaved 8-bit pixels, `channels` per pixel (3 = RGB, 4 = RGBA), row-major. */
export interface RawImage {
  width: number;
  height: number;
  channels: 3 | 4;
  data: Uint8Array;
}

/** Decodes an image file (PNG, JPEG, WebP, ...) into straight (not premultiplied) RGB or RGBA. */
export async function decodeImage(input: string | Uint8Array): Promise<RawImage> {
  let out: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    out = await sharp(input).toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (e) {
    const what = typeof input === 'string' ? input : 'the image bytes';
    throw new UserError(`Cannot decode ${what} as an image: ${(e as Error).message}.`);
  }
  const { width, height, channels } = out.info;
  const src = new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length);
  if (channels === 3 || channels === 4) return { width, height, channels, data: src };
  // grey (1) or grey + alpha (2): expand to RGB(A)
  const c = channels === 2 ? 4 : 3;
  const data = new Uint8Array(width * height * c);
  for (let i = 0; i < width * height; i++) {
    const g = src[i * channels] as number;
    data[i * c] = g; data[i * c + 1] = g; data[i * c + 2] = g;
    if (c === 4) data[i * c + 3] = src[i * channels + 1] as number;
  }
  return { width, height, channels: c, data };
}

/** PIL `convert("RGB")`: drops alpha, keeps the stored RGB. */
export function dropAlpha(img: RawImage): RawImage {
  if (img.channels === 3) return img;
  const n = img.width * img.height;
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) data[i * 3 + k] = img.data[i * 4 + k] as number;
  return { width: img.width, height: img.height, channels: 3, data };
}

/**
 * Chameleon's RGBA handling: if any alpha < 255, blend onto white as `(1-a)*255 + a*rgb` (a = alpha/255,
 * float64) and truncate to uint8; otherwise drop alpha.
 */
export function blendOnWhite(img: RawImage): RawImage {
  if (img.channels === 3) return img;
  const n = img.width * img.height;
  let translucent = false;
  for (let i = 0; i < n && !translucent; i++) if ((img.data[i * 4 + 3] as number) < 255) translucent = true;
  if (!translucent) return dropAlpha(img);
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const a = (img.data[i * 4 + 3] as number) / 255;
    for (let k = 0; k < 3; k++) data[i * 3 + k] = Math.trunc((1 - a) * 255 + a * (img.data[i * 4 + k] as number));
  }
  return { width: img.width, height: img.height, channels: 3, data };
}

type Filter = { support: number; fn: (x: number) => number };

const sinc = (x: number): number => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x));

/** Pillow's filters, keyed by its resample codes (0 nearest is handled separately). */
const FILTERS: Record<number, Filter> = {
  1: { support: 3, fn: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) }, // LANCZOS
  2: { support: 1, fn: (x) => { const a = Math.abs(x); return a < 1 ? 1 - a : 0; } }, // BILINEAR
  3: { support: 2, fn: (x) => { // BICUBIC, a = -0.5
    const a = -0.5; const t = Math.abs(x);
    if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
    if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
    return 0;
  } },
  4: { support: 0.5, fn: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) }, // BOX
  5: { support: 1, fn: (x) => { if (x === 0) return 1; if (x <= -1 || x >= 1) return 0; return Math.sin(Math.PI * x) / (Math.PI * x) * (0.54 + 0.46 * Math.cos(Math.PI * x)); } }, // HAMMING
};

const PRECISION_BITS = 32 - 8 - 2;

/** Pillow precompute_coeffs + normalize_coeffs_8bpc: integer weights per output pixel. */
function coeffs(inSize: number, outSize: number, f: Filter): { bounds: Int32Array; kk: Int32Array; ksize: number } {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = f.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) { const v = f.fn((x + xmin - center + 0.5) * ss); w[x] = v; ww += v; }
    for (let x = 0; x < ksize; x++) {
      const v = x < xmax && ww !== 0 ? (w[x] as number) / ww : x < xmax ? (w[x] as number) : 0;
      kk[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { bounds, kk, ksize };
}

const clip8 = (v: number): number => { const s = v >> PRECISION_BITS; return s < 0 ? 0 : s > 255 ? 255 : s; };

function nearest(img: RawImage, width: number, height: number): RawImage {
  const c = img.channels;
  const data = new Uint8Array(width * height * c);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(img.height - 1, Math.floor((y + 0.5) * img.height / height));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(img.width - 1, Math.floor((x + 0.5) * img.width / width));
      for (let k = 0; k < c; k++) data[(y * width + x) * c + k] = img.data[(sy * img.width + sx) * c + k] as number;
    }
  }
  return { width, height, channels: c, data };
}

/** Pillow `Image.resize((width, height), resample)` for 8-bit RGB (codes: 0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming). */
export function resizePil(img: RawImage, width: number, height: number, resample: number): RawImage {
  if (img.channels !== 3) throw new Error('resizePil expects RGB; convert RGBA first');
  if (width === img.width && height === img.height) return img;
  if (resample === 0) return nearest(img, width, height);
  const f = FILTERS[resample];
  if (!f) throw new UserError(`Resample code ${resample} is not supported; expected 0-5 (PIL's codes).`);
  const c = 3;
  let cur = img;
  const h = coeffs(img.width, width, f);
  const v = coeffs(img.height, height, f);
  const needH = width !== img.width;
  const needV = height !== img.height;
  let yFirst = 0;
  if (needH) {
    // only the source rows the vertical pass will read (Pillow's ybox_first / ybox_last)
    yFirst = needV ? (v.bounds[0] as number) : 0;
    const yLast = needV ? (v.bounds[height * 2 - 2] as number) + (v.bounds[height * 2 - 1] as number) : img.height;
    const rows = yLast - yFirst;
    const out = new Uint8Array(width * rows * c);
    for (let y = 0; y < rows; y++) {
      const rowIn = (y + yFirst) * img.width;
      for (let x = 0; x < width; x++) {
        const xmin = h.bounds[x * 2] as number;
        const xmax = h.bounds[x * 2 + 1] as number;
        for (let k = 0; k < c; k++) {
          let ss = 1 << (PRECISION_BITS - 1);
          for (let i = 0; i < xmax; i++) ss += (img.data[(rowIn + xmin + i) * c + k] as number) * (h.kk[x * h.ksize + i] as number);
          out[(y * width + x) * c + k] = clip8(ss);
        }
      }
    }
    cur = { width, height: rows, channels: 3, data: out };
  }
  if (needV) {
    const out = new Uint8Array(width * height * c);
    for (let y = 0; y < height; y++) {
      const ymin = (v.bounds[y * 2] as number) - yFirst;
      const ymax = v.bounds[y * 2 + 1] as number;
      for (let x = 0; x < width; x++) {
        for (let k = 0; k < c; k++) {
          let ss = 1 << (PRECISION_BITS - 1);
          for (let i = 0; i < ymax; i++) ss += (cur.data[((ymin + i) * width + x) * c + k] as number) * (v.kk[y * v.ksize + i] as number);
          out[(y * width + x) * c + k] = clip8(ss);
        }
      }
    }
    cur = { width, height, channels: 3, data: out };
  }
  return cur;
}

/** A window of an RGB image; parts outside the image are zero (transformers' crop / pad). */
export function cropPad(img: RawImage, top: number, left: number, height: number, width: number): RawImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const sy = y + top;
    if (sy < 0 || sy >= img.height) continue;
    for (let x = 0; x < width; x++) {
      const sx = x + left;
      if (sx < 0 || sx >= img.width) continue;
      for (let k = 0; k < 3; k++) data[(y * width + x) * 3 + k] = img.data[(sy * img.width + sx) * 3 + k] as number;
    }
  }
  return { width, height, channels: 3, data };
}

/** uint8 HWC -> float32 CHW with `x * rescale`, then `(x - mean[c]) / std[c]`, as transformers does. */
export function toChw(img: RawImage, rescale: number, mean: number[], std: number[]): Float32Array {
  const { width, height } = img;
  const out = new Float32Array(3 * width * height);
  const fr = Math.fround;
  for (let k = 0; k < 3; k++) {
    const m = fr(mean[k] ?? 0);
    const s = fr(std[k] ?? 1);
    for (let i = 0; i < width * height; i++) {
      const x = fr((img.data[i * 3 + k] as number) * rescale);
      out[k * width * height + i] = fr(fr(x - m) / s);
    }
  }
  return out;
}
