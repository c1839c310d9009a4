/**
 * Chameleon's processor: the prompt expansion (`<image>` -> <racm3:break> + image_seq_length x <image>
 * + <eoss>, and the trailing <reserved08706> sep token in chat mode), the spans, the image-code to
 * vocabulary mapping (img2bpe), and the image preprocessing (RGBA blended onto white, shortest edge
 * resized with Pillow's filter, centre crop, rescale and normalise).
 */
import type { Spans } from '../model/spans.js';
import { UserError } from '../util/errors.js';
import { blendOnWhite, cropPad, resizePil, toChw, type RawImage } from './image.js';
import type { ImageProcessorConfig } from './processor-config.js';

export const CHAMELEON_BOI = '<racm3:break>';
export const CHAMELEON_EOI = '<eoss>';
export const CHAMELEON_IMAGE = '<image>';
export const CHAMELEON_SEP = '<reserved08706>';

/** chat: transformers 5 appends the sep token; completion: transformers 4's return_for_text_completion. */
export type ChameleonMode = 'chat' | 'completion';

export function expandChameleonPrompt(prompt: string, imageSeqLength: number, mode: ChameleonMode, sepToken = CHAMELEON_SEP): string {
  const expanded = prompt.split(CHAMELEON_IMAGE).join(CHAMELEON_BOI + CHAMELEON_IMAGE.repeat(imageSeqLength) + CHAMELEON_EOI);
  return mode === 'chat' ? expanded + sepToken : expanded;
}

export interface ChameleonSpecialIds {
  bos: number | null;
  boi: number;
  eoi: number;
  image: number;
}

/** Spans of a Chameleon sequence: bos, boi (<racm3:break>), the image placeholders, eoi (<eoss>). First image only. */
export function chameleonSpans(ids: ArrayLike<number>, sp: ChameleonSpecialIds): Spans {
  const arr = Array.from(ids);
  const boi = arr.indexOf(sp.boi);
  const eoi = boi >= 0 ? arr.indexOf(sp.eoi, boi) : -1;
  const hasImage = boi >= 0 && eoi > boi;
  return {
    length: arr.length,
    bos: sp.bos !== null && arr[0] === sp.bos ? 0 : null,
    boi: hasImage ? boi : null,
    image: hasImage ? [boi + 1, eoi] : null,
    eoi: hasImage ? eoi : null,
  };
}

/**
 * img2bpe built from the token names, never by offset: `IMGIMG<letters>Z`, letters A..J = digits 0..9,
 * the number is the code. Returns code -> vocabulary id, and the sorted list of image-code ids.
 */
export function buildImg2Bpe(vocabularyMap: Record<string, number>, numEmbeddings: number): { img2bpe: Int32Array; imageTokenIds: number[] } {
  const img2bpe = new Int32Array(numEmbeddings).fill(-1);
  for (const [name, id] of Object.entries(vocabularyMap)) {
    const m = /^IMGIMG([A-J]+)Z$/.exec(name);
    if (!m) continue;
    const code = Number([...(m[1] as string)].map((ch) => ch.charCodeAt(0) - 65).join(''));
    if (code < numEmbeddings) img2bpe[code] = id;
  }
  const missing = img2bpe.indexOf(-1);
  if (missing >= 0) throw new UserError(`The Chameleon vocabulary has no IMGIMG token for image code ${missing}; vq_config.num_embeddings is ${numEmbeddings}.`);
  return { img2bpe, imageTokenIds: Array.from(img2bpe).sort((a, b) => a - b) };
}

export interface ChameleonPreprocessed {
  /** [3, H, W] float32, channel-first. */
  pixels: Float32Array;
  height: number;
  width: number;
  resizedHW: [number, number];
  cropTopLeft: [number, number];
}

/** The PIL-backend ChameleonImageProcessor on one decoded image. */
export function preprocessChameleonImage(img: RawImage, cfg: ImageProcessorConfig): ChameleonPreprocessed {
  let rgb = cfg.doConvertRgb ? blendOnWhite(img) : img;
  if (rgb.channels !== 3) rgb = blendOnWhite(rgb);
  let resizedHW: [number, number] = [rgb.height, rgb.width];
  if (cfg.doResize) {
    let h: number;
    let w: number;
    if (cfg.shortestEdge !== null) {
      const shortIsW = rgb.width <= rgb.height;
      const short = shortIsW ? rgb.width : rgb.height;
      const long = shortIsW ? rgb.height : rgb.width;
      const newLong = Math.trunc((cfg.shortestEdge * long) / short);
      [h, w] = shortIsW ? [newLong, cfg.shortestEdge] : [cfg.shortestEdge, newLong];
    } else if (cfg.sizeHW) {
      [h, w] = cfg.sizeHW;
    } else {
      throw new UserError('The Chameleon image-processor config has no usable "size"; expected {"shortest_edge": N} or {"height", "width"}.');
    }
    rgb = resizePil(rgb, w, h, cfg.resample);
    resizedHW = [h, w];
  }
  let cropTopLeft: [number, number] = [0, 0];
  if (cfg.doCenterCrop && cfg.cropHW) {
    const [ch, cw] = cfg.cropHW;
    cropTopLeft = [Math.floor((rgb.height - ch) / 2), Math.floor((rgb.width - cw) / 2)];
    rgb = cropPad(rgb, cropTopLeft[0], cropTopLeft[1], ch, cw);
  }
  const pixels = toChw(rgb, cfg.doRescale ? cfg.rescaleFactor : 1, cfg.doNormalize ? cfg.mean : [0, 0, 0], cfg.doNormalize ? cfg.std : [1, 1, 1]);
  return { pixels, height: rgb.height, width: rgb.width, resizedHW, cropTopLeft };
}
