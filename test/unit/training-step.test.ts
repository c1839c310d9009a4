import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { NativeModel } from '../../src/model/native.js';
import { decoderConfig } from '../../src/model/config.js';
import { WordTokenizer, SPECIAL_IDS } from '../../src/tokenizers/word.js';
import { VocabLayout } from '../../src/tokenizers/vocab.js';
import { Processor } from '../../src/tokenizers/processor.js';
import { makeBatch, type Item } from '../../src/training/batches.js';
import { lossAndGrads, evalBatch, toStepBatch, modelInput, disposeInput, type StepBatch } from '../../src/training/step.js';
import { AdamW, disposeGrads } from '../../src/training/optimizer.js';
import { trainableParams, compileTrainingKnockouts } from '../../src/training/model-setup.js';
import { knockoutHooks } from '../../src/hooks/knockout.js';
import { resolveAll } from '../../src/interventions/selectors.js';
import type { KnockoutSpec } from '../../src/interventions/spec.js';
import { UserError } from '../../src/util/errors.js';
import type { NamedHook } from '../../src/hooks/types.js';

before(async () => {
  assert.equal(await tf.setBackend('cpu'), true);
});

const N = 36; // image tokens (6x6)
const K = 8; // image codes
const tok = WordTokenizer.fromWords(['a', 'red', 'blue', 'circle', 'square', 'what', 'color', '?']);
const layout = new VocabLayout(tok.size, K);
const proc = new Processor({ family: 'native', tokenizer: tok, layout, numImageTokens: N });

function tinyModel(seed = 1): NativeModel {
  const decoder = decoderConfig({ vocabSize: layout.size, dModel: 16, nLayers: 2, nHeads: 2, dMlp: 32 });
  const s = SPECIAL_IDS;
  return new NativeModel({ family: 'native', decoder, special: { bos: s.bos, eos: s.eos, pad: s.pad, boi: s.boi, eoi: s.eoi }, imageCodeStart: layout.imageRange[0], imageCodeCount: K }, { seed });
}

function batch(codeOffset = 0): StepBatch {
  const items: Item[] = [
    { kind: 'caption', image: 0, target: 'a red circle' },
    { kind: 'vqa', image: 1, prompt: 'what color ?', target: 'blue' },
  ];
  const codes = (i: number) => Int32Array.from({ length: N }, (_, j) => (i * 3 + j + codeOffset) % K);
  return toStepBatch(makeBatch(items, proc, { text: true, image: false }, 64, codes), null);
}

test('the target shift: weights[t] marks positions whose next token carries loss', () => {
  const sb = batch();
  const spans = sb.spans[0]!;
  // caption row: the first caption word is predicted from the <eoi> position
  assert.equal(sb.weights[spans.eoi!], 1);
  assert.equal(sb.targets[spans.eoi!], tok.encode('a')[0]);
  assert.equal(sb.weights[spans.eoi! - 1], 0);
});

test('a train step (loss, grads, AdamW update) leaks no tensors', () => {
  const model = tinyModel();
  const { params } = trainableParams(model, []);
  const opt = new AdamW(params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
  const sb = batch();
  // warm once so that lazily created tensors (none expected) do not count
  const before = tf.memory().numTensors;
  for (let i = 0; i < 2; i++) {
    const { loss, grads } = lossAndGrads(model, params, sb);
    assert.ok(Number.isFinite(loss.dataSync()[0]));
    opt.apply(grads, 1e-3);
    disposeGrads(grads);
    loss.dispose();
  }
  assert.equal(tf.memory().numTensors, before);
  opt.dispose();
  model.dispose();
});

test('the loss is the mean next-token cross-entropy over target tokens (checked against logits by hand)', async () => {
  const model = tinyModel();
  const sb = batch();
  const { params } = trainableParams(model, []);
  const { loss, grads } = lossAndGrads(model, params, sb);
  const input = modelInput(sb);
  const logits = model.forward(input);
  const L = (await logits.array()) as number[][][];
  let sum = 0, n = 0;
  for (let b = 0; b < sb.B; b++) {
    for (let t = 0; t < sb.T; t++) {
      if (sb.weights[b * sb.T + t] !== 1) continue;
      const row = L[b]![t]!;
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
      sum += lse - row[sb.targets[b * sb.T + t]!]!;
      n++;
    }
  }
  assert.ok(Math.abs(loss.dataSync()[0]! - sum / n) < 1e-4);
  const ev = await evalBatch(model, sb);
  assert.equal(ev.tokens, n);
  assert.ok(Math.abs(ev.lossSum / ev.tokens - sum / n) < 1e-4);
  assert.equal(ev.answers, 1);
  logits.dispose();
  disposeInput(input);
  disposeGrads(grads);
  loss.dispose();
  model.dispose();
});

test('frozen groups do not change; the rest does', async () => {
  const model = tinyModel();
  const { params, frozen } = trainableParams(model, ['embed', 'blocks.1.*']);
  assert.ok(frozen.includes('embed.W_E') && frozen.includes('unembed.W_U'));
  assert.ok(frozen.some((n) => n.startsWith('blocks.1.')) && !frozen.some((n) => n.startsWith('blocks.0.')));
  const snap = new Map([...model.namedParameters()].map(([n, v]) => [n, Array.from(v.dataSync())]));
  const opt = new AdamW(params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
  for (let i = 0; i < 2; i++) {
    const { loss, grads } = lossAndGrads(model, params, batch());
    opt.apply(grads, 1e-2);
    disposeGrads(grads);
    loss.dispose();
  }
  for (const [n, v] of model.namedParameters()) {
    const same = Array.from(v.dataSync()).every((x, i) => x === snap.get(n)![i]);
    assert.equal(same, frozen.includes(n), `${n}: ${frozen.includes(n) ? 'frozen but changed' : 'trainable but unchanged'}`);
  }
  assert.throws(() => trainableParams(model, ['visoin']), (e: unknown) => e instanceof UserError && /"visoin" matches no parameter/.test(e.message));
  assert.throws(() => trainableParams(model, ['embed', 'decoder']), /no parameter to train/);
  opt.dispose();
  model.dispose();
});

/** Logits at the text positions after the image, per row. */
async function textLogits(model: NativeModel, sb: StepBatch, hooks: NamedHook[]): Promise<number[]> {
  const input = modelInput(sb);
  const out = model.forward(input, { hooks });
  const L = (await out.array()) as number[][][];
  out.dispose();
  disposeInput(input);
  const vals: number[] = [];
  sb.spans.forEach((s, b) => {
    for (const p of resolveAll(['@text-after-image'], s)) vals.push(...L[b]![p]!);
  });
  return vals;
}

test('training knockouts are hard blocks: text outputs ignore the blocked image keys; post-softmax zeroing does not', async () => {
  const model = tinyModel();
  const spec: KnockoutSpec = { type: 'knockout', queries: '@text-after-image', keys: ['@boi', '@all-image', '@eoi'], layers: 'all', heads: 'all', mode: 'zero' };
  const a = batch(0), b = batch(5); // same text, different image codes
  // the spec says "zero" but training compiles every knockout to a hard block
  const [hard] = await compileTrainingKnockouts([spec], model);
  const la = await textLogits(model, a, hard!);
  const lb = await textLogits(model, b, hard!);
  assert.equal(la.length, lb.length);
  // bitwise equal: exp(-inf) = 0 exactly, so the blocked keys contribute nothing at all
  for (let i = 0; i < la.length; i++) assert.equal(la[i], lb[i], `logit ${i} depends on the blocked image`);
  // post-softmax zeroing of the same edges still lets the image through the softmax normaliser
  const soft = (sb: StepBatch) => {
    const q = sb.spans.map((s) => new Set(resolveAll(['@text-after-image'], s)));
    const k = sb.spans.map((s) => new Set(resolveAll(['@boi', '@all-image', '@eoi'], s)));
    return knockoutHooks({ layers: [0, 1], query: (r, p) => q[r]!.has(p), key: (r, p) => k[r]!.has(p), mode: 'zero' });
  };
  const za = await textLogits(model, a, soft(a));
  const zb = await textLogits(model, b, soft(b));
  assert.ok(za.some((x, i) => x !== zb[i]), 'zeroing after the softmax should leak through its denominator');
  model.dispose();
});

test('under a hard block no gradient reaches the image-code embeddings from the text loss', async () => {
  const model = tinyModel();
  const { params } = trainableParams(model, []);
  const sb = batch();
  // keep only the loss of text queries: the <eoi> position predicts the first caption word from the image legitimately
  sb.spans.forEach((s, b) => (sb.weights[b * sb.T + s.eoi!] = 0));
  const spec: KnockoutSpec = { type: 'knockout', queries: '@text-after-image', keys: ['@boi', '@all-image', '@eoi'], layers: 'all', heads: 'all', mode: 'renormalize' };
  const [hard] = await compileTrainingKnockouts([spec], model);
  const { loss, grads } = lossAndGrads(model, params, sb, hard!);
  const gE = grads.get('embed.W_E')!.arraySync() as number[][];
  const codeRows = Array.from({ length: K }, (_, c) => layout.imageRange[0] + c);
  for (const r of codeRows) assert.ok(gE[r]!.every((x) => x === 0), `image code row ${r} got a gradient through a blocked edge`);
  // without the block the image codes do get gradient
  const free = lossAndGrads(model, params, sb);
  const gFree = free.grads.get('embed.W_E')!.arraySync() as number[][];
  assert.ok(codeRows.some((r) => gFree[r]!.some((x) => x !== 0)));
  for (const g of [grads, free.grads]) disposeGrads(g);
  loss.dispose();
  free.loss.dispose();
  model.dispose();
});

test('wasm computes the same loss and gradients as cpu (the backend real training uses)', async () => {
  const run = async (backend: string) => {
    assert.equal(await tf.setBackend(backend), true, `${backend} backend unavailable`);
    const model = tinyModel(3);
    const { params } = trainableParams(model, []);
    const { loss, grads } = lossAndGrads(model, params, batch());
    const out = {
      loss: (await loss.data())[0]!,
      gE: Array.from(await grads.get('embed.W_E')!.data()),
      gQ: Array.from(await grads.get('blocks.0.attn.W_Q')!.data()),
      gU: Array.from(await grads.get('unembed.W_U')!.data()),
    };
    disposeGrads(grads);
    loss.dispose();
    model.dispose();
    return out;
  };
  try {
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    assert.ok(cpu.loss > 1, `cpu loss ${cpu.loss} should be about log(vocab)`);
    assert.ok(Math.abs(cpu.loss - wasm.loss) < 1e-4, `loss cpu ${cpu.loss} vs wasm ${wasm.loss}`);
    for (const k of ['gE', 'gQ', 'gU'] as const) {
      const maxDiff = Math.max(...cpu[k].map((x, i) => Math.abs(x - wasm[k][i]!)));
      assert.ok(maxDiff < 1e-5, `${k}: max |cpu - wasm| = ${maxDiff}`);
    }
  } finally {
    assert.equal(await tf.setBackend('cpu'), true);
  }
});
