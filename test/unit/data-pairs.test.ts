import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../src/util/errors.js';
import { buildShapesDataset } from '../../src/data/shapes.js';
import { openDataset } from '../../src/data/open.js';
import { contrastPairs } from '../../src/data/pairs.js';
import type { Scene } from '../../src/data/shapes-scene.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'ng-pairs-'));

test('contrast pairs differ in exactly the chosen attribute', async () => {
  const dir = join(tmp(), 'single');
  await buildShapesDataset(dir, { n: 400, seed: 2, single: true, size: 16 });
  const ds = await openDataset(dir);
  assert.equal(ds.pixels.length, 400 * 16 * 16 * 3);
  for (const attribute of ['shape', 'color', 'size', 'position'] as const) {
    const pairs = contrastPairs(ds, { attribute, seed: 1 });
    assert.ok(pairs.length > 50, `${attribute}: ${pairs.length} pairs`);
    for (const p of pairs) {
      const b = (ds.get(p.base).scene as Scene).objects[0]!, t = (ds.get(p.target).scene as Scene).objects[0]!;
      for (const k of ['shape', 'color', 'size', 'position'] as const) {
        if (k === attribute) assert.notEqual(b[k], t[k]);
        else assert.equal(b[k], t[k]);
      }
      assert.equal(p.baseValue, b[attribute]);
      assert.equal(p.targetValue, t[attribute]);
    }
  }
  const cs = contrastPairs(ds, { attribute: 'shape', values: ['circle', 'square'], n: 5, seed: 3 });
  assert.ok(cs.length > 0 && cs.length <= 5);
  for (const p of cs) assert.deepEqual([p.baseValue, p.targetValue].sort(), ['circle', 'square']);
  assert.deepEqual(contrastPairs(ds, { attribute: 'color', seed: 9 }), contrastPairs(ds, { attribute: 'color', seed: 9 }));
});

test('contrast pairs need single-object scenes', async () => {
  const dir = join(tmp(), 'multi');
  await buildShapesDataset(dir, { n: 20, seed: 2, minObjects: 2, maxObjects: 3, size: 16 });
  const ds = await openDataset(dir);
  assert.throws(() => contrastPairs(ds, { attribute: 'shape' }), (e: unknown) => e instanceof UserError && /--single/.test(e.message));
});
