/**
 * LLaVA-OneVision's processor: anyres preprocessing (crop 0 = the whole image resized to S x S, then
 * the tiles of the image fitted into the best pinpoint and zero-padded), the packing plan (tile grid
 * unpadded back to the image's aspect ratio with transformers' `int(round(x, 7))`, optional bilinear
 * downsampling past anyres_max_N, one image_newline after each row), the chat template (ChatML, images
 * first in a turn), placeholder expansion, and the spans.
 */
import type { Spans } from '../model/spans.js';
import { UserError } from '../util/errors.js';
import { cropPad, dropAlpha, resizePil, toChw, type RawImage } from './image.js';
import type { ImageProcessorConfig } from './processor-config.js';

export const LLAVA_IMAGE = '<image>';
export const LLAVA_IM_END = '<|im_end|>';

/** transformers' select_best_resolution over [height, width] pinpoints. */
export function selectBestResolution(hw: [number, number], pinpoints: [number, number][]): [number, number] {
  const [oh, ow] = hw;
  let best: [number, number] | null = null;
  let maxEff = 0;
  let minWaste = Infinity;
  for (const [h, w] of pinpoints) {
    const scale = Math.min(w / ow, h / oh);
    const eff = Math.min(Math.trunc(ow * scale) * Math.trunc(oh * scale), ow * oh);
    const waste = w * h - eff;
    if (eff > maxEff || (eff === maxEff && waste < minWaste)) {
      maxEff = eff;
      minWaste = waste;
      best = [h, w];
    }
  }
  if (!best) throw new UserError('image_grid_pinpoints is empty; expected at least one [height, width] pair.');
  return best;
}

/** Python's int(round(x, 7)): round to 7 decimals, then truncate toward zero. */
export function intRound7(x: number): number {
  return Math.trunc(Number(x.toFixed(7)));
}

export interface LlavaOvImage {
  /** [crops, 3, S, S] float32, crop 0 = base, then the tiles in row-major order. */
  pixels: Float32Array;
  crops: number;
  size: number;
  /** Original (height, width). */
  imageSizeHW: [number, number];
  /** Size of the aspect-kept resize inside the best pinpoint, and the padding [top, bottom, left, right]. */
  fittedHW: [number, number];
  pad: [number, number, number, number];
}

/** The PIL-backend LlavaOnevisionImageProcessor on one decoded image. */
export function preprocessLlavaOvImage(img: RawImage, cfg: ImageProcessorConfig, pinpoints: [number, number][]): LlavaOvImage {
  const rgb = dropAlpha(img);
  const [S, S2] = cfg.sizeHW ?? [0, 0];
  if (!S || S !== S2) throw new UserError('The LLaVA-OneVision image-processor "size" must be a square {"height": S, "width": S}.');
  const norm = (im: RawImage) => toChw(im, cfg.doRescale ? cfg.rescaleFactor : 1, cfg.doNormalize ? cfg.mean : [0, 0, 0], cfg.doNormalize ? cfg.std : [1, 1, 1]);
  const [th, tw] = selectBestResolution([rgb.height, rgb.width], pinpoints);
  const sw = tw / rgb.width;
  const sh = th / rgb.height;
  const [fh, fw] = sw < sh ? [Math.min(Math.ceil(rgb.height * sw), th), tw] : [th, Math.min(Math.ceil(rgb.width * sh), tw)];
  const fitted = resizePil(rgb, fw, fh, cfg.resample);
  const py = Math.floor((th - fh) / 2);
  const px = Math.floor((tw - fw) / 2);
  const padded = cropPad(fitted, -py, -px, th, tw);
  const tiles: Float32Array[] = [norm(resizePil(rgb, S, S, cfg.resample))];
  for (let y = 0; y < th; y += S) for (let x = 0; x < tw; x += S) tiles.push(norm(cropPad(padded, y, x, S, S)));
  const pixels = new Float32Array(tiles.length * 3 * S * S);
  tiles.forEach((t, i) => pixels.set(t, i * t.length));
  return { pixels, crops: tiles.length, size: S, imageSizeHW: [rgb.height, rgb.width], fittedHW: [fh, fw], pad: [py, th - fh - py, px, tw - fw - px] };
}

export interface PackPlan {
  /** Features per crop side (image_size / patch_size). */
  side: number;
  /** Tiles in the best pinpoint: [rows, cols]. */
  tileGrid: [number, number];
  /** Kept window of the combined tile feature grid: rows [r0, r1), cols [c0, c1). */
  keep: [number, number, number, number];
  /** Grid after the optional bilinear downsampling. */
  outHW: [number, number];
  downsampled: boolean;
  numTokens: number;
  /** Per packed row: (crop, grid_row, grid_col); (-1,-1,-1) = image_newline; downsampled rows: (-2, row, col). */
  layout: Int32Array;
}

/** How the features of one image are packed (transformers pack_image_features / _get_number_of_features). */
export function packPlan(imageSizeHW: [number, number], pinpoints: [number, number][], imageSize: number, patchSize: number, maxNumPatches: number): PackPlan {
  const side = Math.floor(imageSize / patchSize);
  const [bh, bw] = selectBestResolution(imageSizeHW, pinpoints);
  const tileGrid: [number, number] = [Math.floor(bh / imageSize), Math.floor(bw / imageSize)];
  const curH = tileGrid[0] * side;
  const curW = tileGrid[1] * side;
  const [oh, ow] = imageSizeHW;
  let keep: [number, number, number, number];
  if (ow / oh > curW / curH) {
    const newH = intRound7(oh * (curW / ow));
    const p = Math.floor((curH - newH) / 2);
    keep = [p, curH - p, 0, curW];
  } else {
    const newW = intRound7(ow * (curH / oh));
    const p = Math.floor((curW - newW) / 2);
    keep = [0, curH, p, curW - p];
  }
  const kh = keep[1] - keep[0];
  const kw = keep[3] - keep[2];
  const ratio = Math.sqrt((kh * kw) / (maxNumPatches * side * side));
  const downsampled = ratio > 1.1;
  const outHW: [number, number] = downsampled ? [Math.floor(kh / ratio), Math.floor(kw / ratio)] : [kh, kw];
  const rows: number[] = [];
  for (let r = 0; r < side; r++) for (let c = 0; c < side; c++) rows.push(0, r, c);
  for (let r = 0; r < outHW[0]; r++) {
    for (let c = 0; c < outHW[1]; c++) {
      if (downsampled) { rows.push(-2, r, c); continue; }
      const R = keep[0] + r;
      const C = keep[2] + c;
      rows.push(1 + Math.floor(R / side) * tileGrid[1] + Math.floor(C / side), R % side, C % side);
    }
    rows.push(-1, -1, -1);
  }
  const layout = Int32Array.from(rows);
  return { side, tileGrid, keep, outHW, downsampled, numTokens: layout.length / 3, layout };
}

export type ChatContent = string | ({ type: 'image' } | { type: 'video' } | { type: 'text'; text: string })[];
export interface ChatMessage { role: string; content: ChatContent }

/** The ChatML layout of llava-hf's OneVision template: images (then videos) of a turn come before its text. */
export function renderChat(messages: ChatMessage[], addGenerationPrompt = true): string {
  let s = '';
  for (const m of messages) {
    s += `<|im_start|>${m.role}\n`;
    if (typeof m.content === 'string') s += m.content;
    else {
      for (const c of m.content) if (c.type === 'image') s += '<image>\n';
      for (const c of m.content) if (c.type === 'video') s += '<video>\n';
      for (const c of m.content) if (c.type === 'text') s += c.text;
    }
    s += '<|im_end|>\n';
  }
  return addGenerationPrompt ? s + '<|im_start|>assistant\n' : s;
}

/** Replaces the i-th `<image>` with counts[i] placeholders. */
export function expandLlavaPrompt(prompt: string, counts: number[]): string {
  const parts = prompt.split(LLAVA_IMAGE);
  if (parts.length - 1 !== counts.length) {
    throw new UserError(`The prompt has ${parts.length - 1} <image> tokens but ${counts.length} image(s) were given.`);
  }
  return parts.map((p, i) => (i < counts.length ? p + LLAVA_IMAGE.repeat(counts[i] as number) : p)).join('');
}

/**
 * Spans of a LLaVA-OneVision sequence (first image): the image span is the run of placeholders, the
 * newline rows are imageMarkers, there is no bos/boi, and [EOI] is the <|im_end|> closing the turn that
 * holds the image (the paper's stand-in for LLaVA-OneVision).
 */
export function llavaOvSpans(ids: ArrayLike<number>, imageId: number, imEndId: number, plan: PackPlan | null): Spans {
  const arr = Array.from(ids);
  const start = arr.indexOf(imageId);
  if (start < 0) return { length: arr.length, bos: null, boi: null, image: null, eoi: null };
  let end = start;
  while (end < arr.length && arr[end] === imageId) end++;
  const eoi = arr.indexOf(imEndId, end);
  const markers: number[] = [];
  if (plan) for (let i = 0; i < plan.numTokens && start + i < end; i++) if (plan.layout[i * 3] === -1) markers.push(start + i);
  return { length: arr.length, bos: null, boi: null, image: [start, end], eoi: eoi >= 0 ? eoi : null, imageMarkers: markers };
}
