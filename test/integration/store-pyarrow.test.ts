/**
 * pyarrow (Arrow C++) opens a store written by narrowgate: the IPC file format with one dictionary
 * per dictionary column, no nulls, the same values. Runs when a Python with pyarrow is available
 * ($NARROWGATE_PYTHON, else python3); skipped otherwise (this machine's Debian has no pyarrow).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActivationWriter } from '../../src/store/index.js';
import { Rng } from '../../src/util/rng.js';

const python = process.env.NARROWGATE_PYTHON ?? 'python3';
const probe = spawnSync(python, ['-c', 'import pyarrow'], { encoding: 'utf8' });
const skip = probe.status === 0 ? false : `no pyarrow for ${python}`;

const SCRIPT = `
import sys, json, pyarrow.ipc as ipc
r = ipc.open_file(sys.argv[1])
t = r.read_all()
rows = t.to_pylist()
print(json.dumps({
  "batches": r.num_record_batches,
  "nulls": [t.column(i).null_count for i in range(t.num_columns)],
  "types": [str(f.type) for f in t.schema],
  "meta": {k.decode(): v.decode() for k, v in t.schema.metadata.items()},
  "rows": rows,
}))
`;

test('pyarrow reads a multi-batch store with the written values and metadata', { skip }, async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'ng-pyarrow-')), 'acts.arrow');
  const specs = [{ type: 'knockout', queries: '@eoi', keys: '@all-image', layers: 'all', heads: 'all', mode: 'zero' }];
  const w = new ActivationWriter(path, { runId: 'pa', d: 3, interventions: specs, checkpointHash: 'sha256:00' }, { hooks: ['hook_resid_post', 'attn.hook_z'], batchRows: 2 });
  const rng = new Rng(9);
  const kinds = ['bos', 'boi', 'image', 'eoi', 'text'] as const;
  const expected = new Map<string, number[]>();
  for (let ex = 0; ex < 4; ex++) {
    for (const [hook, layer] of [['hook_resid_post', 0], ['attn.hook_z', 2]] as const) {
      const values = Float32Array.from({ length: 15 }, () => rng.normal());
      w.write({ exampleId: ex, hook, layer, label: ex, pos: [0, 1, 2, 3, 4], kinds: [...kinds], tokenIds: [1, 3, -1, 4, 9], values });
      for (let p = 0; p < 5; p++) expected.set(`${ex}/${hook}/${layer}/${p}/${kinds[p]}`, Array.from(values.subarray(p * 3, p * 3 + 3)));
    }
  }
  await w.close();
  const r = spawnSync(python, ['-c', SCRIPT, path], { encoding: 'utf8', maxBuffer: 1 << 24 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { batches: number; nulls: number[]; types: string[]; meta: Record<string, string>; rows: Record<string, unknown>[] };
  assert.ok(out.batches > 4);
  assert.deepEqual(out.nulls, new Array(9).fill(0));
  assert.equal(out.types[5], 'dictionary<values=string, indices=int8, ordered=0>');
  assert.equal(out.types[8], 'fixed_size_list<item: float not null>[3]');
  assert.deepEqual(JSON.parse(out.meta.interventions!), specs);
  assert.equal(out.meta.checkpoint_hash, 'sha256:00');
  assert.equal(out.rows.length, expected.size);
  for (const row of out.rows) {
    const want = expected.get(`${row.example_id}/${row.hook}/${row.layer}/${row.pos}/${row.position_kind}`);
    assert.ok(want, JSON.stringify(row));
    assert.deepEqual((row.value as number[]).map(Math.fround), want);
    assert.equal(row.run_id, 'pa');
  }
});
