/**
 * `narrowgate info --checkpoint DIR` for a Hugging Face folder: family, sizes, dtype, memory needed
 * and the special token ids, read from config.json, tokenizer.json and the safetensors headers only
 * (no weights are loaded). describeHfCheckpoint() renders it for humans.
 */
import { readProcessorConfig } from './processor-config.js';
import { buildImg2Bpe, CHAMELEON_BOI, CHAMELEON_EOI, CHAMELEON_IMAGE, CHAMELEON_SEP } from './chameleon-processor.js';
import { readHfConfig } from './config.js';
import { LLAVA_IM_END } from './llava-ov-processor.js';
import { float32Bytes, WASM_LIMIT_BYTES } from './streaming.js';
import { loadHfTokenizer } from './tokenizer.js';
import { openHfWeights } from './weights.js';

/** Measured on this project's 2-core machine: wasm matmul throughput, float32 (STACK.md). */
const WASM_GFLOPS = 20;

export interface HfCheckpointInfo {
  dir: string;
  family: 'chameleon' | 'llava_onevision';
  decoder: { layers: number; dModel: number; heads: number; kvHeads: number; headDim: number; dMlp: number; vocabSize: number; tokenizerSize: number; ropeTheta: number; tiedEmbeddings: boolean; qkNorm: boolean; swinNorm: boolean };
  vision: Record<string, unknown>;
  weights: { files: string[]; dtypes: string[]; tensors: number; parameters: number; decoderParameters: number; bytesOnDisk: number; float32Bytes: number };
  /** Whether the wasm backend would run it layer by layer (float32 weights over ~3.4 GiB), and the JS memory that takes. */
  layerByLayerOnWasm: boolean;
  /** Rough CPU speed on the wasm backend (one core), prompt tokens per second, and a note. */
  speed: { promptTokensPerSecond: number; note: string };
  specialTokens: Record<string, number | null>;
  /** The token that plays [EOI] in the analyses. */
  eoiToken: string;
  imageTokensPerImage: number | string;
}

export async function hfCheckpointInfo(dir: string, weightsFile?: string): Promise<HfCheckpointInfo> {
  const cfg = readHfConfig(dir);
  const tok = loadHfTokenizer(dir);
  const w = await openHfWeights(dir, weightsFile);
  try {
    const sum = w.summary();
    const f32 = float32Bytes(w);
    const d = cfg.decoder;
    const decoderParameters = d.nLayers * (2 * d.dModel + d.dModel * d.headDim * (2 * d.nHeads + 2 * d.nKvHeads) + 3 * d.dModel * d.dFF);
    const parameters = f32 / 4;
    const layerByLayer = f32 > WASM_LIMIT_BYTES * 0.85;
    const tps = (WASM_GFLOPS * 1e9) / Math.max(1, 2 * (decoderParameters + d.vocabSize * d.dModel));
    const note = layerByLayer
      ? `too large for the wasm backend's 4 GiB: the decoder runs layer by layer from JS memory (${(sum.bytes / 2 ** 30).toFixed(1)} GiB), and every forward pass also converts and uploads all layers; batch prompts, expect minutes per forward on a laptop CPU`
      : 'fits the wasm backend; one core';
    const base = {
      dir,
      family: cfg.family,
      decoder: { layers: d.nLayers, dModel: d.dModel, heads: d.nHeads, kvHeads: d.nKvHeads, headDim: d.headDim, dMlp: d.dFF, vocabSize: d.vocabSize, tokenizerSize: tok.size, ropeTheta: d.ropeTheta, tiedEmbeddings: d.tieEmbeddings, qkNorm: d.qkNorm, swinNorm: d.swinNorm },
      weights: { files: w.files, dtypes: sum.dtypes, tensors: sum.count, parameters, decoderParameters, bytesOnDisk: sum.bytes, float32Bytes: f32 },
      layerByLayerOnWasm: layerByLayer,
      speed: { promptTokensPerSecond: Number(tps.toPrecision(3)), note },
    };
    if (cfg.family === 'chameleon') {
      const { imageTokenIds } = buildImg2Bpe(cfg.vocabularyMap, cfg.vq.numEmbeddings);
      const grid = cfg.vq.resolution / 2 ** (cfg.vq.channelMultiplier.length - 1);
      const sep = typeof tok.config.sep_token === 'string' ? tok.config.sep_token : CHAMELEON_SEP;
      return {
        ...base,
        vision: { kind: 'VQ-VAE', resolution: cfg.vq.resolution, grid: [grid, grid], codebook: cfg.vq.numEmbeddings, embedDim: cfg.vq.embedDim, channelMultiplier: cfg.vq.channelMultiplier, numResBlocks: cfg.vq.numResBlocks, imageCodeIds: [imageTokenIds[0], imageTokenIds[imageTokenIds.length - 1]] },
        specialTokens: {
          bos: cfg.bosId, eos: cfg.eosId, pad: cfg.padId, boi: tok.tokenToId(CHAMELEON_BOI) ?? null,
          eoi: tok.tokenToId(CHAMELEON_EOI) ?? null, image: tok.tokenToId(CHAMELEON_IMAGE) ?? null, sep: tok.tokenToId(sep) ?? null,
        },
        eoiToken: CHAMELEON_EOI,
        imageTokensPerImage: Number(readProcessorConfig(dir).image_seq_length ?? grid * grid),
      };
    }
    const v = cfg.vision;
    const side = Math.floor(v.imageSize / v.patchSize);
    return {
      ...base,
      vision: { kind: 'SigLIP', layers: v.nLayers, hiddenSize: v.hiddenSize, heads: v.nHeads, imageSize: v.imageSize, patchSize: v.patchSize, tokensPerCrop: side * side, gridPinpoints: cfg.gridPinpoints, featureLayer: cfg.visionFeatureLayer },
      specialTokens: {
        bos: cfg.bosId, eos: cfg.eosId, pad: cfg.padId, image: cfg.imageTokenId, video: cfg.videoTokenId,
        im_start: tok.tokenToId('<|im_start|>') ?? null, im_end: tok.tokenToId(LLAVA_IM_END) ?? null,
      },
      eoiToken: `${LLAVA_IM_END} closing the user turn`,
      imageTokensPerImage: `${side * side} (base) + the unpadded tile grid + one newline per row; depends on the image size`,
    };
  } finally {
    await w.close();
  }
}

const gib = (b: number): string => `${(b / 2 ** 30).toFixed(b < 2 ** 30 ? 4 : 2)} GiB`;

/** Human-readable lines for `narrowgate info --checkpoint`. */
export function describeHfCheckpoint(i: HfCheckpointInfo): string {
  const d = i.decoder;
  const lines = [
    `checkpoint: ${i.dir}`,
    `family: ${i.family} (${i.family === 'chameleon' ? 'native, early fusion' : 'adapter'})`,
    `decoder: ${d.layers} layers, d_model ${d.dModel}, ${d.heads} heads (${d.kvHeads} kv), head_dim ${d.headDim}, mlp ${d.dMlp}, vocab ${d.vocabSize} (tokenizer ${d.tokenizerSize}), rope theta ${d.ropeTheta}${d.qkNorm ? ', QK-norm' : ''}${d.swinNorm ? ', swin norm' : ''}${d.tiedEmbeddings ? ', tied embeddings' : ''}`,
    `vision: ${Object.entries(i.vision).map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(', ')}`,
    `image tokens per image: ${i.imageTokensPerImage}`,
    `weights: ${i.weights.files.length} file(s), dtype ${i.weights.dtypes.join('+')}, ${i.weights.tensors} tensors, ${i.weights.parameters.toLocaleString('en-US')} parameters, ${gib(i.weights.bytesOnDisk)} on disk`,
    `memory: ${gib(i.weights.float32Bytes)} as float32 tensors${i.layerByLayerOnWasm ? ' -> layer by layer on wasm' : ''}`,
    `speed (wasm, one core, rough): ~${i.speed.promptTokensPerSecond} prompt tokens/s; ${i.speed.note}`,
    `special tokens: ${Object.entries(i.specialTokens).map(([k, v]) => `${k}=${v}`).join(' ')}`,
    `[EOI] for the analyses: ${i.eoiToken}`,
  ];
  return lines.join('\n');
}
