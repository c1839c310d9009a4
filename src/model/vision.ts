/**
 * The adapter family's small ViT: patch embedding by reshape + matmul (no conv2d, whose gradient
 * wasm lacks), learned position embeddings, bidirectional blocks (the decoder's Block with
 * causal = false and no rotary), final RMSNorm. Pixels [B, H, W, C] -> features [B, N, Dv], patches
 * in raster order. Parameters: vision.patch.W [p*p*C, Dv] (rows ordered (row in patch, column in
 * patch, channel)), vision.patch.b [Dv], vision.pos.W_pos [N, Dv], vision.blocks.{l}.*,
 * vision.ln_final.w. Hooks: vision.hook_embed, vision.blocks.{l}.*, vision.ln_final.hook_normalized.
 */
import * as tf from '@tensorflow/tfjs';
import { Block } from './block.js';
import { numPatches, validateVisionConfig, visionBlockConfig, type VisionConfig } from './config.js';
import { HookPoint, type HookTable } from './hookpoint.js';
import { rmsNorm } from './norms.js';
import { linear } from './ops.js';
import { createVariables, type ParamSpec } from './params.js';
import { buildState } from './state.js';
import type { Rng } from '../util/rng.js';
import { UserError } from '../util/errors.js';

export class VisionEncoder {
  readonly blocks: Block[];
  private vars: Map<string, tf.Variable>;
  readonly hookEmbed = new HookPoint('vision.hook_embed', null);
  readonly hookLnFinal = new HookPoint('vision.ln_final.hook_normalized', null);

  constructor(readonly cfg: VisionConfig, rng: Rng) {
    validateVisionConfig(cfg);
    const p = cfg.patchSize, D = cfg.dModel;
    const specs: ParamSpec[] = [
      { name: 'vision.patch.W', shape: [p * p * cfg.channels, D], init: 'normal', std: 1 / Math.sqrt(p * p * cfg.channels) },
      { name: 'vision.patch.b', shape: [D], init: 'zeros' },
      { name: 'vision.pos.W_pos', shape: [numPatches(cfg), D], init: 'normal', std: 0.02 },
    ];
    this.vars = createVariables(specs, rng);
    const bc = visionBlockConfig(cfg);
    this.blocks = Array.from({ length: cfg.nLayers }, (_, l) => new Block(bc, { prefix: `vision.blocks.${l}`, layer: l, rng }));
    for (const [k, v] of createVariables([{ name: 'vision.ln_final.w', shape: [D], init: 'ones' }], rng)) this.vars.set(k, v);
  }

  private v(name: string): tf.Variable {
    const t = this.vars.get(name);
    if (!t) throw new Error(`vision parameter ${name} is missing (disposed?)`);
    return t;
  }

  /** pixels [B, H, W, C] -> patch rows [B, N, p*p*C] by reshapes and one 4-D transpose. */
  patchify(pixels: tf.Tensor): tf.Tensor {
    const { imageSize: S, patchSize: p, channels: C } = this.cfg;
    if (pixels.rank !== 4 || pixels.shape[1] !== S || pixels.shape[2] !== S || pixels.shape[3] !== C) {
      throw new UserError(`Pixels must be [batch, ${S}, ${S}, ${C}], got [${pixels.shape}].`);
    }
    const B = pixels.shape[0] as number, g = S / p;
    const rows = pixels.toFloat().reshape([B * g, p, g, p * C]); // [B*gy, py, gx, px*C]
    return tf.transpose(rows, [0, 2, 1, 3]).reshape([B, g * g, p * p * C]);
  }

  /** pixels [B, H, W, C] -> [B, N, Dv]. Call inside tf.tidy. */
  forward(pixels: tf.Tensor, hooks?: HookTable): tf.Tensor {
    const B = pixels.shape[0] as number, N = numPatches(this.cfg);
    const st = buildState({ batch: B, T: N, causal: false, rope: null }, { hooks });
    let x = tf.add(linear(this.patchify(pixels), this.v('vision.patch.W'), this.v('vision.patch.b')), this.v('vision.pos.W_pos'));
    x = this.hookEmbed.run(x, st);
    for (const b of this.blocks) x = b.forward(x, st);
    return this.hookLnFinal.run(rmsNorm(x, this.v('vision.ln_final.w'), this.cfg.rmsNormEps), st);
  }

  hookPoints(): HookPoint[] {
    return [this.hookEmbed, ...this.blocks.flatMap((b) => b.hookPoints()), this.hookLnFinal];
  }

  namedParameters(into: Map<string, tf.Variable>): void {
    for (const n of ['vision.patch.W', 'vision.patch.b', 'vision.pos.W_pos']) into.set(n, this.v(n));
    for (const b of this.blocks) b.namedParameters(into);
    into.set('vision.ln_final.w', this.v('vision.ln_final.w'));
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
    for (const b of this.blocks) b.dispose();
  }
}
