/**
 * An independent reader (Polars, Rust Arrow) opens a store written by narrowgate and sees the same
 * values: the file is standard Arrow IPC, readable outside apache-arrow JS.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolars, POLARS_MISSING } from '../helpers/polars.js';
import { ActivationWriter } from '../../src/store/index.js';
import { Rng } from '../../src/util/rng.js';

const pl = await loadPolars();

test('Polars reads every column of a multi-batch store with the written values', { skip: pl ? false : POLARS_MISSING }, async () => {
  const d = 6;
  const path = join(mkdtempSync(join(tmpdir(), 'ng-polars-')), 'acts.arrow');
  const w = new ActivationWriter(path, { runId: 'polars-run', d, recipe: 'r' }, { hooks: ['resid_post', 'attn.hook_z'], batchRows: 3 });
  const rng = new Rng(11);
  const kinds = ['bos', 'boi', 'image', 'image', 'eoi', 'text'] as const;
  const expected = new Map<string, { hook: string; layer: number; kind: string; token: number; label: number; value: number[] }>();
  for (let ex = 0; ex < 8; ex++) {
    for (const [hook, layer] of [['resid_post', 0], ['resid_post', 3], ['attn.hook_z', 1]] as const) {
      const values = Float32Array.from({ length: kinds.length * d }, () => rng.normal());
      const pos = kinds.map((_, i) => i);
      const tokenIds = pos.map((p) => (kinds[p] === 'image' ? -1 : 50 + p));
      w.write({ exampleId: ex, hook, layer, label: ex % 2, pos, kinds: [...kinds], tokenIds, values });
      pos.forEach((p, i) =>
        expected.set(`${ex}/${hook}/${layer}/${p}`, {
          hook,
          layer,
          kind: kinds[i]!,
          token: tokenIds[i]!,
          label: ex % 2,
          value: Array.from(values.subarray(i * d, (i + 1) * d)),
        }),
      );
    }
  }
  await w.close();

  const df = pl.readIPC(readFileSync(path)); // a Buffer: a path string fails in this version (STACK.md)
  assert.equal(df.height, expected.size);
  assert.deepEqual(df.columns, ['run_id', 'example_id', 'hook', 'layer', 'pos', 'position_kind', 'token_id', 'label', 'value']);
  const seen = new Set<string>();
  for (const r of df.toRecords() as Record<string, unknown>[]) {
    const k = `${r.example_id}/${r.hook}/${r.layer}/${r.pos}`;
    const e = expected.get(k);
    assert.ok(e, `unexpected row ${k}`);
    assert.equal(r.run_id, 'polars-run');
    assert.equal(r.position_kind, e.kind);
    assert.equal(r.token_id, e.token);
    assert.equal(r.label, e.label);
    const v = r.value as number[];
    assert.equal(v.length, d);
    // Polars widens to float64 for JS; the float32 values must come back exactly
    v.forEach((x, i) => assert.equal(Math.fround(x), e.value[i]));
    seen.add(k);
  }
  assert.equal(seen.size, expected.size);
  for (const col of df.columns) assert.equal(df.getColumn(col).nullCount(), 0, col);
});
