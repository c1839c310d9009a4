/**
 * Image decoding, resizing and rendering with sharp. Everything here returns plain Uint8Array pixels
 * (row-major, interleaved channels, no tensors) or PNG bytes.
 */
import sharp from 'sharp';

export interface RawImage {
  width: number;
  height: number;
  channels: number;
  pixels: Uint8Array;
}

/**
 * Renders an SVG document to `size` x `size` RGB pixels. The SVG is rasterised at `supersample` times
 * the size and reduced by box averaging, which keeps edges sharp and colours exact inside the shapes.
 */
export async function renderSvg(svg: string, size: number, supersample = 4): Promise<Uint8Array> {
  const big = size * supersample;
  const { data } = await sharp(Buffer.from(svg), { density: 72 })
    .resize(big, big, { fit: 'fill' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (supersample === 1) return new Uint8Array(data.buffer, data.byteOffset, data.length);
  return boxDownsample(data, big, 3, supersample);
}

/** Averages `f` x `f` blocks of an interleaved `side` x `side` image with `c` channels (rounding half up). */
export function boxDownsample(src: Uint8Array, side: number, c: number, f: number): Uint8Array {
  const out = side / f;
  const dst = new Uint8Array(out * out * c);
  const area = f * f;
  for (let y = 0; y < out; y++) {
    for (let x = 0; x < out; x++) {
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (let dy = 0; dy < f; dy++) {
          const row = ((y * f + dy) * side + x * f) * c + ch;
          for (let dx = 0; dx < f; dx++) s += src[row + dx * c] as number;
        }
        dst[(y * out + x) * c + ch] = Math.floor(s / area + 0.5);
      }
    }
  }
  return dst;
}

/**
 * Decodes an encoded image file (PNG, JPEG, WebP, GIF, TIFF, ...) and resizes it to `size` x `size`
 * with `channels` (1 = grey, 3 = RGB). The aspect ratio is kept by centre-cropping ("cover").
 * Throws sharp's error for unreadable data; callers decide whether to skip or fail.
 */
export async function decodeResize(input: Buffer | string, size: number, channels: 1 | 3): Promise<RawImage> {
  let img = sharp(input, { failOn: 'error' }).rotate().resize(size, size, { fit: 'cover', position: 'centre' }).flatten({ background: '#000000' });
  img = channels === 1 ? img.greyscale().toColourspace('b-w') : img.toColourspace('srgb');
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== channels) {
    // sharp may keep an extra channel for some inputs; take the first `channels` of each pixel
    const n = info.width * info.height;
    const out = new Uint8Array(n * channels);
    for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) out[i * channels + c] = data[i * info.channels + c] as number;
    return { width: info.width, height: info.height, channels, pixels: out };
  }
  return { width: info.width, height: info.height, channels, pixels: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** Resizes raw pixels to `size` x `size` (same channels; Lanczos, or area averaging when shrinking). */
export async function resizeRaw(img: RawImage, size: number): Promise<Uint8Array> {
  let s = sharp(Buffer.from(img.pixels.buffer, img.pixels.byteOffset, img.pixels.length), {
    raw: { width: img.width, height: img.height, channels: img.channels as 1 | 3 | 4 },
  }).resize(size, size, { fit: 'fill' });
  if (img.channels === 1) s = s.toColourspace('b-w');
  const { data } = await s
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (data.length !== size * size * img.channels) throw new Error(`resizeRaw: got ${data.length} bytes for ${size}x${size}x${img.channels}`);
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/** Encodes raw pixels as PNG (for previews and for writing image folders). */
export async function encodePng(img: RawImage): Promise<Buffer> {
  return sharp(Buffer.from(img.pixels.buffer, img.pixels.byteOffset, img.pixels.length), {
    raw: { width: img.width, height: img.height, channels: img.channels as 1 | 3 | 4 },
  })
    .png()
    .toBuffer();
}

/** Tiles equally sized images into one grid image with `cols` columns (previews). */
export function tileImages(images: RawImage[], cols: number): RawImage {
  const first = images[0];
  if (!first) throw new Error('tileImages: no images');
  const { width: w, height: h, channels: c } = first;
  const rows = Math.ceil(images.length / cols);
  const W = cols * w;
  const out = new Uint8Array(rows * h * W * c);
  images.forEach((im, k) => {
    const ox = (k % cols) * w, oy = Math.floor(k / cols) * h;
    for (let y = 0; y < h; y++) out.set(im.pixels.subarray(y * w * c, (y + 1) * w * c), ((oy + y) * W + ox) * c);
  });
  return { width: W, height: rows * h, channels: c, pixels: out };
}
