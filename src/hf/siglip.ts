/**
 * LLaVA-OneVision's vision path, forward only: the SigLIP tower (patch conv with bias as reshape +
 * matmul, learned position embedding, pre-LN encoder layers with q/k/v/out biases, bidirectional
 * attention, MLP with gelu_pytorch_tanh; no post_layernorm on the selected features), the 2-layer
 * projector (linear_1 -> exact-erf GELU -> linear_2) and the packing of the projected crops into the
 * placeholder rows (image_newline after each tile-grid row). HF linears are [out, in]; they are held
 * transposed as [in, out].
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../util/errors.js';
import type { LlavaOvHfConfig, SiglipConfig } from './config.js';
import type { PackPlan } from './llava-ov-processor.js';
import type { HfWeights } from './weights.js';

type P = Map<string, tf.Tensor>;

async function loadLinear(w: HfWeights, p: P, name: string, inF: number, outF: number, bias = true): Promise<void> {
  const data = await w.readShaped(`${name}.weight`, [outF, inF]);
  p.set(`${name}.weight`, tf.tidy(() => tf.transpose(tf.tensor2d(data, [outF, inF]))));
  if (bias) p.set(`${name}.bias`, tf.tensor1d(await w.readShaped(`${name}.bias`, [outF])));
}

async function loadVector(w: HfWeights, p: P, name: string, n: number): Promise<void> {
  p.set(name, tf.tensor1d(await w.readShaped(name, [n])));
}

function get(p: P, name: string): tf.Tensor {
  const t = p.get(name);
  if (!t) throw new Error(`missing weight ${name}`);
  return t;
}

function linear(p: P, x: tf.Tensor, name: string): tf.Tensor {
  const [n, d] = [x.size / (x.shape[x.rank - 1] as number), x.shape[x.rank - 1] as number];
  const y = tf.matMul(tf.reshape(x, [n, d]) as tf.Tensor2D, get(p, `${name}.weight`) as tf.Tensor2D);
  const b = p.get(`${name}.bias`);
  return tf.reshape(b ? tf.add(y, b) : y, [...x.shape.slice(0, -1), y.shape[1] as number]);
}

function layerNorm(p: P, x: tf.Tensor, name: string, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), get(p, `${name}.weight`)), get(p, `${name}.bias`));
}

export function geluTanh(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.mul(tf.mul(x, x), x))));
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
}

export function geluErf(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

function activation(name: string): (x: tf.Tensor) => tf.Tensor {
  if (name === 'gelu_pytorch_tanh' || name === 'gelu_new' || name === 'gelu_fast') return geluTanh;
  if (name === 'gelu') return geluErf;
  throw new UserError(`Activation "${name}" is not supported; expected gelu or gelu_pytorch_tanh.`);
}

export class SiglipTower {
  private constructor(readonly cfg: SiglipConfig, private readonly p: P) {}

  static async load(w: HfWeights, cfg: SiglipConfig, prefix = 'vision_tower.vision_model.'): Promise<SiglipTower> {
    const p: P = new Map();
    const { hiddenSize: D, intermediateSize: F, patchSize: ps, numChannels: C, imageSize } = cfg;
    const nPatches = (imageSize / ps) ** 2;
    try {
      const pe = await w.readShaped(`${prefix}embeddings.patch_embedding.weight`, [D, C, ps, ps]);
      p.set('patch.weight', tf.tidy(() => tf.transpose(tf.tensor2d(pe, [D, C * ps * ps]))));
      p.set('patch.bias', tf.tensor1d(await w.readShaped(`${prefix}embeddings.patch_embedding.bias`, [D])));
      p.set('pos', tf.tensor2d(await w.readShaped(`${prefix}embeddings.position_embedding.weight`, [nPatches, D]), [nPatches, D]));
      for (let l = 0; l < cfg.nLayers; l++) {
        const L = `${prefix}encoder.layers.${l}.`;
        for (const n of ['layer_norm1', 'layer_norm2']) {
          await loadVector(w, p, `${L}${n}.weight`, D);
          await loadVector(w, p, `${L}${n}.bias`, D);
        }
        for (const n of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) await loadLinear(w, p, `${L}self_attn.${n}`, D, D);
        await loadLinear(w, p, `${L}mlp.fc1`, D, F);
        await loadLinear(w, p, `${L}mlp.fc2`, F, D);
      }
    } catch (e) {
      tf.dispose([...p.values()]);
      throw e;
    }
    // strip the prefix so forward() does not depend on the naming layout
    const q: P = new Map([...p].map(([k, v]) => [k.startsWith(prefix) ? k.slice(prefix.length) : k, v]));
    return new SiglipTower(cfg, q);
  }

  /**
   * pixels [N, C, S, S] (channel-first) -> hidden states [N, P, D] for layers 0..upTo (index 0 = the
   * embeddings, l = output of encoder layer l-1). Returns upTo+1 tensors; the caller owns them.
   */
  forward(pixels: tf.Tensor4D, upTo = this.cfg.nLayers): tf.Tensor3D[] {
    return tf.tidy(() => {
      const { hiddenSize: D, patchSize: ps, numChannels: C, nHeads: H, layerNormEps: eps } = this.cfg;
      const [n, , S] = pixels.shape;
      const g = Math.floor(S / ps);
      const patches = tf.reshape(tf.transpose(tf.reshape(pixels, [n, C, g, ps, g, ps]), [0, 2, 4, 1, 3, 5]), [n * g * g, C * ps * ps]);
      let h = tf.reshape(tf.add(tf.matMul(patches as tf.Tensor2D, get(this.p, 'patch.weight') as tf.Tensor2D), get(this.p, 'patch.bias')), [n, g * g, D]);
      h = tf.add(h, get(this.p, 'pos'));
      const out: tf.Tensor3D[] = [h as tf.Tensor3D];
      const act = activation(this.cfg.hiddenAct);
      const hd = D / H;
      for (let l = 0; l < upTo; l++) {
        const L = `encoder.layers.${l}.`;
        const x = layerNorm(this.p, h, `${L}layer_norm1`, eps);
        const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [n, g * g, H, hd]), [0, 2, 1, 3]);
        const q = heads(linear(this.p, x, `${L}self_attn.q_proj`));
        const k = heads(linear(this.p, x, `${L}self_attn.k_proj`));
        const v = heads(linear(this.p, x, `${L}self_attn.v_proj`));
        const att = tf.softmax(tf.mul(tf.matMul(q, k, false, true), hd ** -0.5));
        const z = tf.reshape(tf.transpose(tf.matMul(att, v), [0, 2, 1, 3]), [n, g * g, D]);
        h = tf.add(h, linear(this.p, z, `${L}self_attn.out_proj`));
        const m = linear(this.p, act(linear(this.p, layerNorm(this.p, h, `${L}layer_norm2`, eps), `${L}mlp.fc1`)), `${L}mlp.fc2`);
        h = tf.add(h, m);
        out.push(h as tf.Tensor3D);
      }
      return out;
    });
  }

  dispose(): void {
    tf.dispose([...this.p.values()]);
    this.p.clear();
  }
}

/** The projector plus image_newline: [N crops, P, Dv] features -> packed [numTokens, D] embeddings. */
export class LlavaOvProjector {
  private constructor(private readonly p: P, private readonly act: string) {}

  static async load(w: HfWeights, cfg: LlavaOvHfConfig, dv: number): Promise<LlavaOvProjector> {
    const p: P = new Map();
    const D = cfg.decoder.dModel;
    try {
      await loadLinear(w, p, 'multi_modal_projector.linear_1', dv, D, cfg.projectorBias);
      await loadLinear(w, p, 'multi_modal_projector.linear_2', D, D, cfg.projectorBias);
      await loadVector(w, p, 'image_newline', D);
    } catch (e) {
      tf.dispose([...p.values()]);
      throw e;
    }
    return new LlavaOvProjector(p, cfg.projectorAct);
  }

  /** linear_1 -> act -> linear_2 on [..., Dv]. */
  project(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => linear(this.p, activation(this.act)(linear(this.p, x, 'multi_modal_projector.linear_1')), 'multi_modal_projector.linear_2'));
  }

  /** Packs projected crops [N, side*side, D] by `plan` into [numTokens, D]. */
  pack(projected: tf.Tensor3D, plan: PackPlan): tf.Tensor2D {
    return tf.tidy(() => {
      const [n, P, D] = projected.shape;
      const { side, tileGrid, keep, outHW } = plan;
      if (P !== side * side || n !== 1 + tileGrid[0] * tileGrid[1]) {
        throw new UserError(`Got ${n} crops of ${P} features; the packing plan expects ${1 + tileGrid[0] * tileGrid[1]} crops of ${side * side}.`);
      }
      const newline = tf.reshape(get(this.p, 'image_newline'), [1, D]);
      const base = tf.reshape(tf.slice(projected, [0, 0, 0], [1, P, D]), [P, D]);
      // combined tile grid [th*side, tw*side, D]
      const tiles = tf.reshape(tf.slice(projected, [1, 0, 0], [n - 1, P, D]), [tileGrid[0], tileGrid[1], side, side, D]);
      let grid = tf.slice(tf.reshape(tf.transpose(tiles, [0, 2, 1, 3, 4]), [tileGrid[0] * side, tileGrid[1] * side, D]),
        [keep[0], keep[2], 0], [keep[1] - keep[0], keep[3] - keep[2], D]) as tf.Tensor3D;
      if (plan.downsampled) grid = bilinear(grid, outHW[0], outHW[1]);
      const rows: tf.Tensor[] = [base];
      for (let r = 0; r < outHW[0]; r++) {
        rows.push(tf.reshape(tf.slice(grid, [r, 0, 0], [1, outHW[1], D]), [outHW[1], D]), newline);
      }
      return tf.concat(rows, 0) as tf.Tensor2D;
    });
  }

  dispose(): void {
    tf.dispose([...this.p.values()]);
    this.p.clear();
  }
}

/** torch interpolate(mode="bilinear", align_corners=False) of [H, W, D] to [oh, ow, D], as two matmuls. */
export function bilinear(x: tf.Tensor3D, oh: number, ow: number): tf.Tensor3D {
  const [h, w, d] = x.shape;
  const weights = (inN: number, outN: number): tf.Tensor2D => {
    const m = new Float32Array(outN * inN);
    const scale = inN / outN;
    for (let o = 0; o < outN; o++) {
      let src = scale * (o + 0.5) - 0.5;
      if (src < 0) src = 0;
      const i0 = Math.trunc(src);
      const i1 = i0 < inN - 1 ? i0 + 1 : i0;
      const l1 = src - i0;
      m[o * inN + i0] = (m[o * inN + i0] as number) + (1 - l1);
      m[o * inN + i1] = (m[o * inN + i1] as number) + l1;
    }
    return tf.tensor2d(m, [outN, inN]);
  };
  const y = tf.reshape(tf.matMul(weights(h, oh), tf.reshape(x, [h, w * d]) as tf.Tensor2D), [oh, w, d]);
  const z = tf.matMul(weights(w, ow), tf.reshape(tf.transpose(y, [1, 0, 2]), [w, oh * d]) as tf.Tensor2D);
  return tf.transpose(tf.reshape(z, [ow, oh, d]), [1, 0, 2]) as tf.Tensor3D;
}
