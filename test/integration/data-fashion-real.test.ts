/**
 * The Fashion-MNIST reader on the real files of Debian's dataset-fashion-mnist, when installed (the
 * unit tests use a generated IDX fixture, so CI does not need the package). Checked against published
 * facts about the dataset: 60,000 / 10,000 images of 28x28, 6,000 / 1,000 per class, and the first
 * labels of each split.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FASHION_MNIST_DIR, readFashionMnist } from '../../src/data/fashion-mnist.js';

const present = existsSync(join(FASHION_MNIST_DIR, 'train-labels-idx1-ubyte.gz'));

test('real Fashion-MNIST: sizes, balanced classes, first labels', { skip: present ? false : `${FASHION_MNIST_DIR} not installed` }, async () => {
  for (const [split, count, first] of [
    ['train', 60000, [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]],
    ['test', 10000, [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]],
  ] as const) {
    const s = await readFashionMnist(FASHION_MNIST_DIR, split);
    assert.equal(s.count, count);
    assert.equal(s.side, 28);
    assert.deepEqual([...s.labels.subarray(0, 10)], first);
    const perClass = new Array(10).fill(0);
    for (const l of s.labels) perClass[l]++;
    assert.deepEqual(perClass, new Array(10).fill(count / 10));
  }
});
