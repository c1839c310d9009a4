/**
 * The demo's data: freshly generated shapes scenes (a seed the recipes never train on; multi-object
 * scenes for every experiment, single-object scenes for the contrast pairs of patching and steering),
 * and the Fashion-MNIST test set when Debian's dataset-fashion-mnist package is installed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FASHION_MNIST_DIR, buildFashionMnistDataset } from '../data/fashion-mnist.js';
import { buildShapesDataset } from '../data/shapes.js';
import type { ProgressFactory } from '../util/progress.js';

/** Training recipes use data seed 0; the demo's scenes come from another stream. */
export const DEMO_SHAPES_SEED = 20261121;

/** Single-object scenes drawn for contrast pairs (480 distinct objects: about half find a partner per attribute). */
const SINGLE_MIN = 480;

export interface DemoDataset {
  /** "shapes" | "shapes-single" | "fashion-mnist" */
  name: string;
  dir: string;
  images: number;
  classes?: number;
  note: string;
}

export interface DemoData {
  shapes: DemoDataset;
  single: DemoDataset;
  fashion: DemoDataset | null;
  /** Why Fashion-MNIST is missing, when it is. */
  fashionNote?: string;
}

export interface DemoDataOptions {
  /** Images per shapes dataset. */
  n: number;
  seed?: number;
  /** Image side of the shapes scenes (every checkpoint resizes to its own input). */
  size?: number;
  /** Fashion-MNIST test images to use (0: none). */
  fashionN: number;
  fashionDir?: string;
  progress: ProgressFactory;
}

export async function prepareDemoData(dir: string, o: DemoDataOptions): Promise<DemoData> {
  const seed = o.seed ?? DEMO_SHAPES_SEED;
  const size = o.size ?? 32;
  // Every scene is new (its own seed), so the whole set is evaluated: no val/test carve-out.
  const common = { n: o.n, size, valFraction: 0, testFraction: 0 };
  const shapesDir = join(dir, 'shapes');
  await buildShapesDataset(shapesDir, { ...common, seed }, o.progress);
  const singleDir = join(dir, 'shapes-single');
  // Contrast pairs need two scenes that agree on every attribute but one: draw enough single-object scenes.
  const nSingle = Math.max(o.n, SINGLE_MIN);
  await buildShapesDataset(singleDir, { ...common, n: nSingle, seed: seed + 1, single: true }, o.progress);
  const note = `generated now (seed ${seed}; the recipes train on seed 0)`;
  const out: DemoData = {
    shapes: { name: 'shapes', dir: shapesDir, images: o.n, classes: 6, note: `${note}, 1-3 objects, ${size}px` },
    single: { name: 'shapes-single', dir: singleDir, images: nSingle, classes: 6, note: `${note}, one object per scene` },
    fashion: null,
  };
  const fdir = o.fashionDir ?? FASHION_MNIST_DIR;
  if (o.fashionN > 0 && existsSync(join(fdir, 't10k-images-idx3-ubyte.gz'))) {
    const fashionDir = join(dir, 'fashion-mnist');
    await buildFashionMnistDataset(fashionDir, { dir: fdir, split: 'test', n: o.fashionN }, o.progress);
    out.fashion = { name: 'fashion-mnist', dir: fashionDir, images: o.fashionN, classes: 10, note: 'Fashion-MNIST test set (never trained on)' };
  } else {
    out.fashionNote = o.fashionN > 0 ? `Fashion-MNIST is not installed (${fdir}; apt-get install dataset-fashion-mnist)` : 'Fashion-MNIST not requested';
  }
  return out;
}
