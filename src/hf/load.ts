/**
 * Hugging Face model folder -> HfModel. Reads config.json, the weights (single file, shards with an
 * index, or a named file such as model.bf16.safetensors), tokenizer.json and the processor files, and
 * maps everything onto narrowgate's Decoder plus the family's image path.
 *
 * Weights are converted to float32 on the backend. When they would not fit the wasm backend (or when
 * asked), the decoder layers stay in JS memory in their file dtype and run layer by layer.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../model/config.js';
import { Decoder } from '../model/decoder.js';
import { noProgress, type ProgressFactory } from '../util/progress.js';
import { buildImg2Bpe, CHAMELEON_BOI, CHAMELEON_EOI, CHAMELEON_IMAGE, CHAMELEON_SEP } from './chameleon-processor.js';
import { ChameleonVqEncoder } from './chameleon-vq.js';
import { readHfConfig, type ChameleonHfConfig, type LlavaOvHfConfig } from './config.js';
import { loadDecoderWeights, toDecoderConfig } from './decoder-weights.js';
import { chameleonEncoder, llavaEncoder } from './encode.js';
import { LLAVA_IM_END } from './llava-ov-processor.js';
import { HfModel, type HfSpecialIds } from './model.js';
import { readImageProcessorConfig, readProcessorConfig } from './processor-config.js';
import { LlavaOvProjector, SiglipTower } from './siglip.js';
import { float32Bytes, LayerStore, WASM_LIMIT_BYTES } from './streaming.js';
import { loadHfTokenizer, type HfTokenizer } from './tokenizer.js';
import { openHfWeights, type HfWeights } from './weights.js';

export interface LoadHfOptions {
  /** A specific weights file or index json inside the folder (default: the index, else model.safetensors). */
  weightsFile?: string;
  /** 'auto' (default): layer by layer when the float32 weights exceed the wasm backend's 4 GiB; true / false force it. */
  layerByLayer?: boolean | 'auto';
  progress?: ProgressFactory;
}

/** Whether a model of `bytes` float32 weights is run layer by layer on the current backend. */
export function needsLayerByLayer(bytes: number, backend = tf.getBackend()): boolean {
  return backend === 'wasm' && bytes > WASM_LIMIT_BYTES * 0.85;
}

async function buildDecoder(w: HfWeights, spec: ChameleonHfConfig['decoder'], prefix: string, lmHead: string, streamed: boolean, progress: ProgressFactory): Promise<{ decoder: Decoder; store: LayerStore | null }> {
  const decoder = new Decoder(toDecoderConfig(spec), { externalBlocks: streamed });
  const bar = progress('loading decoder', spec.nLayers, 'layers');
  try {
    await loadDecoderWeights(decoder, w, spec, prefix, lmHead, streamed ? undefined : () => bar.tick());
    const store = streamed ? await LayerStore.load(w, spec, prefix, () => bar.tick()) : null;
    bar.done();
    return { decoder, store };
  } catch (e) {
    decoder.dispose();
    throw e;
  }
}

async function loadChameleon(dir: string, cfg: ChameleonHfConfig, w: HfWeights, tok: HfTokenizer, streamed: boolean, progress: ProgressFactory): Promise<HfModel> {
  const { img2bpe, imageTokenIds } = buildImg2Bpe(cfg.vocabularyMap, cfg.vq.numEmbeddings);
  const sepToken = typeof tok.config.sep_token === 'string' ? tok.config.sep_token : CHAMELEON_SEP;
  const special: HfSpecialIds = {
    bos: cfg.bosId, eos: cfg.eosId, pad: cfg.padId,
    boi: tok.requireId(CHAMELEON_BOI), eoi: tok.requireId(CHAMELEON_EOI), image: tok.requireId(CHAMELEON_IMAGE),
    sep: tok.tokenToId(sepToken) ?? null,
  };
  const imageSeqLength = Number(readProcessorConfig(dir).image_seq_length ?? (cfg.vq.resolution / 2 ** (cfg.vq.channelMultiplier.length - 1)) ** 2);
  const vq = await ChameleonVqEncoder.load(w, cfg.vq);
  try {
    const { decoder, store } = await buildDecoder(w, cfg.decoder, 'model.', 'lm_head.weight', streamed, progress);
    const config: ModelConfig = {
      family: 'native',
      decoder: decoder.cfg,
      special: { bos: special.bos ?? -1, eos: special.eos ?? -1, pad: special.pad ?? -1, boi: special.boi ?? -1, eoi: special.eoi },
      imageCodeStart: imageTokenIds[0] as number,
      imageCodeCount: imageTokenIds.length,
    };
    const encode = chameleonEncoder({ cfg, tokenizer: tok, imageCfg: readImageProcessorConfig(dir), imageSeqLength, img2bpe, ids: { bos: special.bos, boi: special.boi as number, eoi: special.eoi, image: special.image }, sepToken, vq });
    return new HfModel('chameleon', cfg, config, decoder, tok, special, imageTokenIds, store, () => vq.dispose(), encode);
  } catch (e) {
    vq.dispose();
    throw e;
  }
}

async function loadLlava(dir: string, cfg: LlavaOvHfConfig, w: HfWeights, tok: HfTokenizer, streamed: boolean, progress: ProgressFactory): Promise<HfModel> {
  const imEnd = tok.requireId(LLAVA_IM_END);
  const special: HfSpecialIds = { bos: cfg.bosId, eos: cfg.eosId ?? imEnd, pad: cfg.padId, boi: null, eoi: imEnd, image: cfg.imageTokenId, sep: null };
  const tower = await SiglipTower.load(w, cfg.vision);
  const dIn = cfg.vision.hiddenSize * (Array.isArray(cfg.visionFeatureLayer) ? cfg.visionFeatureLayer.length : 1);
  let projector: LlavaOvProjector | null = null;
  try {
    projector = await LlavaOvProjector.load(w, cfg, dIn);
    const { decoder, store } = await buildDecoder(w, cfg.decoder, 'language_model.model.', 'language_model.lm_head.weight', streamed, progress);
    const config: ModelConfig = {
      family: 'adapter',
      decoder: decoder.cfg,
      special: { bos: special.bos ?? -1, eos: special.eos ?? -1, pad: special.pad ?? -1, boi: -1, eoi: imEnd },
      vision: null,
      // forward() takes the packed, projected rows [N, D] as `features`
      projector: { dIn: cfg.decoder.dModel, dHidden: cfg.decoder.dModel, activation: 'gelu_tanh' },
    };
    const p = projector;
    const encode = llavaEncoder({ cfg, tokenizer: tok, imageCfg: readImageProcessorConfig(dir), imEndId: imEnd, tower, projector: p });
    return new HfModel('llava_onevision', cfg, config, decoder, tok, special, [], store, () => { tower.dispose(); p.dispose(); }, encode);
  } catch (e) {
    tower.dispose();
    projector?.dispose();
    throw e;
  }
}

/** Loads a Hugging Face Chameleon or LLaVA-OneVision folder. */
export async function loadHfModel(dir: string, o: LoadHfOptions = {}): Promise<HfModel> {
  const cfg = readHfConfig(dir);
  const tok = loadHfTokenizer(dir);
  const w = await openHfWeights(dir, o.weightsFile);
  try {
    const streamed = o.layerByLayer === true || ((o.layerByLayer ?? 'auto') === 'auto' && needsLayerByLayer(float32Bytes(w)));
    const progress = o.progress ?? noProgress;
    return cfg.family === 'chameleon'
      ? await loadChameleon(dir, cfg, w, tok, streamed, progress)
      : await loadLlava(dir, cfg, w, tok, streamed, progress);
  } finally {
    await w.close();
  }
}
