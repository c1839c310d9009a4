import { test } from 'node:test';
import assert from 'node:assert/strict';
import { homogeneity } from '../../src/analysis/homogeneity.js';

test('pure clusters give 1 (even when a modality is split over several clusters)', () => {
  assert.equal(homogeneity(['text', 'text', 'image', 'image'], [0, 0, 1, 1]).homogeneity, 1);
  assert.equal(homogeneity([0, 0, 1, 1, 1], [3, 4, 7, 7, 8]).homogeneity, 1);
});

test('clusters independent of modality give 0', () => {
  const r = homogeneity(['t', 'i', 't', 'i', 't', 'i'], [0, 0, 1, 1, 2, 2]);
  assert.ok(Math.abs(r.homogeneity) < 1e-15);
  assert.equal(homogeneity([0, 1, 0, 1], [5, 5, 5, 5]).homogeneity, 0);
});

test('hand computation: labels [0,0,1,1], clusters [0,0,0,1]', () => {
  // H(L) = ln 2; H(L|C) = 3/4 * H(2/3, 1/3) + 1/4 * 0
  const hc = 0.75 * -((2 / 3) * Math.log(2 / 3) + (1 / 3) * Math.log(1 / 3));
  const r = homogeneity([0, 0, 1, 1], [0, 0, 0, 1]);
  assert.ok(Math.abs(r.hLabel - Math.log(2)) < 1e-15);
  assert.ok(Math.abs(r.hLabelGivenCluster - hc) < 1e-15);
  assert.ok(Math.abs(r.homogeneity - (1 - hc / Math.log(2))) < 1e-15);
  assert.ok(Math.abs(r.homogeneity - 0.31127812445913283) < 1e-12);
  assert.equal(r.nClusters, 2);
});

test('unbalanced hand example: 3 text + 1 image, clusters {t,t} {t,i}', () => {
  const hl = -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25));
  const hc = 0.5 * Math.log(2);
  assert.ok(Math.abs(homogeneity(['t', 't', 't', 'i'], [0, 0, 1, 1]).homogeneity - (1 - hc / hl)) < 1e-15);
});

test('one modality only gives 1 (sklearn convention); mismatched lengths are a UserError', () => {
  assert.equal(homogeneity([1, 1, 1], [0, 1, 2]).homogeneity, 1);
  assert.throws(() => homogeneity([1, 2], [0]), { name: 'UserError' });
});
