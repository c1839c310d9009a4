/**
 * Maps a Hugging Face decoder (Chameleon, Qwen2) onto narrowgate's Decoder. transformers stores
 * linear weights [out, in]; narrowgate's are [in, out], so they are transposed. Names:
 *   {p}embed_tokens.weight -> embed.W_E         {p}norm.weight -> ln_final.w     lm_head.weight^T -> unembed.W_U
 *   {p}layers.l.input_layernorm.weight -> ln1.w  post_attention_layernorm.weight -> ln2.w
 *   self_attn.{q,k,v,o}_proj.weight^T -> attn.W_{Q,K,V,O}   self_attn.{q,k,v}_proj.bias -> attn.b_{Q,K,V}
 *   self_attn.{q,k}_norm.{weight,bias} -> attn.{q,k}_norm.{w,b}  mlp.{gate,up,down}_proj.weight^T -> mlp.W_{gate,in,out}
 * Layer weights can also be kept in JS memory in their file dtype (bf16/f16 stay 2 bytes per value)
 * and turned into tensors one layer at a time (streaming.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { decoderConfig, type DecoderConfig } from '../model/config.js';
import type { Decoder } from '../model/decoder.js';
import { UserError } from '../util/errors.js';
import type { HfDecoderSpec } from './config.js';
import type { HfWeights } from './weights.js';

export function toDecoderConfig(s: HfDecoderSpec): DecoderConfig {
  return decoderConfig({
    vocabSize: s.vocabSize,
    dModel: s.dModel,
    nLayers: s.nLayers,
    nHeads: s.nHeads,
    nKvHeads: s.nKvHeads,
    headDim: s.headDim,
    dMlp: s.dFF,
    ropeTheta: s.ropeTheta,
    rmsNormEps: s.rmsEps,
    qkNorm: s.qkNorm,
    qkNormEps: 1e-5, // hard-coded in transformers' ChameleonLayerNorm
    qkvBias: s.qkvBias,
    normPlacement: s.swinNorm ? 'swin' : 'pre',
    tieEmbeddings: s.tieEmbeddings,
  });
}

/** One narrowgate weight and where it comes from: the HF name, its HF shape, and whether to transpose. */
export interface WeightSource {
  local: string;
  hf: string;
  hfShape: number[];
  transpose: boolean;
}

/** Sources of decoder layer `l`'s weights (local names as in blockParamSpecs). */
export function blockSources(s: HfDecoderSpec, prefix: string, l: number): WeightSource[] {
  const L = `${prefix}layers.${l}.`;
  const D = s.dModel, H = s.nHeads, K = s.nKvHeads, Dh = s.headDim, F = s.dFF;
  const lin = (local: string, hf: string, out: number, inn: number): WeightSource => ({ local, hf: L + hf, hfShape: [out, inn], transpose: true });
  const vec = (local: string, hf: string, shape: number[]): WeightSource => ({ local, hf: L + hf, hfShape: shape, transpose: false });
  const out: WeightSource[] = [
    vec('ln1.w', 'input_layernorm.weight', [D]),
    lin('attn.W_Q', 'self_attn.q_proj.weight', H * Dh, D),
    lin('attn.W_K', 'self_attn.k_proj.weight', K * Dh, D),
    lin('attn.W_V', 'self_attn.v_proj.weight', K * Dh, D),
    lin('attn.W_O', 'self_attn.o_proj.weight', D, H * Dh),
  ];
  if (s.qkvBias) {
    out.push(vec('attn.b_Q', 'self_attn.q_proj.bias', [H * Dh]), vec('attn.b_K', 'self_attn.k_proj.bias', [K * Dh]), vec('attn.b_V', 'self_attn.v_proj.bias', [K * Dh]));
  }
  if (s.qkNorm) {
    out.push(
      vec('attn.q_norm.w', 'self_attn.q_norm.weight', [H, Dh]), vec('attn.q_norm.b', 'self_attn.q_norm.bias', [H, Dh]),
      vec('attn.k_norm.w', 'self_attn.k_norm.weight', [K, Dh]), vec('attn.k_norm.b', 'self_attn.k_norm.bias', [K, Dh]),
    );
  }
  out.push(
    vec('ln2.w', 'post_attention_layernorm.weight', [D]),
    lin('mlp.W_gate', 'mlp.gate_proj.weight', F, D),
    lin('mlp.W_in', 'mlp.up_proj.weight', F, D),
    lin('mlp.W_out', 'mlp.down_proj.weight', D, F),
  );
  return out;
}

/** Sources of the weights outside the blocks (full narrowgate names). */
export function headSources(s: HfDecoderSpec, prefix: string, lmHead: string): WeightSource[] {
  const out: WeightSource[] = [
    { local: 'embed.W_E', hf: `${prefix}embed_tokens.weight`, hfShape: [s.vocabSize, s.dModel], transpose: false },
    { local: 'ln_final.w', hf: `${prefix}norm.weight`, hfShape: [s.dModel], transpose: false },
  ];
  if (!s.tieEmbeddings) out.push({ local: 'unembed.W_U', hf: lmHead, hfShape: [s.vocabSize, s.dModel], transpose: true });
  return out;
}

/** [rows, cols] row-major -> [cols, rows]. */
export function transpose2d(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = a[base + c] as number;
  }
  return out;
}

/** Reads one source as float32 in narrowgate's layout. */
export async function readSource(w: HfWeights, src: WeightSource): Promise<Float32Array> {
  const data = await w.readShaped(src.hf, src.hfShape);
  return src.transpose ? transpose2d(data, src.hfShape[0] as number, src.hfShape[1] as number) : data;
}

function assign(v: tf.Variable, data: Float32Array, name: string): void {
  if (data.length !== v.size) throw new UserError(`Weight ${name} has ${data.length} values but the model expects shape [${v.shape.join(', ')}].`);
  const t = tf.tensor(data, v.shape, 'float32');
  v.assign(t);
  t.dispose();
}

/**
 * Fills a Decoder's variables from the checkpoint: the head weights always, and the blocks unless
 * they are external (streamed). `onLayer` reports progress.
 */
export async function loadDecoderWeights(dec: Decoder, w: HfWeights, s: HfDecoderSpec, prefix: string, lmHead: string, onLayer?: (l: number) => void): Promise<void> {
  const params = dec.namedParameters();
  const need = (name: string): tf.Variable => {
    const v = params.get(name);
    if (!v) throw new Error(`decoder has no parameter ${name}`);
    return v;
  };
  for (const src of headSources(s, prefix, lmHead)) assign(need(src.local), await readSource(w, src), src.hf);
  for (let l = 0; l < s.nLayers; l++) {
    if (!dec.blocks[l]?.isExternal) {
      for (const src of blockSources(s, prefix, l)) assign(need(`blocks.${l}.${src.local}`), await readSource(w, src), src.hf);
    }
    onLayer?.(l);
  }
}
