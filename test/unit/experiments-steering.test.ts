/**
 * E8 runners: class-mean vectors equal hand means of independently computed [EOI] vectors, and a store
 * made by extract gives the same vector; alpha 0 leaves every output unchanged (success = clean, side
 * effect 0); the steered answer's first token equals the argmax of an independent run with a hand-made
 * additive hook; the class-name test; the results document validates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { experimentsFixture } from '../helpers/experiments-tiny.js';
import { meanLogProb, namesClass, runSteering, runSteeringSweep, steeringVectors } from '../../src/experiments/index.js';
import { loadPipeline } from '../../src/interventions/pipeline.js';
import { extractDataset, generateWithEdit, readSpecFile } from '../../src/interventions/commands.js';
import { runWithCache } from '../../src/hooks/run.js';
import { validateResults } from '../../src/report/results.js';
import { noProgress } from '../../src/util/progress.js';

async function classes() {
  const f = await experimentsFixture();
  const counts = new Map<number, number>();
  for (const im of f.singleDs.images()) counts.set(im.labels.shape!, (counts.get(im.labels.shape!) ?? 0) + 1);
  const [a, b] = [...counts].sort((x, y) => y[1] - x[1]).map(([c]) => f.singleDs.labelFields.shape![c]!);
  return { f, from: a!, to: b! };
}

test('namesClass: whole words, case-insensitive, multi-word classes', () => {
  assert.equal(namesClass('a red circle in the center', 'circle'), true);
  assert.equal(namesClass('Circle', 'circle'), true);
  assert.equal(namesClass('circles', 'circle'), false);
  assert.equal(namesClass('in the top left', 'top left'), true);
  assert.equal(namesClass('in the top  right', 'top left'), false);
});

test('E8 class-mean vectors: equal to hand means, and to the means from an extracted store', async () => {
  const { f, from, to } = await classes();
  const p = await loadPipeline(f.native);
  try {
    const before = tf.memory().numTensors;
    const run = await steeringVectors(p, f.singleDs, { attribute: 'shape', from, to }, [0, 1]);
    assert.equal(tf.memory().numTensors, before);
    const names = f.singleDs.labelFields.shape!;
    const mean = { [from]: new Array(16).fill(0), [to]: new Array(16).fill(0) } as Record<string, number[]>;
    const n = { [from]: 0, [to]: 0 } as Record<string, number>;
    for (const im of f.singleDs.images()) {
      const c = names[im.labels.shape!]!;
      if (!(c in mean)) continue;
      const [ex] = await p.prepare([{ id: im.id, image: { width: im.width, height: im.height, channels: im.channels, pixels: im.pixels } }]);
      const ids = tf.tensor2d([Array.from(ex!.ids)], [1, ex!.ids.length], 'int32');
      const { logits, cache } = runWithCache(p.model, { ids, spans: [ex!.spans] }, { names: ['blocks.1.hook_resid_post'] });
      const a = Array.from(await cache.get('blocks.1.hook_resid_post').data());
      logits.dispose(); cache.dispose(); ids.dispose();
      const e = ex!.spans.eoi!;
      a.slice(e * 16, (e + 1) * 16).forEach((v, j) => (mean[c]![j]! += v));
      n[c]!++;
    }
    const hand = mean[to]!.map((v, j) => v / n[to]! - mean[from]![j]! / n[from]!);
    run.vectors.get(1)!.forEach((v, j) => assert.ok(Math.abs(v - hand[j]!) < 1e-5));
    const store = join(mkdtempSync(join(tmpdir(), 'ng-e8-')), 'eoi.arrow');
    await extractDataset({ checkpoint: f.native, data: f.single, hooks: ['resid_post'], layers: 'all', positions: '@eoi', out: store, backend: 'cpu', progress: noProgress });
    const st = await steeringVectors(p, f.singleDs, { attribute: 'shape', from, to, store }, [0, 1]);
    for (const l of [0, 1]) st.vectors.get(l)!.forEach((v, j) => assert.ok(Math.abs(v - run.vectors.get(l)![j]!) < 1e-5));
  } finally {
    p.dispose();
  }
});

test('E8 sweep: alpha 0 changes nothing; side effects measured on other questions', async () => {
  const { f, from, to } = await classes();
  const out = mkdtempSync(join(tmpdir(), 'ng-e8s-'));
  const before = tf.memory().numTensors;
  const r = await runSteeringSweep({ checkpoint: f.native, data: f.single, attribute: 'shape', from, to, alphas: [0, 200], limit: 4, maxNewTokens: 3, out });
  assert.equal(tf.memory().numTensors, before);
  assert.equal(r.records.length, 4);
  assert.ok(r.clean.questions > 0);
  for (const x of r.records.filter((x) => x.alpha === 0)) {
    assert.equal(x.changed, 0);
    assert.equal(x.successRate, r.clean.successRate);
    assert.equal(x.sideEffect, 0);
    assert.equal(x.fluency, r.clean.fluency);
  }
  assert.ok(r.clean.fluency! < 0);
  assert.ok(r.records.some((x) => x.alpha === 200 && x.changed > 0), 'a strong edit changes some output');
  const doc = validateResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')));
  assert.equal(doc.models[0]!.e8!.records.length, 4);
  assert.deepEqual((doc.models[0]!.e8!.records[0]!.specs![0] as { vector: unknown }).vector, { file: 'vectors/steer-L0.json' });
  assert.equal(JSON.parse(readFileSync(join(out, 'vectors/steer-L1.json'), 'utf8')).vector.length, 16);
});

test('E8 single image: the steered first token equals an independent run with a hand-made additive hook', async () => {
  const { f, from, to } = await classes();
  const row = [...f.singleDs.images()].find((im) => f.singleDs.labelFields.shape![im.labels.shape!] === from)!.index;
  const zero = await runSteering({ checkpoint: f.native, data: f.single, attribute: 'shape', from, to, layer: 1, alpha: 0, image: row, maxNewTokens: 3 });
  assert.equal(zero.before, zero.after);
  const out = mkdtempSync(join(tmpdir(), 'ng-e8i-'));
  const r = await runSteering({ checkpoint: f.native, data: f.single, attribute: 'shape', from, to, layer: 1, alpha: 200, image: row, maxNewTokens: 1, out });
  assert.equal(r.success, namesClass(r.after, to));
  const p = await loadPipeline(f.native);
  try {
    const { vectors } = await steeringVectors(p, f.singleDs, { attribute: 'shape', from, to }, [1]);
    const v = vectors.get(1)!;
    const im = f.singleDs.get(row);
    const [ex] = await p.prepare([{ id: 0, image: { width: im.width, height: im.height, channels: im.channels, pixels: im.pixels }, prompt: r.prompt }]);
    const T = ex!.ids.length, e = ex!.spans.eoi!;
    const add = new Float32Array(T * 16);
    v.forEach((x, j) => (add[e * 16 + j] = 200 * x));
    const hook = { name: 'blocks.1.hook_resid_post', fn: (act: tf.Tensor) => tf.add(act, tf.tensor(add, act.shape)) };
    const ids = tf.tensor2d([Array.from(ex!.ids)], [1, T], 'int32');
    const { logits, cache } = runWithCache(p.model, { ids, spans: [ex!.spans] }, { names: [] }, { hooks: [hook] });
    const all = await logits.data();
    logits.dispose(); cache.dispose(); ids.dispose();
    const V = all.length / T;
    let best = -1;
    for (const id of p.layout.textIds()) if (best < 0 || all[(T - 1) * V + id]! > all[(T - 1) * V + best]!) best = id;
    assert.equal(r.after, p.tokenizer.decode([best], { skipSpecials: true, stopAtEos: true }));
  } finally {
    p.dispose();
  }
  const doc = validateResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')));
  assert.ok(doc.models[0]!.e8!.examples![0]!.imagePngBase64.length > 20);
  // the written spec file reproduces the edit through the generic generate command
  const im = f.singleDs.get(row);
  await sharp(Buffer.from(im.pixels), { raw: { width: im.width, height: im.height, channels: 3 } }).png().toFile(join(out, 'img.png'));
  const g = await generateWithEdit({ checkpoint: f.native, image: join(out, 'img.png'), prompt: r.prompt, edit: join(out, 'steer-spec.json'), maxNewTokens: 1 });
  assert.equal(g.output, r.before);
  assert.equal(g.edited, r.after);
  const specs = await readSpecFile(join(out, 'steer-spec.json'));
  assert.deepEqual(specs, [{ type: 'steer', layer: 1, hook: 'resid_post', position: '@eoi', op: 'add', vector: { file: 'vectors/steer-L1.json' }, strength: 200 }]);
});

test('E8: bad inputs are UserErrors', async () => {
  const { f, from } = await classes();
  await assert.rejects(runSteering({ checkpoint: f.native, data: f.single, attribute: 'shape', from, to: 'blob', layer: 0, alpha: 1 }), /--to "blob" is not a class of "shape"/);
  await assert.rejects(runSteering({ checkpoint: f.native, data: f.single, attribute: 'shape', from, to: from, layer: 0, alpha: 1 }), /both/);
  await assert.rejects(runSteering({ checkpoint: f.native, data: f.single, attribute: 'shape', from, to: 'circle' === from ? 'square' : 'circle', layer: 9, alpha: 1 }), /--layer: layer 9 is out of range/);
  await assert.rejects(runSteering({ checkpoint: f.native, data: f.single, attribute: 'shape', from, to: 'circle' === from ? 'square' : 'circle', layer: 0, alpha: 1, op: 'replace' }), /needs a donor/);
  await assert.rejects(runSteeringSweep({ checkpoint: f.native, data: f.single, attribute: 'shape', from, to: 'circle' === from ? 'square' : 'circle', alphas: [] }), /--alphas/);
});

test('fluency: mean per-token log-probability equals a hand computation on unpadded single runs', async () => {
  const { f } = await classes();
  const p = await loadPipeline(f.native);
  try {
    const imgs = [...f.singleDs.images()].slice(0, 3);
    const items = imgs.map((image, i) => ({ image, prompt: i === 1 ? 'what shape is in the top left?' : 'a picture of' }));
    const word = (w: string) => p.tokenizer.encode(w)[0]!;
    const tokens = [[word('red'), word('circle')], [], [word('blue'), word('star'), 1]];
    const before = tf.memory().numTensors;
    const got = await meanLogProb(p, items, tokens, 8);
    assert.equal(tf.memory().numTensors, before);
    const per: number[] = [];
    for (const [i, it] of items.entries()) {
      if (tokens[i]!.length === 0) continue;
      const [ex] = await p.prepare([{ id: it.image.id, image: { width: it.image.width, height: it.image.height, channels: it.image.channels, pixels: it.image.pixels }, prompt: it.prompt }]);
      const seq = [...Array.from(ex!.ids), ...tokens[i]!];
      const ids = tf.tensor2d([seq], [1, seq.length], 'int32');
      const logits = p.model.forward({ ids, spans: [ex!.spans] });
      const all = Array.from(await logits.data());
      logits.dispose(); ids.dispose();
      const V = all.length / seq.length;
      let s = 0;
      tokens[i]!.forEach((tok, g) => {
        const row = all.slice((ex!.ids.length - 1 + g) * V, (ex!.ids.length + g) * V);
        const m = Math.max(...row);
        s += row[tok]! - m - Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
      });
      per.push(s / tokens[i]!.length);
    }
    assert.ok(Math.abs(got! - (per[0]! + per[1]!) / 2) < 1e-5, `${got} vs ${per}`);
    assert.equal(await meanLogProb(p, items, [[], [], []], 8), null);
  } finally {
    p.dispose();
  }
});
