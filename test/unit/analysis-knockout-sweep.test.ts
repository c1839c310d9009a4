import { test } from 'node:test';
import assert from 'node:assert/strict';
import { knockoutWindows, sweepCurve } from '../../src/analysis/knockout-sweep.js';

test('windows of the last w layers, L always included', () => {
  assert.deepEqual(knockoutWindows(4, 2), [
    { w: 0, layers: [] },
    { w: 2, layers: [2, 3] },
    { w: 4, layers: [0, 1, 2, 3] },
  ]);
  assert.deepEqual(knockoutWindows(5, 2).map((x) => x.w), [0, 2, 4, 5]);
  assert.deepEqual(knockoutWindows(3).map((x) => x.layers), [[], [2], [1, 2], [0, 1, 2]]);
  assert.deepEqual(knockoutWindows(2, 5).map((x) => x.w), [0, 2]);
});

test('sweep curve pairs values with windows; bad inputs are UserErrors', () => {
  const ws = knockoutWindows(4, 2);
  assert.deepEqual(sweepCurve(4, ws, [0.9, 0.5, 0.1]), [
    { w: 0, fraction: 0, value: 0.9 },
    { w: 2, fraction: 0.5, value: 0.5 },
    { w: 4, fraction: 1, value: 0.1 },
  ]);
  assert.throws(() => sweepCurve(4, ws, [1]), { name: 'UserError' });
  assert.throws(() => knockoutWindows(0), { name: 'UserError' });
  assert.throws(() => knockoutWindows(4, 0), { name: 'UserError' });
});
