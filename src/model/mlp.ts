/**
 * SwiGLU MLP: W_out(silu(x W_gate) * (x W_in)). Local weight names in a block:
 *   mlp.W_gate [D, F]  mlp.W_in [D, F]  mlp.W_out [F, D]   (transformers: gate_proj, up_proj, down_proj, transposed)
 */
import * as tf from '@tensorflow/tfjs';
import type { DecoderConfig } from './config.js';
import { linear, silu } from './ops.js';
import type { ParamSpec, WeightSet } from './params.js';
import { req } from './params.js';

export function mlpParamSpecs(c: DecoderConfig): ParamSpec[] {
  const std = 0.02;
  return [
    { name: 'mlp.W_gate', shape: [c.dModel, c.dMlp], init: 'normal', std },
    { name: 'mlp.W_in', shape: [c.dModel, c.dMlp], init: 'normal', std },
    { name: 'mlp.W_out', shape: [c.dMlp, c.dModel], init: 'normal', std: std / Math.sqrt(2 * c.nLayers) },
  ];
}

export function swiglu(w: WeightSet, x: tf.Tensor): tf.Tensor {
  const gate = silu(linear(x, req(w, 'mlp.W_gate')));
  const up = linear(x, req(w, 'mlp.W_in'));
  return linear(tf.mul(gate, up), req(w, 'mlp.W_out'));
}
