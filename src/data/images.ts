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
 * Renders many `size` x `size` SVG tiles (each a body drawn at the origin of a `size`-pixel canvas,
 * nothing outside it) in one sharp call: the tiles are laid out as a sheet, rasterised at `supersample`
 * times the size, box-averaged, and cut apart. Much faster than one call per tile for small images.
 */
export async function renderSvgTiles(bodies: string[], size: number, supersample = 1, cols = 16): Promise<Uint8Array[]> {
  if (bodies.length === 0) return [];
  const c = Math.min(cols, bodies.length), rows = Math.ceil(bodies.length / c);
  const W = c * size, H = rows * size;
  const tiles = bodies.map((b, i) => `<g transform="translate(${(i % c) * size} ${Math.floor(i / c) * size})">${b}</g>`).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${tiles}</svg>`;
  const { data } = await sharp(Buffer.from(svg), { density: 72, limitInputPixels: false })
    .resize(W * supersample, H * supersample, { fit: 'fill' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const sheet = supersample === 1 ? new Uint8Array(data.buffer, data.byteOffset, data.length) : boxDownsampleRect(data, W * supersample, H * supersample, 3, supersample);
  return bodies.map((_, i) => {
    const ox = (i % c) * size, oy = Math.floor(i / c) * size;
    const out = new Uint8Array(size * size * 3);
    for (let y = 0; y < size; y++) out.set(sheet.subarray(((oy + y) * W + ox) * 3, ((oy + y) * W + ox + size) * 3), y * size * 3);
    return out;
  });
}

/** Averages `f` x `f` blocks of an interleaved `w` x `h` image with `c` channels (rounding half up). */
export function boxDownsampleRect(src: Uint8Array, w: number, h: number, c: number, f: number): Uint8Array {
  const ow = w / f, oh = h / f, area = f * f;
  const acc = new Uint32Array(ow * c);
  const dst = new Uint8Array(ow * oh * c);
  for (let y = 0; y < oh; y++) {
    acc.fill(0);
    for (let dy = 0; dy < f; dy++) {
      const row = (y * f + dy) * w * c;
      for (let x = 0; x < w; x++) {
        const o = Math.floor(x / f) * c, s = row + x * c;
        for (let ch = 0; ch < c; ch++) acc[o + ch] = (acc[o + ch] as number) + (src[s + ch] as number);
      }
    }
    for (let k = 0; k < ow * c; k++) dst[y * ow * c + k] = Math.floor((acc[k] as number) / area + 0.5);
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
