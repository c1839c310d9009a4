/**
 * The decoder (Llama/Chameleon/Qwen2-shaped): token embedding, blocks, final RMSNorm, unembedding
 * (tied or not). Parameters: embed.W_E [V, D], blocks.{l}.* (block.ts), ln_final.w [D],
 * unembed.W_U [D, V] (absent when tied). Hooks: hook_embed, blocks.{l}.*, ln_final.hook_normalized,
 * unembed.hook_out.
 *
 * The forward pass runs block by block, each block in its own tf.tidy, so a caller can supply one
 * layer's weights per call (options.blockWeights) and have them released right after that layer.
 */
import * as tf from '@tensorflow/tfjs';
import { Block } from './block.js';
import type { DecoderConfig } from './config.js';
import { HookPoint, type HookTable } from './hookpoint.js';
import { rmsNorm } from './norms.js';
import { bmm, embedding, linear } from './ops.js';
import { createVariables, type ParamSpec, type WeightSet } from './params.js';
import { buildState, type KVCache } from './state.js';
import type { Spans } from './spans.js';
import { Rng } from '../util/rng.js';

export interface DecoderCallOptions {
  hooks?: HookTable;
  spans?: Spans[];
  /** [B][T] 1 = real token, 0 = padding (see state.ts for the padding convention). */
  attentionMask?: readonly ArrayLike<number>[];
  /** Extended in place with this call's keys and values; the owner disposes it. */
  cache?: KVCache;
  /** Weights for layer l (local names, see blockParamSpecs); required for external blocks. */
  blockWeights?: (layer: number) => WeightSet;
  /** Per example, the one column whose logits are wanted: output [B, 1, V] instead of [B, T, V]. */
  logitColumns?: readonly number[];
}

export interface DecoderOptions {
  seed?: number;
  rng?: Rng;
  /** Blocks own no variables; every forward must pass blockWeights. */
  externalBlocks?: boolean;
}

export class Decoder {
  readonly blocks: Block[];
  private vars: Map<string, tf.Variable>;
  readonly hookEmbed = new HookPoint('hook_embed', null);
  readonly hookLnFinal = new HookPoint('ln_final.hook_normalized', null);
  readonly hookUnembed = new HookPoint('unembed.hook_out', null);

  constructor(readonly cfg: DecoderConfig, o: DecoderOptions = {}) {
    const rng = o.rng ?? new Rng(o.seed ?? 0);
    const specs: ParamSpec[] = [{ name: 'embed.W_E', shape: [cfg.vocabSize, cfg.dModel], init: 'normal', std: 0.02 }];
    this.vars = createVariables(specs, rng);
    this.blocks = Array.from({ length: cfg.nLayers }, (_, l) => new Block(cfg, { prefix: `blocks.${l}`, layer: l, external: o.externalBlocks, rng }));
    const tail: ParamSpec[] = [{ name: 'ln_final.w', shape: [cfg.dModel], init: 'ones' }];
    if (!cfg.tieEmbeddings) tail.push({ name: 'unembed.W_U', shape: [cfg.dModel, cfg.vocabSize], init: 'normal', std: 0.02 });
    for (const [k, v] of createVariables(tail, rng)) this.vars.set(k, v);
  }

  private v(name: string): tf.Variable {
    const t = this.vars.get(name);
    if (!t) throw new Error(`decoder parameter ${name} is missing (disposed?)`);
    return t;
  }

  /** Token embeddings [B, T, D] for ids [B, T] (no hook: hook_embed runs in forwardEmbeds). */
  embedTokens(ids: tf.Tensor): tf.Tensor {
    return embedding(ids, this.v('embed.W_E'));
  }

  /** ids [B, T] int32 -> logits [B, T, V]. */
  forward(ids: tf.Tensor, o: DecoderCallOptions = {}): tf.Tensor {
    return tf.tidy(() => this.forwardEmbeds(this.embedTokens(ids), o));
  }

  /** Input embeddings [B, T, D] (hook_embed applies) -> logits [B, T, V] (or [B, 1, V] with logitColumns). */
  forwardEmbeds(x0: tf.Tensor, o: DecoderCallOptions = {}): tf.Tensor {
    return tf.tidy(() => {
      const [B, T] = x0.shape as [number, number, number];
      const st = buildState(
        { batch: B, T, causal: true, attentionMask: o.attentionMask, cache: o.cache, rope: { headDim: this.cfg.headDim, theta: this.cfg.ropeTheta } },
        { hooks: o.hooks, spans: o.spans },
      );
      let x = this.hookEmbed.run(x0, st);
      for (const block of this.blocks) {
        const prev = x;
        x = tf.tidy(() => block.forward(prev, st, o.blockWeights ? o.blockWeights(block.layer) : block.isExternal ? undefined : block.weights()));
      }
      if (o.logitColumns) {
        const cols = o.logitColumns;
        if (cols.length !== B || cols.some((c) => !(c >= 0 && c < T))) throw new Error(`logitColumns must hold ${B} columns in [0, ${T})`);
        // a one-hot selection matmul rather than gather: differentiable on wasm too
        const sel = new Float32Array(B * T);
        cols.forEach((c, b) => (sel[b * T + c] = 1));
        x = bmm(tf.tensor3d(sel, [B, 1, T]), x);
      }
      return this.head(x, st);
    });
  }

  /** Final norm and unembedding with their hooks: x [B, T, D] -> logits [B, T, V]. */
  head(x: tf.Tensor, run: { hooks?: HookTable; offset: number; spans?: Spans[] }): tf.Tensor {
    const h = this.hookLnFinal.run(rmsNorm(x, this.v('ln_final.w'), this.cfg.rmsNormEps), run);
    const logits = this.cfg.tieEmbeddings ? linear(h, tf.transpose(this.v('embed.W_E'))) : linear(h, this.v('unembed.W_U'));
    return this.hookUnembed.run(logits, run);
  }

  /** Hook points in forward order. */
  hookPoints(): HookPoint[] {
    return [this.hookEmbed, ...this.blocks.flatMap((b) => b.hookPoints()), this.hookLnFinal, this.hookUnembed];
  }

  namedParameters(into: Map<string, tf.Variable> = new Map()): Map<string, tf.Variable> {
    into.set('embed.W_E', this.v('embed.W_E'));
    for (const b of this.blocks) b.namedParameters(into);
    into.set('ln_final.w', this.v('ln_final.w'));
    if (!this.cfg.tieEmbeddings) into.set('unembed.W_U', this.v('unembed.W_U'));
    return into;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
    for (const b of this.blocks) b.dispose();
  }
}
