/**
 * Model configuration. One decoder config expresses our small models and real Hugging Face
 * checkpoints (Llama, Chameleon, Qwen2): grouped-query attention, QK-norm, q/k/v biases, swin norm
 * placement, explicit head_dim. Configs are plain JSON (checkpoints store them in config.json).
 */
import { UserError } from '../util/errors.js';
import type { Activation } from './ops.js';

export interface DecoderConfig {
  vocabSize: number;
  dModel: number;
  nLayers: number;
  nHeads: number;
  /** Key/value heads (grouped-query attention); nHeads must be a multiple. Query head i reads kv head floor(i / (nHeads / nKvHeads)). */
  nKvHeads: number;
  headDim: number;
  /** Hidden width of the SwiGLU MLP. */
  dMlp: number;
  /** Rotary base (rotate_half convention). */
  ropeTheta: number;
  rmsNormEps: number;
  /** Chameleon QK-norm: LayerNorm over head_dim (eps qkNormEps), then per-head weight and bias [heads, headDim], before rotary. */
  qkNorm: boolean;
  qkNormEps: number;
  /** Biases on the q/k/v projections (Qwen2). */
  qkvBias: boolean;
  /** 'pre': x + attn(norm(x)) (Llama); 'swin': x + norm(attn(x)) (Chameleon-30B). */
  normPlacement: 'pre' | 'swin';
  /** Unembedding reuses embed.W_E (transposed); no unembed.W_U parameter. */
  tieEmbeddings: boolean;
}

/** Vision transformer of the adapter family: patch embedding, learned positions, bidirectional blocks. */
export interface VisionConfig {
  imageSize: number;
  patchSize: number;
  channels: number;
  dModel: number;
  nLayers: number;
  nHeads: number;
  dMlp: number;
  rmsNormEps: number;
}

export interface ProjectorConfig {
  /** Input width: the vision dModel, or the backbone feature width when features are given. */
  dIn: number;
  dHidden: number;
  activation: Activation;
}

/** Token ids the models and generation need to know (the tokenizer owns the full vocabulary). */
export interface SpecialIds {
  bos: number;
  eos: number;
  pad: number;
  boi: number;
  eoi: number;
}

export interface NativeConfig {
  family: 'native';
  decoder: DecoderConfig;
  special: SpecialIds;
  /** Image codes occupy ids [imageCodeStart, imageCodeStart + imageCodeCount). */
  imageCodeStart: number;
  imageCodeCount: number;
}

export interface AdapterConfig {
  family: 'adapter';
  decoder: DecoderConfig;
  special: SpecialIds;
  /** The ViT; null when the model takes precomputed backbone features [B, N, projector.dIn]. */
  vision: VisionConfig | null;
  projector: ProjectorConfig;
}

export type ModelConfig = NativeConfig | AdapterConfig;

export function decoderConfig(c: Partial<DecoderConfig> & Pick<DecoderConfig, 'vocabSize' | 'dModel' | 'nLayers' | 'nHeads'>): DecoderConfig {
  const headDim = c.headDim ?? c.dModel / c.nHeads;
  const cfg: DecoderConfig = {
    nKvHeads: c.nHeads,
    headDim,
    dMlp: 4 * c.dModel,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    qkNorm: false,
    qkNormEps: 1e-5,
    qkvBias: false,
    normPlacement: 'pre',
    tieEmbeddings: false,
    ...c,
  };
  validateDecoderConfig(cfg);
  return cfg;
}

function positiveInt(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

export function validateDecoderConfig(c: DecoderConfig, where = 'decoder config'): void {
  for (const k of ['vocabSize', 'dModel', 'nLayers', 'nHeads', 'nKvHeads', 'headDim', 'dMlp'] as const) {
    if (!positiveInt(c[k])) throw new UserError(`${where}: ${k} must be a positive integer, got ${String(c[k])}.`);
  }
  if (c.nHeads % c.nKvHeads !== 0) throw new UserError(`${where}: nHeads (${c.nHeads}) must be a multiple of nKvHeads (${c.nKvHeads}).`);
  if (c.headDim % 2 !== 0) throw new UserError(`${where}: headDim must be even for rotary embeddings, got ${c.headDim}.`);
  if (!(c.ropeTheta > 0)) throw new UserError(`${where}: ropeTheta must be positive, got ${c.ropeTheta}.`);
  if (!(c.rmsNormEps > 0) || !(c.qkNormEps > 0)) throw new UserError(`${where}: norm eps values must be positive.`);
  if (c.normPlacement !== 'pre' && c.normPlacement !== 'swin') {
    throw new UserError(`${where}: normPlacement must be 'pre' or 'swin', got '${String(c.normPlacement)}'.`);
  }
}

export function validateVisionConfig(v: VisionConfig): void {
  for (const k of ['imageSize', 'patchSize', 'channels', 'dModel', 'nLayers', 'nHeads', 'dMlp'] as const) {
    if (!positiveInt(v[k])) throw new UserError(`vision config: ${k} must be a positive integer, got ${String(v[k])}.`);
  }
  if (v.imageSize % v.patchSize !== 0) throw new UserError(`vision config: imageSize (${v.imageSize}) must be a multiple of patchSize (${v.patchSize}).`);
  if (v.dModel % v.nHeads !== 0) throw new UserError(`vision config: dModel (${v.dModel}) must be a multiple of nHeads (${v.nHeads}).`);
}

/** The decoder-shaped config of the ViT's blocks (bidirectional, no rotary; learned positions instead). */
export function visionBlockConfig(v: VisionConfig): DecoderConfig {
  return decoderConfig({
    vocabSize: 1,
    dModel: v.dModel,
    nLayers: v.nLayers,
    nHeads: v.nHeads,
    dMlp: v.dMlp,
    rmsNormEps: v.rmsNormEps,
  });
}

export function numPatches(v: VisionConfig): number {
  const side = v.imageSize / v.patchSize;
  return side * side;
}
