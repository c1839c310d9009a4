/**
 * A Hugging Face Chameleon or LLaVA-OneVision checkpoint as a narrowgate VLModel: narrowgate's
 * Decoder (so every hook name, selector and intervention works unchanged) plus the family's image
 * path and processor. Chameleon is the native family (image -> VQ codes -> vocabulary ids; image-code
 * logits overwritten with float32 min, as transformers does); LLaVA-OneVision is the adapter family
 * (SigLIP -> projector -> packed features spliced over the <image> placeholders).
 *
 * forward() takes ids (Chameleon: placeholders already replaced by code ids, see encode()) and, for
 * LLaVA-OneVision, `features` [B, N, D]: each example's packed image features, written over its
 * spans.image (rows past an example's span length are ignored).
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../model/config.js';
import type { Decoder } from '../model/decoder.js';
import type { HookPoint } from '../model/hookpoint.js';
import { checkIds, hookTable, newCacheFor, type ForwardOptions, type ModelInput, type VLModel } from '../model/model.js';
import type { Spans } from '../model/spans.js';
import type { KVCache } from '../model/state.js';
import { UserError } from '../util/errors.js';
import type { HfConfig } from './config.js';
import type { RawImage } from './image.js';
import type { LayerStore } from './streaming.js';
import type { HfTokenizer } from './tokenizer.js';

export type HfFamily = 'chameleon' | 'llava_onevision';

/** float32 min, what transformers writes into Chameleon's image-code logits. */
export const FLOAT32_MIN = -3.4028234663852886e38;

/** One prepared example: what forward() needs, and where things are. */
export interface HfExample {
  /** The expanded prompt text that was tokenized. */
  text: string;
  /** Ids fed to the decoder (Chameleon: image placeholders replaced by the image-code ids). */
  ids: number[];
  spans: Spans;
  /** LLaVA-OneVision: packed image features [N, D], row-major (N = spans.image length). */
  features?: Float32Array;
  /** Chameleon: the VQ codes of the image (raster order). */
  codes?: Int32Array;
}

/** What to prepare: a prompt with `<image>` where the image goes (or chat messages), and the image. */
export interface HfEncodeRequest {
  /** Text with `<image>` markers (LLaVA-OneVision: already chat-templated, or give `messages`). */
  prompt?: string;
  /** LLaVA-OneVision: chat messages rendered with the ChatML template (generation prompt added). */
  messages?: { role: string; content: string | ({ type: 'image' } | { type: 'video' } | { type: 'text'; text: string })[] }[];
  /** Image file path or encoded bytes. */
  image?: string | Uint8Array;
  /** Or already decoded 8-bit pixels (RGB or RGBA, interleaved). */
  rawImage?: RawImage;
  /** Text appended after the prompt's tokens (teacher-forced, e.g. a caption); no special tokens added. */
  target?: string;
  /** Preprocessed pixels instead of `image` (Chameleon [3, R, R]; LLaVA-OneVision [crops, 3, S, S] + imageSizeHW). */
  pixelValues?: Float32Array;
  imageSizeHW?: [number, number];
  /** Chameleon: 'chat' (default, appends <reserved08706> as transformers 5) or 'completion'. */
  mode?: 'chat' | 'completion';
}

/** Family-specific ids the analyses need. */
export interface HfSpecialIds {
  bos: number | null;
  eos: number | null;
  pad: number | null;
  /** Chameleon <racm3:break>; null for LLaVA-OneVision (no BOI token). */
  boi: number | null;
  /** The [EOI] token: Chameleon <eoss>; LLaVA-OneVision <|im_end|> (the paper's stand-in). */
  eoi: number;
  /** The image placeholder <image>. */
  image: number;
  /** Chameleon <reserved08706> (sep, chat mode). */
  sep: number | null;
}

export class HfModel implements VLModel {
  readonly family: 'native' | 'adapter';
  private names: string[] | null = null;
  private readonly maskTensors: { keep: tf.Tensor; add: tf.Tensor } | null;

  constructor(
    readonly kind: HfFamily,
    readonly hf: HfConfig,
    readonly config: ModelConfig,
    readonly decoder: Decoder,
    readonly tokenizer: HfTokenizer,
    readonly special: HfSpecialIds,
    /** Vocabulary ids whose logits are suppressed (Chameleon's image codes); empty otherwise. */
    readonly suppressedIds: number[],
    /** Set when the decoder layers run layer by layer from JS memory. */
    readonly layerStore: LayerStore | null,
    private readonly disposeParts: () => void,
    /** Prompt + image -> ids, spans and image features, with this checkpoint's processor and image path. */
    readonly encode: (req: HfEncodeRequest) => Promise<HfExample>,
  ) {
    this.family = kind === 'chameleon' ? 'native' : 'adapter';
    const V = hf.decoder.vocabSize;
    if (suppressedIds.length > 0) {
      const keep = new Float32Array(V).fill(1);
      const add = new Float32Array(V);
      for (const id of suppressedIds) {
        keep[id] = 0;
        add[id] = FLOAT32_MIN;
      }
      this.maskTensors = { keep: tf.tensor1d(keep), add: tf.tensor1d(add) };
    } else this.maskTensors = null;
  }

  get streaming(): boolean {
    return this.layerStore !== null;
  }

  forward(input: ModelInput, opts: ForwardOptions = {}): tf.Tensor {
    checkIds(input.ids, this.hf.decoder.vocabSize);
    const store = this.layerStore;
    const call = {
      hooks: hookTable(this, opts.hooks),
      spans: input.spans,
      attentionMask: input.attentionMask,
      cache: opts.cache,
      blockWeights: opts.blockWeights ?? (store ? (l: number) => store.weights(l) : undefined),
      logitColumns: opts.logitColumns,
    };
    return tf.tidy(() => {
      let logits: tf.Tensor;
      if (this.kind === 'llava_onevision') {
        logits = this.decoder.forwardEmbeds(this.embedWithImages(input, opts.cache?.length ?? 0), call);
      } else {
        if (input.features || input.pixels) throw new UserError('Chameleon takes its image as code ids (use encode()); features and pixels are for LLaVA-OneVision.');
        logits = this.decoder.forward(input.ids, call);
      }
      if (this.maskTensors) logits = tf.add(tf.mul(logits, this.maskTensors.keep), this.maskTensors.add);
      return logits;
    });
  }

  /** Token embeddings with each example's image features written over its image span. */
  private embedWithImages(input: ModelInput, offset: number): tf.Tensor {
    const emb = this.decoder.embedTokens(input.ids);
    const feats = input.features;
    const spans = input.spans;
    if (!feats || !spans) return emb;
    const [B, T, D] = emb.shape as [number, number, number];
    const rows: tf.Tensor[] = [];
    for (let b = 0; b < B; b++) {
      const e = tf.reshape(tf.slice(emb, [b, 0, 0], [1, T, D]), [T, D]);
      const img = spans[b]?.image;
      if (!img || img[1] <= offset) { rows.push(e); continue; }
      const [s, end] = [img[0] - offset, img[1] - offset];
      const n = end - s;
      if (s < 0 || end > T || n > (feats.shape[1] as number)) {
        throw new UserError(`Example ${b}: the image span [${img[0]}, ${img[1]}) does not fit this call's columns or its ${feats.shape[1]} feature rows.`);
      }
      const f = tf.reshape(tf.slice(feats, [b, 0, 0], [1, n, D]), [n, D]);
      rows.push(tf.concat([tf.slice(e, [0, 0], [s, D]), f, tf.slice(e, [end, 0], [T - end, D])], 0));
    }
    return tf.stack(rows);
  }

  /**
   * The batch input for prepared examples: ids right-padded with the pad id, the attention mask,
   * spans, and (LLaVA-OneVision) the features. The caller disposes the returned tensors (dispose()).
   */
  batch(examples: readonly HfExample[]): { input: ModelInput; lengths: number[]; dispose: () => void } {
    if (examples.length === 0) throw new UserError('No examples to run.');
    const T = Math.max(...examples.map((e) => e.ids.length));
    const pad = this.special.pad ?? 0;
    const ids = new Int32Array(examples.length * T).fill(pad);
    const mask = examples.map((e) => Array.from({ length: T }, (_, t) => (t < e.ids.length ? 1 : 0)));
    examples.forEach((e, b) => ids.set(e.ids, b * T));
    const idsT = tf.tensor2d(ids, [examples.length, T], 'int32');
    let features: tf.Tensor | undefined;
    if (this.kind === 'llava_onevision' && examples.some((e) => e.features)) {
      const D = this.hf.decoder.dModel;
      const N = Math.max(...examples.map((e) => (e.features ? e.features.length / D : 0)));
      const buf = new Float32Array(examples.length * N * D);
      examples.forEach((e, b) => { if (e.features) buf.set(e.features, b * N * D); });
      features = tf.tensor3d(buf, [examples.length, N, D]);
    }
    const input: ModelInput = { ids: idsT, spans: examples.map((e) => e.spans), attentionMask: examples.some((e) => e.ids.length < T) ? mask : undefined, features };
    return { input, lengths: examples.map((e) => e.ids.length), dispose: () => tf.dispose([idsT, ...(features ? [features] : [])]) };
  }

  hookPoints(): HookPoint[] {
    return this.decoder.hookPoints();
  }

  hookNames(): string[] {
    this.names ??= this.hookPoints().map((h) => h.name);
    return this.names;
  }

  namedParameters(): Map<string, tf.Variable> {
    return this.decoder.namedParameters();
  }

  newCache(batch: number): KVCache {
    return newCacheFor(this.hf.decoder.nLayers, batch);
  }

  dispose(): void {
    this.decoder.dispose();
    if (this.maskTensors) tf.dispose([this.maskTensors.keep, this.maskTensors.add]);
    this.disposeParts();
  }
}
