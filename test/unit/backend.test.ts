import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend, parseBackendPreference } from '../../src/backend/index.js';
import { UserError } from '../../src/util/errors.js';

test('explicit wasm and cpu backends activate and are verified with tf.getBackend()', async () => {
  const w = await initBackend('wasm');
  assert.equal(w.name, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  const c = await initBackend('cpu');
  assert.equal(c.name, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
});

test('auto picks the first backend that works and records why the others before it were skipped', async () => {
  const info = await initBackend('auto');
  assert.equal(tf.getBackend(), info.tfName);
  const order = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
  assert.deepEqual(info.unavailable.map((u) => u.name), order.slice(0, order.indexOf(info.name)));
  for (const u of info.unavailable) assert.ok(u.reason.length > 0);
  await initBackend('cpu');
});

test('NARROWGATE_BACKEND is read when no preference is given; unknown names are UserErrors', async () => {
  const old = process.env.NARROWGATE_BACKEND;
  process.env.NARROWGATE_BACKEND = 'cpu';
  try {
    assert.equal(parseBackendPreference(undefined), 'cpu');
    assert.equal(parseBackendPreference('wasm'), 'wasm');
    assert.throws(() => parseBackendPreference('tpu'), UserError);
  } finally {
    if (old === undefined) delete process.env.NARROWGATE_BACKEND;
    else process.env.NARROWGATE_BACKEND = old;
  }
});

test('an explicitly requested backend that cannot load is a UserError saying why', async () => {
  let installed = true;
  try {
    await import('@tensorflow/tfjs-node' as string);
  } catch {
    installed = false;
  }
  if (installed) return; // on a machine with tfjs-node, the request succeeds
  await assert.rejects(initBackend('tensorflow'), (e: unknown) => e instanceof UserError && /tfjs-node/.test(e.message));
  assert.ok(['cpu', 'wasm'].includes(tf.getBackend()));
});

test('systemInfo reports the versions of the installed dependencies and the active backend', async () => {
  const { systemInfo } = await import('../../src/backend/info.js');
  const info = await systemInfo('cpu');
  assert.equal(info.versions.tfjs, tf.version.tfjs);
  assert.match(info.versions.narrowgate ?? '', /^\d+\.\d+\.\d+/);
  assert.equal(info.versions.node, process.versions.node);
  for (const k of ['tfjs-backend-wasm', 'apache-arrow', 'hnswlib-node', 'sharp']) assert.match(info.versions[k] ?? '', /^\d+\.\d+\.\d+/, k);
  assert.equal(info.backend.active, 'cpu');
});
