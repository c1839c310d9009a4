/**
 * An independent reader (Polars, Rust Arrow) opens a dataset's images.arrow written by narrowgate and
 * sees the same ids, splits, labels, scenes and pixels as openDataset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolars, POLARS_MISSING } from '../helpers/polars.js';
import { buildShapesDataset } from '../../src/data/shapes.js';
import { openDataset } from '../../src/data/open.js';

const pl = await loadPolars();

test('Polars reads images.arrow of a shapes dataset with the written values', { skip: pl ? false : POLARS_MISSING }, async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'ng-data-polars-')), 'ds');
  await buildShapesDataset(dir, { n: 40, seed: 6, size: 16 });
  const ds = await openDataset(dir);
  const df = pl.readIPC(readFileSync(join(dir, 'images.arrow'))); // a Buffer: a path string fails in this version (STACK.md)
  assert.deepEqual(df.columns, ['image_id', 'file_name', 'split', 'label', 'label_name', 'color', 'count', 'position', 'shape', 'size', 'width', 'height', 'channels', 'scene', 'pixels']);
  const rows = df.toRecords() as Record<string, unknown>[]; // (df.height would be our "height" column)
  assert.equal(rows.length, 40);
  rows.forEach((r, i) => {
    const im = ds.get(i);
    assert.equal(r.image_id, im.id);
    assert.equal(r.split, im.split);
    assert.equal(r.label, im.label);
    assert.equal(r.label_name, ds.classes[im.label]);
    assert.equal(r.shape, im.labels.shape);
    assert.deepEqual(JSON.parse(r.scene as string), im.scene);
    const px = Array.from(r.pixels as Iterable<number>); // a fixed-size list comes back as a Series
    assert.equal(px.length, 16 * 16 * 3);
    assert.deepEqual(px, [...im.pixels]);
  });
  for (const r of rows) for (const [k, v] of Object.entries(r)) assert.ok(v !== null && v !== undefined, `${k} is not null`);
  assert.match(String(df.schema.split), /Categorical/); // the split dictionary arrives as a categorical
});
