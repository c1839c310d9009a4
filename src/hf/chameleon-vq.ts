/**
 * Chameleon's VQ-VAE image tokenizer, encoder side (forward only): image -> grid of codebook indices.
 * Mirrors transformers' ChameleonVQVAEEncoder: conv_in; per level num_res_blocks ResNet blocks
 * (GroupNorm(32, eps 1e-6) + swish + 3x3 conv, twice; a 1x1 nin_shortcut where channels change),
 * optional attention at `attn_resolutions`, and a downsample (pad right/bottom by one, 3x3 stride-2
 * conv, no padding) after every level but the last; mid block (ResNet, single-head attention with
 * scale C^-1/2, ResNet); GroupNorm + swish + conv_out; then quant_conv and the nearest codebook entry
 * (argmin of |z|^2 + |e|^2 - 2 z.e). Layout inside is NHWC; weights arrive as PyTorch OIHW.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../util/errors.js';
import type { ChameleonVqConfig } from './config.js';
import type { HfWeights } from './weights.js';

const GN_GROUPS = 32;
const GN_EPS = 1e-6;

export interface VqEncodeResult {
  /** quant_conv output, channel-first [embedDim, G, G]. */
  latent: Float32Array;
  /** Codebook indices in raster order (row-major), length G*G. */
  codes: Int32Array;
  grid: [number, number];
}

export class ChameleonVqEncoder {
  private constructor(
    readonly cfg: ChameleonVqConfig,
    private readonly p: Map<string, tf.Tensor>,
  ) {}

  /** Grid side: resolution / 2^(levels - 1). */
  get gridSide(): number {
    return this.cfg.resolution / 2 ** (this.cfg.channelMultiplier.length - 1);
  }

  /** Loads every encoder, quant_conv and codebook tensor from `prefix` (default "model.vqmodel."). */
  static async load(w: HfWeights, cfg: ChameleonVqConfig, prefix = 'model.vqmodel.'): Promise<ChameleonVqEncoder> {
    const names = w.names().filter((n) => n.startsWith(prefix + 'encoder.') || n.startsWith(prefix + 'quant_conv.') || n.startsWith(prefix + 'quantize.'));
    if (names.length === 0) throw new UserError(`The weights have no "${prefix}encoder.*" tensors; a Chameleon checkpoint needs its VQ-VAE.`);
    const p = new Map<string, tf.Tensor>();
    try {
      for (const n of names) {
        const shape = w.shape(n);
        const data = await w.read(n);
        const key = n.slice(prefix.length);
        // conv kernels OIHW -> HWIO
        p.set(key, shape.length === 4 ? tf.tidy(() => tf.tensor4d(data, shape as [number, number, number, number]).transpose([2, 3, 1, 0])) : tf.tensor(data, shape));
      }
    } catch (e) {
      for (const t of p.values()) t.dispose();
      throw e;
    }
    const enc = new ChameleonVqEncoder(cfg, p);
    const cb = p.get('quantize.embedding.weight');
    if (!cb || cb.shape[0] !== cfg.numEmbeddings || cb.shape[1] !== cfg.embedDim) {
      enc.dispose();
      throw new UserError(`The VQ codebook "${prefix}quantize.embedding.weight" must have shape [${cfg.numEmbeddings}, ${cfg.embedDim}] (vq_config).`);
    }
    return enc;
  }

  private w(name: string): tf.Tensor {
    const t = this.p.get(name);
    if (!t) throw new UserError(`The VQ encoder weights lack "${name}"; the checkpoint does not match vq_config.`);
    return t;
  }

  private conv(x: tf.Tensor4D, name: string, stride = 1, pad: 'same' | 'valid' = 'same'): tf.Tensor4D {
    const y = tf.conv2d(x, this.w(`${name}.weight`) as tf.Tensor4D, stride, pad);
    return tf.add(y, this.w(`${name}.bias`));
  }

  private groupNorm(x: tf.Tensor4D, name: string): tf.Tensor4D {
    const [b, h, wd, c] = x.shape;
    const g = tf.reshape(x, [b, h, wd, GN_GROUPS, c / GN_GROUPS]);
    const { mean, variance } = tf.moments(g, [1, 2, 4], true);
    const n = tf.div(tf.sub(g, mean), tf.sqrt(tf.add(variance, GN_EPS)));
    return tf.add(tf.mul(tf.reshape(n, [b, h, wd, c]), this.w(`${name}.weight`)), this.w(`${name}.bias`));
  }

  private swish(x: tf.Tensor4D): tf.Tensor4D {
    return tf.mul(x, tf.sigmoid(x));
  }

  private resnet(x: tf.Tensor4D, name: string): tf.Tensor4D {
    let h = this.conv(this.swish(this.groupNorm(x, `${name}.norm1`)), `${name}.conv1`);
    h = this.conv(this.swish(this.groupNorm(h, `${name}.norm2`)), `${name}.conv2`);
    let skip = x;
    if (this.p.has(`${name}.nin_shortcut.weight`)) skip = this.conv(x, `${name}.nin_shortcut`, 1, 'valid');
    else if (this.p.has(`${name}.conv_shortcut.weight`)) skip = this.conv(x, `${name}.conv_shortcut`);
    return tf.add(skip, h);
  }

  private attention(x: tf.Tensor4D, name: string): tf.Tensor4D {
    const [b, h, wd, c] = x.shape;
    const n = this.groupNorm(x, `${name}.norm`);
    const flat = (t: tf.Tensor4D) => tf.reshape(t, [b * h * wd, c]) as tf.Tensor2D;
    const q = flat(this.conv(n, `${name}.q`, 1, 'valid'));
    const k = flat(this.conv(n, `${name}.k`, 1, 'valid'));
    const v = flat(this.conv(n, `${name}.v`, 1, 'valid'));
    const attn = tf.softmax(tf.mul(tf.matMul(q, tf.transpose(k)), c ** -0.5));
    const out = tf.reshape(tf.matMul(attn, v), [b, h, wd, c]) as tf.Tensor4D;
    return tf.add(x, this.conv(out, `${name}.proj_out`, 1, 'valid'));
  }

  /** encoder + quant_conv on NHWC pixels [1, R, R, 3] -> latent [1, G, G, embedDim] (inside a tidy). */
  latentTensor(pixels: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const { channelMultiplier, numResBlocks, attnResolutions, attnType, resolution } = this.cfg;
      let x = this.conv(pixels, 'encoder.conv_in');
      let res = resolution;
      for (let lvl = 0; lvl < channelMultiplier.length; lvl++) {
        for (let blk = 0; blk < numResBlocks; blk++) {
          x = this.resnet(x, `encoder.down.${lvl}.block.${blk}`);
          if (attnResolutions.includes(res) && attnType === 'vanilla') x = this.attention(x, `encoder.down.${lvl}.attn.${blk}`);
        }
        if (lvl !== channelMultiplier.length - 1) {
          x = tf.pad(x, [[0, 0], [0, 1], [0, 1], [0, 0]]);
          x = this.conv(x, `encoder.down.${lvl}.downsample.conv`, 2, 'valid');
          res = Math.floor(res / 2);
        }
      }
      x = this.resnet(x, 'encoder.mid.block_1');
      x = this.attention(x, 'encoder.mid.attn_1');
      x = this.resnet(x, 'encoder.mid.block_2');
      x = this.conv(this.swish(this.groupNorm(x, 'encoder.norm_out')), 'encoder.conv_out');
      return this.conv(x, 'quant_conv', 1, 'valid');
    });
  }

  /** Nearest codebook entry per latent vector: [1, G, G, D] -> [G*G] int32 (raster order). */
  codesTensor(latent: tf.Tensor4D): tf.Tensor1D {
    return tf.tidy(() => {
      const d = latent.shape[3];
      const z = tf.reshape(latent, [-1, d]) as tf.Tensor2D;
      const e = this.w('quantize.embedding.weight') as tf.Tensor2D;
      const dist = tf.sub(tf.add(tf.sum(tf.square(z), 1, true), tf.sum(tf.square(e), 1)), tf.mul(2, tf.matMul(z, tf.transpose(e))));
      return tf.argMin(dist, 1) as tf.Tensor1D;
    });
  }

  /** Encodes one preprocessed image, channel-first [3, R, R] float32. */
  async encode(pixelsChw: Float32Array): Promise<VqEncodeResult> {
    const r = this.cfg.resolution;
    const c = this.cfg.inChannels;
    if (pixelsChw.length !== c * r * r) {
      throw new UserError(`The VQ encoder expects ${c}x${r}x${r} pixels (vq_config.resolution), got ${pixelsChw.length} values.`);
    }
    const pix = tf.tidy(() => tf.tensor4d(pixelsChw, [1, c, r, r]).transpose([0, 2, 3, 1]) as tf.Tensor4D);
    const latent = this.latentTensor(pix);
    const codesT = this.codesTensor(latent);
    const chw = tf.tidy(() => tf.transpose(latent, [0, 3, 1, 2]));
    try {
      const [lat, codes] = await Promise.all([chw.data(), codesT.data()]);
      const g = latent.shape[1];
      return { latent: lat as Float32Array, codes: Int32Array.from(codes), grid: [g, latent.shape[2]] };
    } finally {
      tf.dispose([pix, latent, codesT, chw]);
    }
  }

  dispose(): void {
    for (const t of this.p.values()) t.dispose();
    this.p.clear();
  }
}
