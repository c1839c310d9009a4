/** Tiny models and weight utilities for the model tests. */
import * as tf from '@tensorflow/tfjs';
import { decoderConfig, type AdapterConfig, type DecoderConfig, type NativeConfig } from '../../src/model/config.js';
import { AdapterModel } from '../../src/model/adapter.js';
import { NativeModel } from '../../src/model/native.js';
import { Rng } from '../../src/util/rng.js';
import type { Weights } from './ref-decoder.js';

export function tinyDecoderConfig(over: Partial<DecoderConfig> = {}): DecoderConfig {
  return decoderConfig({ vocabSize: 40, dModel: 16, nLayers: 2, nHeads: 4, dMlp: 24, ...over });
}

/** Vocabulary: 0 bos, 1 eos, 2 pad, 3 boi, 4 eoi, 5..20 image codes (16), 21.. text. */
export function tinyNativeConfig(over: Partial<DecoderConfig> = {}): NativeConfig {
  return {
    family: 'native',
    decoder: tinyDecoderConfig(over),
    special: { bos: 0, eos: 1, pad: 2, boi: 3, eoi: 4 },
    imageCodeStart: 5,
    imageCodeCount: 16,
  };
}

export function tinyNative(over: Partial<DecoderConfig> = {}, seed = 1): NativeModel {
  const m = new NativeModel(tinyNativeConfig(over), { seed });
  randomizeParams(m.namedParameters(), seed + 100);
  return m;
}

/**
 * Gives every parameter random values at a scale where attention is far from uniform and norm
 * gains/biases are far from 1/0 (so that every path is exercised).
 */
export function randomizeParams(params: Map<string, tf.Variable>, seed: number): void {
  const rng = new Rng(seed);
  for (const [name, v] of params) {
    const n = v.size;
    const a = new Float32Array(n);
    const isGain = /(ln\d|ln_final|norm)\.w$/.test(name);
    const isBias = /\.b(_[A-Za-z0-9]+)?$/.test(name) || /norm\.b$/.test(name);
    for (let i = 0; i < n; i++) a[i] = isGain ? 1 + 0.3 * rng.normal() : isBias ? 0.2 * rng.normal() : 0.35 * rng.normal();
    const t = tf.tensor(a, v.shape);
    v.assign(t);
    t.dispose();
  }
}

export function weightsOf(params: Map<string, tf.Variable>): Weights {
  const w: Weights = new Map();
  for (const [k, v] of params) w.set(k, { shape: v.shape, data: Float64Array.from(v.dataSync()) });
  return w;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assertLen(a, b);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

function assertLen(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
}

export async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  const { initBackend } = await import('../../src/backend/index.js');
  const info = await initBackend(name);
  if (info.tfName !== name) throw new Error(`backend ${name} not active`);
}

/** A tiny adapter: 8x8x3 images, 4x4 patches (4 patches), 1-layer ViT (d 16), projector, 1-2 layer decoder. */
export function tinyAdapterConfig(withVit = true, over: Partial<DecoderConfig> = {}): AdapterConfig {
  return {
    family: 'adapter',
    decoder: tinyDecoderConfig({ nLayers: 1, ...over }),
    special: { bos: 0, eos: 1, pad: 2, boi: 3, eoi: 4 },
    vision: withVit ? { imageSize: 8, patchSize: 4, channels: 3, dModel: 16, nLayers: 1, nHeads: 2, dMlp: 24, rmsNormEps: 1e-6 } : null,
    projector: { dIn: withVit ? 16 : 12, dHidden: 20, activation: 'gelu_tanh' },
  };
}

export function tinyAdapter(withVit = true, over: Partial<DecoderConfig> = {}, seed = 1): AdapterModel {
  const m = new AdapterModel(tinyAdapterConfig(withVit, over), { seed });
  randomizeParams(m.namedParameters(), seed + 200);
  return m;
}

export function randomArray(n: number, seed: number, scale = 1): number[] {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => r.normal() * scale);
}
