/**
 * The native (early-fusion) family: one vocabulary of text tokens, image codes and specials; an
 * image arrives already as code ids (the VQ image tokenizer makes them). The model is the decoder.
 */
import type * as tf from '@tensorflow/tfjs';
import type { NativeConfig } from './config.js';
import { validateDecoderConfig } from './config.js';
import { Decoder, type DecoderOptions } from './decoder.js';
import type { HookPoint } from './hookpoint.js';
import { checkIds, hookTable, newCacheFor, type ForwardOptions, type ModelInput, type VLModel } from './model.js';
import type { KVCache } from './state.js';
import { UserError } from '../util/errors.js';

export class NativeModel implements VLModel {
  readonly family = 'native' as const;
  readonly decoder: Decoder;
  private names: string[] | null = null;

  constructor(readonly config: NativeConfig, o: DecoderOptions = {}) {
    validateDecoderConfig(config.decoder);
    const end = config.imageCodeStart + config.imageCodeCount;
    if (config.imageCodeStart < 0 || end > config.decoder.vocabSize) {
      throw new UserError(`native config: image codes [${config.imageCodeStart}, ${end}) do not fit the vocabulary of ${config.decoder.vocabSize}.`);
    }
    this.decoder = new Decoder(config.decoder, o);
  }

  forward(input: ModelInput, opts: ForwardOptions = {}): tf.Tensor {
    checkIds(input.ids, this.config.decoder.vocabSize);
    if (input.pixels || input.features) throw new UserError('The native model takes image codes as ids; pixels and features are for the adapter family.');
    return this.decoder.forward(input.ids, {
      hooks: hookTable(this, opts.hooks),
      spans: input.spans,
      attentionMask: input.attentionMask,
      cache: opts.cache,
      blockWeights: opts.blockWeights,
      logitColumns: opts.logitColumns,
    });
  }

  /** The vocabulary ids of the image codes. */
  imageCodeIds(): number[] {
    return Array.from({ length: this.config.imageCodeCount }, (_, i) => this.config.imageCodeStart + i);
  }

  namedParameters(): Map<string, tf.Variable> {
    return this.decoder.namedParameters();
  }

  hookPoints(): HookPoint[] {
    return this.decoder.hookPoints();
  }

  hookNames(): string[] {
    this.names ??= this.hookPoints().map((h) => h.name);
    return this.names;
  }

  newCache(batch: number): KVCache {
    return newCacheFor(this.config.decoder.nLayers, batch);
  }

  dispose(): void {
    this.decoder.dispose();
  }
}
