/**
 * Shared parity checks for the Hugging Face fixtures: one forward pass with caching hooks gives
 * hidden_states ([0] = hook_embed, [l] = blocks.{l-1}.hook_resid_post, [L] = ln_final.hook_normalized),
 * last_layer_output, attn_layer0 and logits, each compared with the transformers reference.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { runWithCache } from '../../src/hooks/run.js';
import { knockoutHooks } from '../../src/hooks/knockout.js';
import type { HfExample, HfModel } from '../../src/hf/model.js';
import { maxAbsDiff, type Reference } from './hf-fixtures.js';

export interface ParityReport {
  [key: string]: number;
}

/** Runs one example and asserts every decoder-side reference key within the README tolerances. */
export async function checkDecoderParity(model: HfModel, ref: Reference, c: string, ex: HfExample, logitsKey = 'logits'): Promise<ParityReport> {
  const L = model.hf.decoder.nLayers;
  const names = ['hook_embed', ...Array.from({ length: L }, (_, l) => `blocks.${l}.hook_resid_post`), 'ln_final.hook_normalized', 'blocks.0.attn.hook_pattern'];
  const { input, dispose } = model.batch([ex]);
  const { logits, cache } = runWithCache(model, input, { names });
  try {
    const report: ParityReport = {};
    const lg = await logits.data();
    report[logitsKey] = maxAbsDiff(lg, ref.get(c, logitsKey).data);
    assert.ok(report[logitsKey] <= 1e-4, `${c}.${logitsKey} max abs diff ${report[logitsKey]}`);
    if (logitsKey !== 'logits') return report;
    const hsNames = ['hook_embed', ...Array.from({ length: L - 1 }, (_, l) => `blocks.${l}.hook_resid_post`), 'ln_final.hook_normalized'];
    const hs = tf.tidy(() => tf.concat(hsNames.map((n) => cache.get(n)), 0));
    report.hidden_states = maxAbsDiff(await hs.data(), ref.get(c, 'hidden_states').data);
    hs.dispose();
    report.last_layer_output = maxAbsDiff(await cache.get(`blocks.${L - 1}.hook_resid_post`).data(), ref.get(c, 'last_layer_output').data);
    report.attn_layer0 = maxAbsDiff(await cache.get('blocks.0.attn.hook_pattern').data(), ref.get(c, 'attn_layer0').data);
    assert.ok(report.hidden_states <= 1e-4, `${c}.hidden_states ${report.hidden_states}`);
    assert.ok(report.last_layer_output <= 1e-4, `${c}.last_layer_output ${report.last_layer_output}`);
    assert.ok(report.attn_layer0 <= 1e-5, `${c}.attn_layer0 ${report.attn_layer0}`);
    return report;
  } finally {
    logits.dispose();
    cache.dispose();
    dispose();
  }
}

/** The [EOI] knockout of the reference: every layer and head, every query row, post-softmax zero, no renormalisation. */
export async function checkEoiKnockout(model: HfModel, ref: Reference, c: string, ex: HfExample, eoi: number): Promise<number> {
  const hooks = knockoutHooks({ layers: Array.from({ length: model.hf.decoder.nLayers }, (_, l) => l), query: () => true, key: (_b, k) => k === eoi, mode: 'zero' });
  const { input, dispose } = model.batch([ex]);
  const logits = model.forward(input, { hooks });
  try {
    const d = maxAbsDiff(await logits.data(), ref.get(c, 'logits_eoi_knockout').data);
    assert.ok(d <= 1e-4, `${c}.logits_eoi_knockout ${d}`);
    return d;
  } finally {
    logits.dispose();
    dispose();
  }
}
