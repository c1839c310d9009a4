/**
 * Per-kernel time of one training step (one replica, lossAndGrads + AdamW) from tf.profile: where a
 * step's time goes on the active backend, grouped by kernel name.
 */
import * as tf from '@tensorflow/tfjs';
import { lossAndGrads } from '../src/training/step.js';
import { AdamW, disposeGrads } from '../src/training/optimizer.js';
import { trainableParams } from '../src/training/model-setup.js';
import { benchModel, stepBatch } from './model-bench.js';
import type { BenchSettings } from './common.js';

export interface KernelShare {
  kernel: string;
  ms: number;
  calls: number;
  share: number;
}

/** Matmuls split into the batched (attention) and 2-D (XNNPACK) kinds; custom-gradient scopes named as such (their time overlaps their kernels'). */
function kernelName(name: string, shapes: number[][] | undefined): string {
  if (name === 'BatchMatMul') {
    const a = shapes?.[0] ?? [];
    const batch = a.slice(0, -2).reduce((p, q) => p * q, 1);
    return batch > 1 ? 'BatchMatMul, batched (attention)' : 'BatchMatMul, 2-D';
  }
  return name === 'unnamed scope' ? 'custom-gradient scope (overlaps its kernels)' : name;
}

export async function profileTrainStep(set: BenchSettings): Promise<{ totalMs: number; kernels: KernelShare[] }> {
  const model = benchModel(set.shape);
  const { params } = trainableParams(model, []);
  const opt = new AdamW(params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
  const sb = stepBatch(set.shape, 5);
  const step = (): void => {
    const { loss, grads } = lossAndGrads(model, params, sb);
    opt.apply(grads, 1e-3);
    loss.dispose();
    disposeGrads(grads);
  };
  try {
    step(); // warm-up (kernel setup, XNNPACK operator caches)
    const info = await tf.profile(step);
    const by = new Map<string, { ms: number; calls: number }>();
    for (const k of info.kernels) {
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      const name = kernelName(k.name, k.inputShapes as number[][]);
      const e = by.get(name) ?? { ms: 0, calls: 0 };
      e.ms += ms;
      e.calls++;
      by.set(name, e);
    }
    const totalMs = [...by].filter(([n]) => !n.startsWith('custom-gradient')).map(([, e]) => e).reduce((a, e) => a + e.ms, 0);
    const kernels = [...by].map(([kernel, e]) => ({ kernel, ms: e.ms, calls: e.calls, share: totalMs > 0 ? e.ms / totalMs : 0 }))
      .sort((a, b) => b.ms - a.ms);
    return { totalMs, kernels };
  } finally {
    opt.dispose();
    model.dispose();
  }
}
