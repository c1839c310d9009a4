/**
 * Reads a Hugging Face model folder's config.json (model_type chameleon or llava_onevision) into
 * plain typed configs. Missing keys take the defaults of the transformers config classes, so sparse
 * hub configs (transformers 4) and full ones (transformers 5 save_pretrained) both load. Every size
 * comes from the file; nothing is assumed about a particular checkpoint.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';

/** The decoder, in narrowgate's terms (Llama-shaped; see DESIGN.md section 3). */
export interface HfDecoderSpec {
  vocabSize: number;
  dModel: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  dFF: number;
  rmsEps: number;
  ropeTheta: number;
  maxPositions: number;
  tieEmbeddings: boolean;
  /** Chameleon: LayerNorm over head_dim with per-head weight and bias, before rotary. */
  qkNorm: boolean;
  /** Qwen2: q/k/v projections carry biases (o_proj does not). */
  qkvBias: boolean;
  /** Chameleon 30B: the norm is applied to the sublayer output before the residual add. */
  swinNorm: boolean;
}

export interface ChameleonVqConfig {
  embedDim: number;
  numEmbeddings: number;
  latentChannels: number;
  doubleLatent: boolean;
  resolution: number;
  inChannels: number;
  baseChannels: number;
  channelMultiplier: number[];
  numResBlocks: number;
  attnResolutions: number[];
  attnType: string;
}

export interface ChameleonHfConfig {
  family: 'chameleon';
  decoder: HfDecoderSpec;
  vq: ChameleonVqConfig;
  /** Token string -> id, exactly the tokenizer's vocabulary. */
  vocabularyMap: Record<string, number>;
  imageTokenId: number;
  bosId: number | null;
  eosId: number | null;
  padId: number | null;
  dtype: string;
}

export interface SiglipConfig {
  hiddenSize: number;
  intermediateSize: number;
  nLayers: number;
  nHeads: number;
  imageSize: number;
  patchSize: number;
  numChannels: number;
  layerNormEps: number;
  hiddenAct: string;
}

export interface LlavaOvHfConfig {
  family: 'llava_onevision';
  decoder: HfDecoderSpec;
  vision: SiglipConfig;
  imageTokenId: number;
  videoTokenId: number | null;
  /** [height, width] pairs. */
  gridPinpoints: [number, number][];
  visionFeatureLayer: number | number[];
  selectStrategy: 'full' | 'default';
  projectorAct: string;
  projectorBias: boolean;
  /** The N of "anyres_max_N": the tile grid is downsampled when it exceeds about N base grids. */
  maxNumPatches: number;
  bosId: number | null;
  eosId: number | null;
  padId: number | null;
  dtype: string;
}

export type HfConfig = ChameleonHfConfig | LlavaOvHfConfig;

type Obj = Record<string, unknown>;

function num(o: Obj, key: string, dflt: number, where: string): number {
  const v = o[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new UserError(`${where}: "${key}" must be a number, got ${JSON.stringify(v)}.`);
  return v;
}

function idOrNull(o: Obj, key: string): number | null {
  const v = o[key];
  if (typeof v === 'number') return v;
  if (Array.isArray(v) && typeof v[0] === 'number') return v[0];
  return null;
}

function ropeTheta(o: Obj, dflt: number, where: string): number {
  const rp = (o.rope_parameters ?? o.rope_scaling) as Obj | null | undefined;
  if (rp && typeof rp === 'object') {
    const type = (rp.rope_type ?? rp.type ?? 'default') as string;
    if (type !== 'default') {
      throw new UserError(`${where}: rope type "${type}" is not supported; expected the default rotary embedding.`);
    }
    if (typeof rp.rope_theta === 'number') return rp.rope_theta;
  }
  return num(o, 'rope_theta', dflt, where);
}

function decoderSpec(o: Obj, where: string, d: { vocab: number; hidden: number; ff: number; layers: number; heads: number; eps: number; theta: number; maxPos: number }, extra: Pick<HfDecoderSpec, 'qkNorm' | 'qkvBias' | 'swinNorm'>, tie: boolean): HfDecoderSpec {
  const dModel = num(o, 'hidden_size', d.hidden, where);
  const nHeads = num(o, 'num_attention_heads', d.heads, where);
  const nKvHeads = num(o, 'num_key_value_heads', nHeads, where);
  const headDim = num(o, 'head_dim', dModel / nHeads, where);
  if (!Number.isInteger(headDim) || nHeads % nKvHeads !== 0) {
    throw new UserError(`${where}: hidden_size ${dModel}, ${nHeads} heads and ${nKvHeads} kv heads do not give a whole head size and group count.`);
  }
  return {
    vocabSize: num(o, 'vocab_size', d.vocab, where),
    dModel,
    nLayers: num(o, 'num_hidden_layers', d.layers, where),
    nHeads,
    nKvHeads,
    headDim,
    dFF: num(o, 'intermediate_size', d.ff, where),
    rmsEps: num(o, 'rms_norm_eps', d.eps, where),
    ropeTheta: ropeTheta(o, d.theta, where),
    maxPositions: num(o, 'max_position_embeddings', d.maxPos, where),
    tieEmbeddings: tie,
    ...extra,
  };
}

function chameleon(c: Obj, where: string): ChameleonHfConfig {
  const vq = (c.vq_config ?? {}) as Obj;
  const vw = `${where} vq_config`;
  const vocabularyMap = c.vocabulary_map as Record<string, number> | undefined;
  if (!vocabularyMap || typeof vocabularyMap !== 'object') {
    throw new UserError(`${where} has no "vocabulary_map"; a Chameleon config must map token strings to ids.`);
  }
  const imageTokenId = typeof c.image_token_id === 'number' ? c.image_token_id : vocabularyMap['<image>'];
  if (typeof imageTokenId !== 'number') throw new UserError(`${where}: cannot find the <image> token id (image_token_id or vocabulary_map["<image>"]).`);
  const act = c.hidden_act ?? 'silu';
  if (act !== 'silu') throw new UserError(`${where}: hidden_act "${String(act)}" is not supported; expected "silu".`);
  if (c.attention_bias === true || c.mlp_bias === true) throw new UserError(`${where}: attention_bias / mlp_bias true is not supported for Chameleon.`);
  return {
    family: 'chameleon',
    decoder: decoderSpec(c, where, { vocab: 65536, hidden: 4096, ff: 11008, layers: 32, heads: 32, eps: 1e-5, theta: 10000, maxPos: 4096 },
      { qkNorm: true, qkvBias: false, swinNorm: c.swin_norm === true }, c.tie_word_embeddings === true),
    vq: {
      embedDim: num(vq, 'embed_dim', 256, vw),
      numEmbeddings: num(vq, 'num_embeddings', 8192, vw),
      latentChannels: num(vq, 'latent_channels', 256, vw),
      doubleLatent: vq.double_latent === true,
      resolution: num(vq, 'resolution', 512, vw),
      inChannels: num(vq, 'in_channels', 3, vw),
      baseChannels: num(vq, 'base_channels', 128, vw),
      channelMultiplier: (vq.channel_multiplier as number[] | undefined) ?? [1, 1, 2, 2, 4],
      numResBlocks: num(vq, 'num_res_blocks', 2, vw),
      attnResolutions: (vq.attn_resolutions as number[] | null | undefined) ?? [],
      attnType: (vq.attn_type as string | undefined) ?? 'vanilla',
    },
    vocabularyMap,
    imageTokenId,
    bosId: idOrNull(c, 'bos_token_id'),
    eosId: idOrNull(c, 'eos_token_id'),
    padId: idOrNull(c, 'pad_token_id'),
    dtype: String(c.dtype ?? c.torch_dtype ?? 'float32'),
  };
}

function llavaOv(c: Obj, where: string): LlavaOvHfConfig {
  const t = (c.text_config ?? {}) as Obj;
  const v = (c.vision_config ?? {}) as Obj;
  const tw = `${where} text_config`;
  const vw = `${where} vision_config`;
  const textType = t.model_type ?? 'qwen2';
  if (textType !== 'qwen2') throw new UserError(`${tw}: model_type "${String(textType)}" is not supported; expected "qwen2".`);
  if ((v.model_type ?? 'siglip_vision_model') !== 'siglip_vision_model') {
    throw new UserError(`${vw}: model_type "${String(v.model_type)}" is not supported; expected "siglip_vision_model".`);
  }
  if (t.use_sliding_window === true || (Array.isArray(t.layer_types) && t.layer_types.some((x) => x !== 'full_attention'))) {
    throw new UserError(`${tw}: sliding-window attention is not supported; expected full attention in every layer.`);
  }
  const tie = (t.tie_word_embeddings ?? c.tie_word_embeddings) === true;
  const strategy = (c.vision_feature_select_strategy ?? 'full') as string;
  if (strategy !== 'full' && strategy !== 'default') throw new UserError(`${where}: vision_feature_select_strategy "${strategy}" is not supported; expected "full" or "default".`);
  const aspect = String(c.vision_aspect_ratio ?? 'anyres_max_9');
  const m = /^anyres_max_(\d+)$/.exec(aspect);
  if (!m) throw new UserError(`${where}: vision_aspect_ratio "${aspect}" is not supported; expected "anyres_max_N".`);
  const pin = (c.image_grid_pinpoints ?? [[384, 384]]) as [number, number][];
  return {
    family: 'llava_onevision',
    decoder: decoderSpec(t, tw, { vocab: 151936, hidden: 4096, ff: 22016, layers: 32, heads: 32, eps: 1e-6, theta: 10000, maxPos: 32768 },
      { qkNorm: false, qkvBias: true, swinNorm: false }, tie),
    vision: {
      hiddenSize: num(v, 'hidden_size', 1152, vw),
      intermediateSize: num(v, 'intermediate_size', 4304, vw),
      nLayers: num(v, 'num_hidden_layers', 26, vw),
      nHeads: num(v, 'num_attention_heads', 14, vw),
      imageSize: num(v, 'image_size', 384, vw),
      patchSize: num(v, 'patch_size', 14, vw),
      numChannels: num(v, 'num_channels', 3, vw),
      layerNormEps: num(v, 'layer_norm_eps', 1e-6, vw),
      hiddenAct: String(v.hidden_act ?? 'gelu_pytorch_tanh'),
    },
    imageTokenId: num(c, 'image_token_index', num(c, 'image_token_id', 151646, where), where),
    videoTokenId: idOrNull(c, 'video_token_index') ?? idOrNull(c, 'video_token_id'),
    gridPinpoints: pin,
    visionFeatureLayer: (c.vision_feature_layer ?? -1) as number | number[],
    selectStrategy: strategy,
    projectorAct: String(c.projector_hidden_act ?? 'gelu'),
    projectorBias: c.multimodal_projector_bias !== false,
    maxNumPatches: Number(m[1]),
    bosId: idOrNull(t, 'bos_token_id'),
    eosId: idOrNull(t, 'eos_token_id'),
    padId: idOrNull(t, 'pad_token_id'),
    dtype: String(c.dtype ?? c.torch_dtype ?? t.dtype ?? t.torch_dtype ?? 'float32'),
  };
}

/** True when `dir` looks like a Hugging Face model folder (config.json with a model_type). */
export function isHfModelDir(dir: string): boolean {
  const p = join(dir, 'config.json');
  if (!existsSync(p)) return false;
  try {
    const c = JSON.parse(readFileSync(p, 'utf8')) as Obj;
    return typeof c.model_type === 'string';
  } catch {
    return false;
  }
}

/** Reads and checks `dir/config.json`. */
export function readHfConfig(dir: string): HfConfig {
  const where = join(dir, 'config.json');
  if (!existsSync(where)) throw new UserError(`${dir} has no config.json; expected a Hugging Face model folder.`);
  let c: Obj;
  try {
    c = JSON.parse(readFileSync(where, 'utf8')) as Obj;
  } catch {
    throw new UserError(`${where} is not valid JSON.`);
  }
  if (c.model_type === 'chameleon') return chameleon(c, where);
  if (c.model_type === 'llava_onevision') return llavaOv(c, where);
  throw new UserError(`${where}: model_type ${JSON.stringify(c.model_type)} is not supported; expected "chameleon" or "llava_onevision".`);
}
