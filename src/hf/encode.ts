/**
 * Prompt + image -> HfExample for each family: the processor's text expansion and tokenization, the
 * image preprocessing, and the image path (Chameleon: VQ codes written over the placeholders;
 * LLaVA-OneVision: SigLIP -> projector -> packed features for the placeholder rows).
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../util/errors.js';
import { chameleonSpans, expandChameleonPrompt, preprocessChameleonImage, type ChameleonSpecialIds } from './chameleon-processor.js';
import type { ChameleonVqEncoder } from './chameleon-vq.js';
import type { ChameleonHfConfig, LlavaOvHfConfig } from './config.js';
import { decodeImage } from './image.js';
import { expandLlavaPrompt, llavaOvSpans, packPlan, preprocessLlavaOvImage, renderChat } from './llava-ov-processor.js';
import type { HfEncodeRequest, HfExample } from './model.js';
import type { ImageProcessorConfig } from './processor-config.js';
import type { LlavaOvProjector, SiglipTower } from './siglip.js';
import type { HfTokenizer } from './tokenizer.js';

/** Appends the target's tokens (no special tokens) after the prompt's. */
function withTarget(tok: HfTokenizer, ids: number[], target: string | undefined): number[] {
  return target ? [...ids, ...tok.encode(target, false)] : ids;
}

export interface ChameleonParts {
  cfg: ChameleonHfConfig;
  tokenizer: HfTokenizer;
  imageCfg: ImageProcessorConfig;
  imageSeqLength: number;
  img2bpe: Int32Array;
  ids: ChameleonSpecialIds;
  sepToken: string;
  vq: ChameleonVqEncoder;
}

export function chameleonEncoder(p: ChameleonParts): (req: HfEncodeRequest) => Promise<HfExample> {
  return async (req) => {
    const prompt = req.prompt ?? '';
    const nImages = prompt.split('<image>').length - 1;
    const hasImage = req.image !== undefined || req.rawImage !== undefined || req.pixelValues !== undefined;
    if (nImages !== (hasImage ? 1 : 0)) {
      throw new UserError(`The Chameleon prompt has ${nImages} <image> marker(s) but ${hasImage ? 1 : 0} image was given; one image needs exactly one <image>.`);
    }
    const text = expandChameleonPrompt(prompt, p.imageSeqLength, req.mode ?? 'chat', p.sepToken);
    const ids = withTarget(p.tokenizer, p.tokenizer.encode(text), req.target);
    const spans = chameleonSpans(ids, p.ids);
    if (!hasImage) return { text, ids, spans };
    const pixels = req.pixelValues ?? preprocessChameleonImage(req.rawImage ?? await decodeImage(req.image as string | Uint8Array), p.imageCfg).pixels;
    const { codes } = await p.vq.encode(pixels);
    const img = spans.image;
    if (!img || img[1] - img[0] !== codes.length) {
      throw new UserError(`The prompt holds ${img ? img[1] - img[0] : 0} image placeholders but the VQ encoder gives ${codes.length} codes (processor image_seq_length vs vq_config).`);
    }
    for (let i = 0; i < codes.length; i++) ids[img[0] + i] = p.img2bpe[codes[i] as number] as number;
    return { text, ids, spans, codes };
  };
}

export interface LlavaParts {
  cfg: LlavaOvHfConfig;
  tokenizer: HfTokenizer;
  imageCfg: ImageProcessorConfig;
  imEndId: number;
  tower: SiglipTower;
  projector: LlavaOvProjector;
}

/** The tower's selected features for crops [N, 3, S, S] -> [N, P, Dv] ('full'; 'default' drops the first token). */
function selectFeatures(p: LlavaParts, pix: tf.Tensor4D): tf.Tensor3D {
  const L = p.cfg.vision.nLayers;
  const layers = (Array.isArray(p.cfg.visionFeatureLayer) ? p.cfg.visionFeatureLayer : [p.cfg.visionFeatureLayer]).map((l) => (l < 0 ? L + 1 + l : l));
  if (layers.some((l) => l < 0 || l > L)) throw new UserError(`vision_feature_layer ${JSON.stringify(p.cfg.visionFeatureLayer)} is outside the tower's ${L} layers.`);
  const hs = p.tower.forward(pix, Math.max(...layers));
  try {
    return tf.tidy(() => {
      let f = tf.concat(layers.map((l) => hs[l] as tf.Tensor3D), -1) as tf.Tensor3D;
      if (p.cfg.selectStrategy === 'default') f = tf.slice(f, [0, 1, 0], [-1, -1, -1]);
      return f;
    });
  } finally {
    tf.dispose(hs);
  }
}

export function llavaEncoder(p: LlavaParts): (req: HfEncodeRequest) => Promise<HfExample> {
  return async (req) => {
    const prompt = req.messages ? renderChat(req.messages, true) : (req.prompt ?? '');
    const nImages = prompt.split('<image>').length - 1;
    const hasImage = req.image !== undefined || req.rawImage !== undefined || req.pixelValues !== undefined;
    if (nImages !== (hasImage ? 1 : 0)) {
      throw new UserError(`The LLaVA-OneVision prompt has ${nImages} <image> marker(s) but ${hasImage ? 1 : 0} image was given; one image needs exactly one <image>.`);
    }
    if (!hasImage) {
      const ids = withTarget(p.tokenizer, p.tokenizer.encode(prompt), req.target);
      return { text: prompt, ids, spans: llavaOvSpans(ids, p.cfg.imageTokenId, p.imEndId, null) };
    }
    const pinpoints = p.imageCfg.gridPinpoints ?? p.cfg.gridPinpoints;
    let pixels: Float32Array;
    let sizeHW: [number, number];
    if (req.pixelValues) {
      if (!req.imageSizeHW) throw new UserError('LLaVA-OneVision pixelValues need imageSizeHW (the original height and width).');
      pixels = req.pixelValues;
      sizeHW = req.imageSizeHW;
    } else {
      const pre = preprocessLlavaOvImage(req.rawImage ?? await decodeImage(req.image as string | Uint8Array), p.imageCfg, pinpoints);
      pixels = pre.pixels;
      sizeHW = pre.imageSizeHW;
    }
    const { imageSize: S, patchSize, numChannels: C } = p.cfg.vision;
    const plan = packPlan(sizeHW, pinpoints, S, patchSize, p.cfg.maxNumPatches);
    const crops = pixels.length / (C * S * S);
    if (!Number.isInteger(crops) || crops !== 1 + plan.tileGrid[0] * plan.tileGrid[1]) {
      throw new UserError(`Got ${pixels.length} pixel values; expected ${1 + plan.tileGrid[0] * plan.tileGrid[1]} crops of ${C}x${S}x${S}.`);
    }
    const text = expandLlavaPrompt(prompt, [plan.numTokens]);
    const ids = withTarget(p.tokenizer, p.tokenizer.encode(text), req.target);
    const spans = llavaOvSpans(ids, p.cfg.imageTokenId, p.imEndId, plan);
    const pix = tf.tensor4d(pixels, [crops, C, S, S]);
    const feats = selectFeatures(p, pix);
    const projected = p.projector.project(feats) as tf.Tensor3D;
    const packed = p.projector.pack(projected, plan);
    try {
      return { text, ids, spans, features: (await packed.data()) as Float32Array };
    } finally {
      tf.dispose([pix, feats, projected, packed]);
    }
  };
}
