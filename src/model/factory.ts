/** Builds the model of a config's family (the checkpoint loader and the trainer use this). */
import { AdapterModel } from './adapter.js';
import type { ModelConfig } from './config.js';
import type { DecoderOptions } from './decoder.js';
import type { VLModel } from './model.js';
import { NativeModel } from './native.js';
import { UserError } from '../util/errors.js';

export function createModel(config: ModelConfig, opts: DecoderOptions = {}): NativeModel | AdapterModel {
  switch (config.family) {
    case 'native':
      return new NativeModel(config, opts);
    case 'adapter':
      return new AdapterModel(config, opts);
    default:
      throw new UserError(`Unknown model family '${(config as { family?: string }).family}'; expected 'native' or 'adapter'.`);
  }
}

export type { VLModel };
