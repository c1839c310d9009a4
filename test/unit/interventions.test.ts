import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { compile } from '../../src/interventions/compile.js';
import { parseInterventions, parseInterventionsText, serializeInterventions } from '../../src/interventions/spec.js';
import { runWithCache, runWithHooks } from '../../src/hooks/run.js';
import type { NamedHook } from '../../src/hooks/types.js';
import { generate } from '../../src/model/generate.js';
import type { VLModel } from '../../src/model/model.js';
import type { Spans } from '../../src/model/spans.js';
import { ActivationWriter, openStore } from '../../src/store/index.js';
import { UserError } from '../../src/util/errors.js';
import { referenceForward } from '../helpers/ref-decoder.js';
import { maxAbsDiff, tinyNative, useBackend, weightsOf } from '../helpers/tiny.js';

await useBackend('cpu');

// <bos> <boi> img img <eoi> text text text
const IDS = [0, 3, 7, 9, 4, 25, 30, 22];
const SPANS: Spans = { length: 8, bos: 0, boi: 1, image: [2, 4], eoi: 4 };
const OTHER = [0, 3, 15, 18, 4, 25, 30, 22];
const D = 16;
const input = (ids = IDS, spans = SPANS) => ({ ids: tf.tensor2d([ids], [1, ids.length], 'int32'), spans: [spans] });

function logitsOf(m: VLModel, hooks: NamedHook[], ids = IDS, spans = SPANS): Float32Array {
  const x = input(ids, spans);
  const l = runWithHooks(m, x, hooks);
  const out = l.dataSync() as Float32Array;
  l.dispose();
  x.ids.dispose();
  return out;
}

/** One activation [T, size] of a run with hooks. */
function capture(m: VLModel, hooks: NamedHook[], name: string, ids = IDS): number[][] {
  const x = input(ids);
  const { logits, cache } = runWithCache(m, x, { names: [name] }, { hooks });
  const a = (cache.get(name).arraySync() as number[][][])[0]!;
  logits.dispose();
  cache.dispose();
  x.ids.dispose();
  return a;
}

const rows = (logits: Float32Array, from: number, to: number, V = 40) => logits.subarray(from * V, to * V);

test('a knockout spec equals the hand computation (zero and renormalize)', async () => {
  const m = tinyNative({ nLayers: 1, nKvHeads: 2 }, 41);
  const spec = parseInterventions({ type: 'knockout', queries: '@text-after-image', keys: '@eoi', layers: [0] });
  const ref = referenceForward(m.config.decoder, weightsOf(m.namedParameters()), IDS, { knock: (_l, _h, q, k) => k === 4 && q >= 5, mode: 'zero' });
  const got = logitsOf(m, await compile(spec, m));
  assert.ok(maxAbsDiff(got, ref.logits.flat()) < 2e-4, `zero: ${maxAbsDiff(got, ref.logits.flat())}`);
  assert.ok(maxAbsDiff(got, logitsOf(m, [])) > 1e-3, 'the knockout changes the output');
  m.dispose();

  const m2 = tinyNative({ nLayers: 2, nKvHeads: 2 }, 42);
  const spec2 = parseInterventions({ type: 'knockout', queries: '@text-after-image', keys: '@all-image', layers: [1], heads: [2], mode: 'renormalize' });
  const knock = (l: number, h: number, q: number, k: number) => l === 1 && h === 2 && (k === 2 || k === 3) && q >= 5;
  const ref2 = referenceForward(m2.config.decoder, weightsOf(m2.namedParameters()), IDS, { knock, mode: 'renormalize' });
  assert.ok(maxAbsDiff(logitsOf(m2, await compile(spec2, m2)), ref2.logits.flat()) < 2e-4);
  m2.dispose();
});

test('patching a run with its own activations changes nothing; another run\'s [EOI] changes the output after it', async () => {
  const m = tinyNative({ nLayers: 2 }, 43);
  const hook = 'blocks.0.hook_resid_post';
  const base = logitsOf(m, []);
  const self = runWithCache(m, input(), { names: [hook] });
  const selfPatch = await compile(parseInterventions({ type: 'patch', hook, positions: '@all', donor: { run: 'self' } }), m, {
    donors: { self: { cache: self.cache, spans: [SPANS] } },
  });
  assert.deepEqual(logitsOf(m, selfPatch), base);

  // donor with a longer image: its [EOI] sits at position 5, the recipient's at 4
  const donorIds = [0, 3, 15, 18, 12, 4, 30];
  const donorSpans: Spans = { length: 7, bos: 0, boi: 1, image: [2, 5], eoi: 5 };
  const other = runWithCache(m, input(donorIds, donorSpans), { names: [hook] });
  const patch = await compile(parseInterventions({ type: 'patch', hook, positions: '@eoi', donor: { run: 'other' } }), m, {
    donors: { other: { cache: other.cache, spans: [donorSpans] } },
  });
  const patched = logitsOf(m, patch);
  assert.deepEqual(rows(patched, 0, 4), rows(base, 0, 4), 'positions before [EOI] are untouched (causal)');
  assert.ok(maxAbsDiff(rows(patched, 4, 8), rows(base, 4, 8)) > 1e-3, 'the output after [EOI] changes');
  const donorEoi = (other.cache.get(hook).arraySync() as number[][][])[0]![5]!;
  assert.deepEqual(capture(m, patch, hook)[4], donorEoi);
  await assert.rejects(compile(parseInterventions({ type: 'patch', hook, positions: '@eoi', donor: { run: 'nope' } }), m), /donor\.run "nope" was not supplied/);
  self.cache.dispose();
  self.logits.dispose();
  other.cache.dispose();
  other.logits.dispose();
  m.dispose();
});

test('steering: strength 0 is the identity for every op; add, replace and interpolate do what they say', async () => {
  const m = tinyNative({ nLayers: 2 }, 44);
  const v = Array.from({ length: D }, (_, i) => Math.cos(i) * 2);
  const base = logitsOf(m, []);
  const steer = (op: string, strength: number) =>
    compile(parseInterventions({ type: 'steer', layer: 0, position: '@eoi', op, vector: { values: v }, strength }), m);
  for (const op of ['add', 'replace', 'interpolate']) assert.deepEqual(logitsOf(m, await steer(op, 0)), base, op);

  const hook = 'blocks.0.hook_resid_post';
  const h = capture(m, [], hook);
  const added = capture(m, await steer('add', 0.7), hook);
  assert.ok(maxAbsDiff(added[4]!, h[4]!.map((x, i) => x + 0.7 * v[i]!)) < 1e-5);
  assert.deepEqual(added.slice(0, 4), h.slice(0, 4));
  const interp = capture(m, await steer('interpolate', 1), hook);
  assert.ok(maxAbsDiff(interp[4]!, v) < 1e-5);
  const repl = capture(m, await steer('replace', 1), hook);
  const norm = Math.hypot(...v);
  const proj = (x: number[]) => x.reduce((s, xi, i) => s + xi * v[i]! / norm, 0);
  assert.ok(Math.abs(proj(repl[4]!) - norm) < 1e-4, 'the component along v becomes |v|');
  const orth = (x: number[]) => x.map((xi, i) => xi - proj(x) * v[i]! / norm);
  assert.ok(maxAbsDiff(orth(repl[4]!), orth(h[4]!)) < 1e-4, 'the orthogonal part is kept');
  m.dispose();
});

test('steering vectors from .npy, .json and store class means; mean ablation from a store', async () => {
  const m = tinyNative({ nLayers: 1 }, 45);
  const dir = mkdtempSync(join(tmpdir(), 'ng-iv-'));
  const v = Array.from({ length: D }, (_, i) => (i % 3) - 1 + 0.25);
  // .npy written by hand: magic, version 1.0, header padded to 64 bytes, little-endian float64
  let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (16,), }";
  header = header.padEnd(64 - 10 - 1, ' ') + '\n';
  const npy = Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0]), Buffer.from([header.length, 0]), Buffer.from(header), Buffer.from(new Float64Array(v).buffer)]);
  writeFileSync(join(dir, 'v.npy'), npy);
  writeFileSync(join(dir, 'v.json'), JSON.stringify({ vector: v }));
  const want = logitsOf(m, await compile(parseInterventions({ type: 'steer', layer: 0, position: '@eoi', op: 'add', vector: { values: v } }), m));
  for (const file of ['v.npy', 'v.json']) {
    const hooks = await compile(parseInterventions({ type: 'steer', layer: 0, position: '@eoi', op: 'add', vector: { file } }), m, { baseDir: dir });
    assert.deepEqual(logitsOf(m, hooks), want, file);
  }
  // a store: class 1 rows are a, class 2 rows are b (two rows each), so mean_b - mean_a = b - a
  const a = Array.from({ length: D }, (_, i) => i / 10);
  const b = a.map((x, i) => x + v[i]!);
  const w = new ActivationWriter(join(dir, 's.arrow'), { runId: 'r', d: D }, { hooks: ['hook_resid_post'] });
  [a, a, b, b].forEach((row, ex) =>
    w.write({ exampleId: ex, hook: 'hook_resid_post', layer: 0, label: ex < 2 ? 1 : 2, pos: [4, 6], kinds: ['eoi', 'text'], values: Float32Array.from([...row, ...row.map((x) => x * ex)]) }),
  );
  await w.close();
  const fromStore = await compile(
    parseInterventions({ type: 'steer', layer: 0, position: '@eoi', op: 'add', vector: { store: 's.arrow', hook: 'resid_post', layer: 0, position_kind: 'eoi', class_a: 1, class_b: 2 } }),
    m,
    { baseDir: dir },
  );
  assert.ok(maxAbsDiff(logitsOf(m, fromStore), want) < 1e-5);
  // mean ablation at position 6: mean over examples 0..3 of row*ex -> (0a + 1a + 2b + 3b) / 4
  const hook = 'blocks.0.hook_resid_post';
  const ablate = await compile(parseInterventions({ type: 'ablate', hook, positions: '6', mode: 'mean', mean: { store: join(dir, 's.arrow') } }), m);
  const got = capture(m, ablate, hook);
  assert.ok(maxAbsDiff(got[6]!, a.map((ai, i) => (ai + 2 * b[i]! + 3 * b[i]!) / 4)) < 1e-5);
  const zero = capture(m, await compile(parseInterventions({ type: 'ablate', hook, positions: '@all-image', mode: 'zero' }), m), hook);
  assert.deepEqual(zero[2], new Array(D).fill(0));
  assert.deepEqual(zero[3], new Array(D).fill(0));
  await assert.rejects(
    compile(parseInterventions({ type: 'ablate', hook, positions: '5', mode: 'mean', mean: { store: join(dir, 's.arrow') } }), m).then((h) => logitsOf(m, h)),
    (e: unknown) => e instanceof UserError && /has no mean for position 5/.test(e.message),
  );
  assert.equal((await openStore(join(dir, 's.arrow'))).numRows, 8);
  m.dispose();
});

/** Last-row logits of a full forward without cache. */
function fullLast(m: VLModel, ids: number[], spans: Spans, hooks: NamedHook[]): Float32Array {
  const l = logitsOf(m, hooks, ids, spans);
  return l.slice(l.length - 40);
}

test('specs compose and act on generated tokens with the KV cache exactly as in a full forward', async () => {
  const m = tinyNative({ nLayers: 2, nKvHeads: 2 }, 46);
  const specs = parseInterventions([
    { type: 'knockout', queries: '@text-after-image', keys: '@all-image', layers: 'all', mode: 'zero' },
    { type: 'steer', layer: 1, position: '@text-after-image', op: 'add', vector: { values: Array.from({ length: D }, (_, i) => Math.sin(i)) }, strength: 1.5 },
    { type: 'ablate', hook: 'blocks.1.attn.hook_v', positions: '@first-image', mode: 'zero' },
    { type: 'ablate', hook: 'blocks.0.hook_mlp_out', positions: '@text-after-image', mode: 'zero' },
  ]);
  const hooks = await compile(specs, m);
  const offsets: number[] = [];
  const spy: NamedHook = { name: 'blocks.1.hook_resid_post', fn: (_a, ctx) => void offsets.push(ctx.offset) };
  const prompt = IDS.slice(0, 6);
  const spans: Spans = { ...SPANS, length: 6 };
  const before = tf.memory().numTensors;
  const res = await generate(m, { prompts: [prompt], spans: [spans] }, { maxNewTokens: 4, eos: null, returnScores: true, hooks: [...hooks, spy] });
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  assert.deepEqual(offsets, [0, 6, 7, 8]);
  const plain = await generate(m, { prompts: [prompt], spans: [spans] }, { maxNewTokens: 4, eos: null, returnScores: true });
  const seq = [...prompt];
  for (let step = 0; step < 4; step++) {
    const full = fullLast(m, seq, { ...spans, length: 6 }, hooks);
    assert.ok(maxAbsDiff(full, res.scores![step]![0]!) < 1e-5, `step ${step}`);
    if (step > 0) assert.ok(maxAbsDiff(res.scores![step]![0]!, plain.scores![step]![0]!) > 1e-4, `step ${step} is changed by the edit`);
    seq.push(res.tokens[0]![step]!);
  }
  // a patch from another run's image during cached generation equals the full forward too
  const donor = runWithCache(m, input(OTHER), { names: ['blocks.0.hook_resid_post'] });
  const patch = await compile(parseInterventions({ type: 'patch', hook: 'blocks.0.hook_resid_post', positions: ['@all-image', '@eoi'], donor: { run: 'o' } }), m, {
    donors: { o: { cache: donor.cache, spans: [SPANS] } },
  });
  const pres = await generate(m, { prompts: [prompt], spans: [spans] }, { maxNewTokens: 3, eos: null, returnScores: true, hooks: patch });
  const pseq = [...prompt];
  for (let step = 0; step < 3; step++) {
    assert.ok(maxAbsDiff(fullLast(m, pseq, spans, patch), pres.scores![step]![0]!) < 1e-5, `patch step ${step}`);
    pseq.push(pres.tokens[0]![step]!);
  }
  assert.ok(maxAbsDiff(pres.scores![0]![0]!, plain.scores![0]![0]!) > 1e-4, 'the patch changes the first generated token\'s logits');
  donor.cache.dispose();
  donor.logits.dispose();

  // the specs survive a JSON round trip (as in a store's metadata) and compile to the same edit
  const again = await compile(parseInterventionsText(serializeInterventions(specs)), m);
  assert.deepEqual(logitsOf(m, again), logitsOf(m, hooks));
  m.dispose();
});

test('compile checks specs against the model, and leaks no tensors', async () => {
  const m = tinyNative({ nLayers: 2 }, 47);
  await assert.rejects(compile(parseInterventions({ type: 'knockout', queries: '@eoi', keys: '@bos', layers: [0, 1, 9] }), m), /knockout\.layers\[2\] = 9 is out of range 0\.\.1/);
  await assert.rejects(compile(parseInterventions({ type: 'patch', hook: 'blocks.0.hook_resid_pots', positions: '@eoi', donor: { run: 'x' } }), m), /not a hook of this model; close matches: blocks\.0\.hook_resid_post/);
  await assert.rejects(compile(parseInterventions({ type: 'ablate', hook: 'blocks.0.attn.hook_pattern', positions: '@eoi', mode: 'zero' }), m), /has no position axis/);
  await assert.rejects(compile(parseInterventions({ type: 'steer', layer: 0, position: '@eoi', op: 'add', vector: { values: [1, 2] } }), m), /expected d_model = 16/);
 const cutAll = await compile(parseInterventions({ type: 'knockout', queries: '@all', keys: '@bos', mode: 'renormalize' }), m);
  assert.throws(() => logitsOf(m, cutAll), /cuts every key of query position 0/);
  const hooks = await compile(parseInterventions({ type: 'steer', layer: 0, position: '@eoi', op: 'add', vector: { values: new Array(D).fill(1) } }), m);
  const x = { ids: tf.tensor2d([IDS], [1, IDS.length], 'int32') };
  assert.throws(() => runWithHooks(m, x, hooks), /needs the spans of each example/);
  const before = tf.memory().numTensors;
  logitsOf(m, hooks);
  logitsOf(m, await compile(parseInterventions({ type: 'knockout', queries: '@all-text', keys: '@all-image', mode: 'renormalize' }), m));
  logitsOf(m, await compile(parseInterventions({ type: 'ablate', hook: 'blocks.1.attn.hook_z', positions: '@eoi', mode: 'zero' }), m));
  assert.equal(tf.memory().numTensors, before);
  x.ids.dispose();
  m.dispose();
});
