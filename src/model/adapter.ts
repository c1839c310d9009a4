/**
 * The adapter (non-native, LLaVA-like) family: a vision encoder (our small ViT, or precomputed
 * features of a frozen backbone) -> projector -> continuous embeddings spliced into the decoder's
 * input over each example's image span (the positions between <boi> and <eoi>; the ids there are
 * placeholders and are ignored). The splice is a one-hot selection matmul (differentiable on wasm).
 */
import * as tf from '@tensorflow/tfjs';
import { validateDecoderConfig, type AdapterConfig } from './config.js';
import { Decoder, type DecoderOptions } from './decoder.js';
import type { HookPoint, HookTable } from './hookpoint.js';
import { checkIds, hookTable, newCacheFor, type ForwardOptions, type ModelInput, type VLModel } from './model.js';
import { bmm } from './ops.js';
import { Projector } from './projector.js';
import type { Spans } from './spans.js';
import type { KVCache } from './state.js';
import { VisionEncoder } from './vision.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/rng.js';

export class AdapterModel implements VLModel {
  readonly family = 'adapter' as const;
  readonly decoder: Decoder;
  readonly vision: VisionEncoder | null;
  readonly projector: Projector;
  private names: string[] | null = null;

  constructor(readonly config: AdapterConfig, o: DecoderOptions = {}) {
    validateDecoderConfig(config.decoder);
    const rng = o.rng ?? new Rng(o.seed ?? 0);
    if (config.vision && config.projector.dIn !== config.vision.dModel) {
      throw new UserError(`adapter config: projector.dIn (${config.projector.dIn}) must equal vision.dModel (${config.vision.dModel}).`);
    }
    this.decoder = new Decoder(config.decoder, { ...o, rng });
    this.vision = config.vision ? new VisionEncoder(config.vision, rng) : null;
    this.projector = new Projector(config.projector, config.decoder.dModel, rng);
  }

  /** Projected image embeddings [B, N, D] from pixels (ViT) or features (backbone). Call inside tf.tidy. */
  imageEmbeddings(input: Pick<ModelInput, 'pixels' | 'features'>, hooks?: HookTable): tf.Tensor {
    let feats: tf.Tensor;
    if (this.vision) {
      if (!input.pixels) throw new UserError('This adapter model has a vision encoder: pass pixels [batch, H, W, C], not features.');
      feats = this.vision.forward(input.pixels, hooks);
    } else {
      if (!input.features) throw new UserError('This adapter model takes precomputed backbone features [batch, N, dIn]; none were given.');
      if (input.features.rank !== 3 || input.features.shape[2] !== this.config.projector.dIn) {
        throw new UserError(`Backbone features must be [batch, N, ${this.config.projector.dIn}], got [${input.features.shape}].`);
      }
      feats = input.features.toFloat();
    }
    return this.projector.forward(feats, { hooks, offset: 0 });
  }

  forward(input: ModelInput, opts: ForwardOptions = {}): tf.Tensor {
    checkIds(input.ids, this.config.decoder.vocabSize);
    const hooks = hookTable(this, opts.hooks);
    return tf.tidy(() => {
      let x = this.decoder.embedTokens(input.ids);
      if (input.pixels || input.features) {
        const offset = opts.cache?.length ?? 0;
        x = splice(x, this.imageEmbeddings(input, hooks), input.spans, offset);
      }
      return this.decoder.forwardEmbeds(x, {
        hooks,
        spans: input.spans,
        attentionMask: input.attentionMask,
        cache: opts.cache,
        blockWeights: opts.blockWeights,
        logitColumns: opts.logitColumns,
      });
    });
  }

  namedParameters(): Map<string, tf.Variable> {
    const m = new Map<string, tf.Variable>();
    this.vision?.namedParameters(m);
    this.projector.namedParameters(m);
    return this.decoder.namedParameters(m);
  }

  hookPoints(): HookPoint[] {
    return [...(this.vision?.hookPoints() ?? []), this.projector.hookOut, ...this.decoder.hookPoints()];
  }

  hookNames(): string[] {
    this.names ??= this.hookPoints().map((h) => h.name);
    return this.names;
  }

  newCache(batch: number): KVCache {
    return newCacheFor(this.config.decoder.nLayers, batch);
  }

  dispose(): void {
    this.vision?.dispose();
    this.projector.dispose();
    this.decoder.dispose();
  }
}

/**
 * Replaces rows of x [B, T, D] (columns offset..offset+T-1) over each example's image span with the
 * image embeddings [B, N, D]; examples whose spans have no image keep their token embeddings.
 */
export function splice(x: tf.Tensor, img: tf.Tensor, spans: readonly Spans[] | undefined, offset: number): tf.Tensor {
  const [B, T] = x.shape as [number, number, number];
  const N = img.shape[1] as number;
  if (!spans || spans.length !== B) throw new UserError(`Image input needs spans for each of the ${B} examples (to place the image).`);
  const sel = new Float32Array(B * T * N);
  const keep = new Float32Array(B * T).fill(1);
  spans.forEach((s, b) => {
    if (!s.image) return;
    const [start, end] = s.image;
    if (end - start !== N) throw new UserError(`Example ${b}: its image span holds ${end - start} positions but the image gives ${N} embeddings.`);
    if (start < offset || end > offset + T) throw new UserError(`Example ${b}: image span [${start}, ${end}) lies outside this call's positions [${offset}, ${offset + T}).`);
    for (let i = 0; i < N; i++) {
      const t = start - offset + i;
      sel[(b * T + t) * N + i] = 1;
      keep[b * T + t] = 0;
    }
  });
  const placed = bmm(tf.tensor3d(sel, [B, T, N]), img);
  return tf.add(tf.mul(x, tf.tensor3d(keep, [B, T, 1])), placed);
}
