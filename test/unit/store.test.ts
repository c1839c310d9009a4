import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataType, RecordBatchFileReader, tableFromIPC, tableToIPC, makeTable } from 'apache-arrow';
import type { PositionKind, Spans } from '../../src/model/spans.js';
import { positionKind } from '../../src/model/spans.js';
import { ActivationWriter, openStore, createStoreWriter, type RowBlock, type StoreRow } from '../../src/store/index.js';
import { parseInterventions, parseInterventionsText } from '../../src/interventions/spec.js';
import { UserError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

const D = 5;
const HOOKS = ['resid_post', 'attn.hook_z', 'hook_embed'];
const SPECS = parseInterventions([
  { type: 'knockout', queries: '@text-after-image', keys: '@all-image', layers: [1] },
  { type: 'steer', layer: 0, position: '@eoi', op: 'add', vector: { values: [1, 2, 3, 4, 5] }, strength: 0.5 },
]);

/** Synthetic extraction: 12 examples (some text-only) x hooks x layers x a few positions. */
function makeBlocks(seed = 1): RowBlock[] {
  const rng = new Rng(seed);
  const blocks: RowBlock[] = [];
  for (let ex = 0; ex < 12; ex++) {
    const textOnly = ex % 5 === 4;
    const spans: Spans = textOnly
      ? { length: 6, bos: 0, boi: null, image: null, eoi: null }
      : { length: 10, bos: 0, boi: 1, image: [2, 6], eoi: 6 };
    const pos = textOnly ? [0, 3, 5] : [0, 1, 4, 5, 6, 8];
    for (const hook of HOOKS) {
      const layers = hook === 'hook_embed' ? [-1] : [0, 1, 2];
      for (const layer of layers) {
        const values = Float32Array.from({ length: pos.length * D }, () => rng.normal());
        blocks.push({
          exampleId: 100 + ex,
          hook,
          layer,
          label: ex % 3 === 0 ? -1 : ex % 3,
          pos,
          kinds: pos.map((p) => positionKind(spans, p)),
          tokenIds: pos.map((p) => (spans.image && p >= 2 && p < 6 ? -1 : 1000 + p)),
          values,
        });
      }
    }
  }
  return blocks;
}

function expectedRows(blocks: RowBlock[], runId: string): StoreRow[] {
  return blocks.flatMap((b) =>
    Array.from(b.pos, (p, i) => ({
      runId,
      exampleId: b.exampleId,
      hook: b.hook,
      layer: b.layer,
      pos: p,
      kind: b.kinds[i]!,
      tokenId: b.tokenIds![i]!,
      label: b.label ?? -1,
      value: b.values.slice(i * D, (i + 1) * D),
    })),
  );
}

const key = (r: StoreRow) => `${r.hook}|${r.layer}|${r.exampleId}|${String(r.pos).padStart(4, '0')}`;
const sortRows = (rows: StoreRow[]) => [...rows].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));

async function collect(it: AsyncIterable<StoreRow>): Promise<StoreRow[]> {
  const out: StoreRow[] = [];
  for await (const r of it) out.push(r);
  return out;
}

const tmp = () => mkdtempSync(join(tmpdir(), 'ng-store-'));
const meta = { runId: 'run-a', d: D, checkpointHash: 'sha256:abc', recipe: 'native-shapes', backend: 'wasm', interventions: SPECS, extra: { dataset: 'shapes' } };

test('a file round-trips exactly: every field, many batches, shared dictionaries, no nulls', async () => {
  const dir = tmp();
  const path = join(dir, 'acts.arrow');
  const blocks = makeBlocks();
  const w = new ActivationWriter(path, meta, { hooks: HOOKS, batchRows: 7 });
  for (const b of blocks) w.write(b);
  await w.close();
  assert.deepEqual(readdirSync(dir), ['acts.arrow']);

  // standard IPC *file* format: magic at both ends, footer lists exactly one dictionary batch per dictionary column
  const bytes = readFileSync(path);
  assert.equal(bytes.subarray(0, 6).toString('latin1'), 'ARROW1');
  assert.equal(bytes.subarray(bytes.length - 6).toString('latin1'), 'ARROW1');
  const fr = RecordBatchFileReader.from(bytes);
  fr.open();
  assert.equal(fr.numDictionaries, 3);
  const table = tableFromIPC(bytes);
  assert.equal(fr.numRecordBatches, table.batches.length);
  assert.ok(table.batches.length > 20, `expected many batches, got ${table.batches.length}`);
  for (const f of table.schema.fields) assert.equal(table.getChild(f.name)!.nullCount, 0, f.name);
  assert.ok(DataType.isDictionary(table.schema.fields[5]!.type));
  // dictionary values decode correctly in every batch (the silent-null trap would break this)
  for (const batch of table.batches) {
    for (let i = 0; i < batch.numRows; i++) {
      assert.ok(['bos', 'boi', 'image', 'eoi', 'text'].includes(batch.getChild('position_kind')!.get(i)));
      assert.ok(HOOKS.includes(batch.getChild('hook')!.get(i)));
      assert.equal(batch.getChild('run_id')!.get(i), 'run-a');
    }
  }

  const store = await openStore(path);
  const expected = expectedRows(blocks, 'run-a');
  assert.equal(store.numRows, expected.length);
  assert.deepEqual(sortRows(await collect(store.rows())), sortRows(expected));
  assert.deepEqual(store.hooks().sort(), [...HOOKS].sort());
  assert.deepEqual(store.layers('resid_post'), [0, 1, 2]);
  assert.deepEqual(store.layers('hook_embed'), [-1]);
  assert.deepEqual(store.kinds(), ['bos', 'boi', 'image', 'eoi', 'text']);
});

test('slice(hook, layer, kind) gives the matching rows, contiguous, in write order', async () => {
  const path = join(tmp(), 'acts.arrow');
  const blocks = makeBlocks(2);
  const w = new ActivationWriter(path, meta, { hooks: HOOKS, batchRows: 4 });
  for (const b of blocks) w.write(b);
  await w.close();
  const store = await openStore(path);
  for (const [hook, layer, kind] of [['resid_post', 1, 'eoi'], ['attn.hook_z', 2, 'image'], ['hook_embed', -1, 'text']] as const) {
    const want = expectedRows(blocks, 'run-a').filter((r) => r.hook === hook && r.layer === layer && r.kind === kind);
    const s = await store.slice(hook, layer, kind as PositionKind);
    assert.equal(s.n, want.length);
    assert.equal(s.values.length, want.length * D);
    assert.deepEqual([...s.exampleIds], want.map((r) => r.exampleId));
    assert.deepEqual([...s.pos], want.map((r) => r.pos));
    assert.deepEqual([...s.labels], want.map((r) => r.label));
    assert.deepEqual([...s.tokenIds], want.map((r) => r.tokenId));
    want.forEach((r, i) => assert.deepEqual(s.values.subarray(i * D, (i + 1) * D), r.value));
  }
  const none = await store.slice('resid_post', 7, 'eoi');
  assert.equal(none.n, 0);
});

test('metadata round-trips, including the intervention specs', async () => {
  const path = join(tmp(), 'acts.arrow');
  const w = new ActivationWriter(path, meta, { hooks: HOOKS });
  w.write(makeBlocks()[0]!);
  await w.close();
  const m = (await openStore(path)).metadata;
  assert.equal(m.runId, 'run-a');
  assert.equal(m.d, D);
  assert.equal(m.checkpointHash, 'sha256:abc');
  assert.equal(m.recipe, 'native-shapes');
  assert.equal(m.backend, 'wasm');
  assert.deepEqual(m.extra, { dataset: 'shapes' });
  assert.match(m.narrowgateVersion, /^\d+\.\d+\.\d+/);
  assert.ok(!Number.isNaN(Date.parse(m.createdAt)));
  assert.deepEqual(parseInterventionsText(m.interventions), SPECS);
});

test('an unclosed writer leaves nothing at the final name; abort removes the temporary file', async () => {
  const dir = tmp();
  const path = join(dir, 'acts.arrow');
  const w = new ActivationWriter(path, meta, { hooks: HOOKS, batchRows: 3 });
  for (const b of makeBlocks().slice(0, 10)) w.write(b);
  assert.equal(existsSync(path), false);
  assert.equal(readdirSync(dir).length, 1);
  assert.match(readdirSync(dir)[0]!, /^\.tmp-acts\.arrow-/);
  await w.abort();
  assert.deepEqual(readdirSync(dir), []);
});

test('a process that dies before close leaves no file at the final name', async () => {
  const { spawnSync } = await import('node:child_process');
  const dir = tmp();
  const path = join(dir, 'acts.arrow');
  const mod = new URL('../../src/store/writer.js', import.meta.url).href;
  const code = `const { ActivationWriter } = await import(${JSON.stringify(mod)});
    const w = new ActivationWriter(${JSON.stringify(path)}, { runId: 'r', d: 2 }, { hooks: ['h'], batchRows: 1 });
    w.write({ exampleId: 0, hook: 'h', layer: 0, pos: [0, 1], kinds: ['bos', 'text'], values: new Float32Array(4) });
    process.exit(3);`;
  const execArgv = process.execArgv.filter((a, i, all) => a === '--import' || all[i - 1] === '--import' || a.startsWith('--import='));
  const r = spawnSync(process.execPath, [...execArgv, '--input-type=module', '-e', code], { encoding: 'utf8' });
  assert.equal(r.status, 3, r.stderr);
  assert.equal(existsSync(path), false);
});

test('shard directories: per layer, split by rows, read back equal to one file', async () => {
  const dir = tmp();
  const blocks = makeBlocks(3);
  const single = join(dir, 'one.arrow');
  const sharded = join(dir, 'shards');
  const w1 = createStoreWriter(single, meta, { hooks: HOOKS });
  const w2 = createStoreWriter(sharded, meta, { hooks: HOOKS, batchRows: 5, shards: { shardBy: 'layer', maxRows: 40 } });
  for (const b of blocks) {
    w1.write(b);
    w2.write(b);
  }
  assert.equal(existsSync(sharded), false);
  await w1.close();
  await w2.close();
  const files = readdirSync(sharded).sort();
  assert.ok(files.includes('manifest.json'));
  assert.ok(files.includes('layer-neg1.part-000.arrow'), files.join(','));
  assert.ok(files.filter((f) => f.startsWith('layer-0001.')).length > 1, files.join(','));
  const a = await openStore(single);
  const b = await openStore(sharded);
  assert.equal(b.numRows, a.numRows);
  assert.deepEqual(sortRows(await collect(b.rows())), sortRows(await collect(a.rows())));
  assert.deepEqual(b.layers(), a.layers());
  assert.deepEqual(parseInterventionsText(b.metadata.interventions), SPECS);
  const sa = await a.slice('resid_post', 1, 'image');
  const sb = await b.slice('resid_post', 1, 'image');
  assert.deepEqual(sb, sa);
  // shards by rows only
  const byRows = join(dir, 'rows');
  const w3 = createStoreWriter(byRows, meta, { hooks: HOOKS, shards: { shardBy: 'rows', maxRows: 100 } });
  for (const blk of blocks) w3.write(blk);
  await w3.close();
  assert.ok(readdirSync(byRows).filter((f) => f.startsWith('part-')).length > 1);
  assert.deepEqual(await (await openStore(byRows)).slice('resid_post', 1, 'image'), sa);
});

test('files that are not stores give one clear sentence naming the problem', async () => {
  const dir = tmp();
  const junk = join(dir, 'junk.arrow');
  writeFileSync(junk, 'this is not arrow');
  await assert.rejects(openStore(junk), (e: unknown) => e instanceof UserError && /junk\.arrow is not an Arrow IPC file/.test(e.message));
  await assert.rejects(openStore(join(dir, 'missing.arrow')), (e: unknown) => e instanceof UserError && /does not exist/.test(e.message));
  const other = join(dir, 'other.arrow');
  writeFileSync(other, tableToIPC(makeTable({ run_id: new Int32Array([1]) }), 'file'));
  await assert.rejects(openStore(other), (e: unknown) => e instanceof UserError && /column "run_id" has type Int32; expected Dictionary/.test(e.message));
  const missing = join(dir, 'missing-col.arrow');
  writeFileSync(missing, tableToIPC(makeTable({ x: new Float32Array([1]) }), 'file'));
  await assert.rejects(openStore(missing), (e: unknown) => e instanceof UserError && /has no column "run_id"/.test(e.message));
});
