import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PairTable } from '../../src/metrics/pair-table.js';

test('PairTable agrees with a Map of string keys through growth, overwrites and absent keys', () => {
  const t = new PairTable(4);
  const ref = new Map<string, number>();
  let x = 12345;
  const next = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8);
  for (let i = 0; i < 20000; i++) {
    const a = next() % 3000, b = next() % (2 ** 22);
    t.set(a, b, i);
    ref.set(`${a},${b}`, i);
  }
  assert.equal(t.size, ref.size);
  for (const [k, v] of ref) {
    const [a, b] = k.split(',').map(Number) as [number, number];
    assert.equal(t.get(a, b), v);
  }
  assert.equal(t.get(3001, 5), -1);
  assert.equal(t.get(0, 2 ** 30), -1);
});
