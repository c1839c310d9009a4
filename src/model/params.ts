/**
 * Parameters: each module declares specs (local name, shape, init) and owns tf.Variables keyed by
 * full names (module path + local name, e.g. "blocks.0.attn.W_Q"). Initialisation draws from the
 * seeded Rng, so the same seed gives the same weights on every backend.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../util/rng.js';

export interface ParamSpec {
  /** Local name inside the module, e.g. "attn.W_Q". */
  name: string;
  shape: number[];
  /** normal(0, std), ones or zeros. */
  init: 'normal' | 'ones' | 'zeros';
  std?: number;
}

/** A flat set of weights keyed by local name; what a block's forward reads (variables or uploaded tensors). */
export type WeightSet = Record<string, tf.Tensor>;

export function initValues(spec: ParamSpec, rng: Rng): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  if (spec.init === 'ones') v.fill(1);
  else if (spec.init === 'normal') {
    const std = spec.std ?? 0.02;
    for (let i = 0; i < n; i++) v[i] = rng.normal() * std;
  }
  return v;
}

/** Creates one trainable variable per spec; returns them keyed by local name. */
export function createVariables(specs: readonly ParamSpec[], rng: Rng): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  for (const s of specs) {
    const t = tf.tensor(initValues(s, rng), s.shape, 'float32');
    out.set(s.name, tf.variable(t, true));
    t.dispose();
  }
  return out;
}

export function weightSet(vars: ReadonlyMap<string, tf.Variable>): WeightSet {
  const w: WeightSet = {};
  for (const [k, v] of vars) w[k] = v;
  return w;
}

/** Reads a required weight; a missing one is a bug in the caller's weight set. */
export function req(w: WeightSet, name: string): tf.Tensor {
  const t = w[name];
  if (!t) throw new Error(`weight '${name}' is missing from the weight set`);
  return t;
}

/** Parameter groups for freezing: the first path component decides ("embed", "unembed" -> embed; "blocks", "ln_final" -> decoder). */
export type ParamGroup = 'embed' | 'decoder' | 'vision' | 'projector';

export function parameterGroup(name: string): ParamGroup {
  const head = name.split('.')[0];
  if (head === 'embed' || head === 'unembed') return 'embed';
  if (head === 'vision') return 'vision';
  if (head === 'projector') return 'projector';
  return 'decoder';
}
