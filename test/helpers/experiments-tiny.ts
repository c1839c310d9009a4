/**
 * Fixture for the experiment runners: the tiny random checkpoints of eval-tiny.ts (native: 2 layers,
 * adapter: 1 layer, d_model 16) plus a single-object shapes dataset (for contrast pairs and class
 * labels), built once per test file.
 */
import { join } from 'node:path';
import { buildShapesDataset } from '../../src/data/shapes.js';
import { openDataset, type Dataset } from '../../src/data/open.js';
import { evalFixture, type EvalFixture } from './eval-tiny.js';
import { useBackend } from './tiny.js';

export interface ExperimentsFixture extends EvalFixture {
  /** Single-object scenes (contrast pairs). */
  single: string;
  singleDs: Dataset;
}

let cached: Promise<ExperimentsFixture> | null = null;

export function experimentsFixture(n = 16, nSingle = 40): Promise<ExperimentsFixture> {
  cached ??= (async () => {
    await useBackend('cpu');
    const f = await evalFixture(n);
    const single = join(f.root, 'single');
    await buildShapesDataset(single, { n: nSingle, seed: 11, size: 16, supersample: 1, single: true, valFraction: 0, testFraction: 0 });
    return { ...f, single, singleDs: await openDataset(single) };
  })();
  return cached;
}
