/** Synthetic point clouds with known answers for the analysis tests (seeded, plain Float32Array). */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { Rng } from '../../src/util/rng.js';
import type { Matrix } from '../../src/analysis/matrix.js';

/** wasm when it loads (fast matmul), else cpu; asserts the switch took effect. */
export async function useFastBackend(): Promise<string> {
  if (tf.getBackend() === 'wasm') return 'wasm';
  const ok = await tf.setBackend('wasm').catch(() => false);
  if (!ok && !(await tf.setBackend('cpu'))) throw new Error('no tfjs backend available');
  await tf.ready();
  return tf.getBackend();
}

export function gaussian(rng: Rng, n: number, d: number, scale = 1, centre?: number[]): Matrix {
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) data[i * d + c] = (centre?.[c] ?? 0) + scale * rng.normal();
  return { data, n, d };
}

/** Concatenate matrices row-wise. */
export function stack(...ms: Matrix[]): Matrix {
  const d = ms[0]!.d;
  const n = ms.reduce((s, m) => s + m.n, 0);
  const data = new Float32Array(n * d);
  let o = 0;
  for (const m of ms) {
    data.set(m.data, o);
    o += m.data.length;
  }
  return { data, n, d };
}

/** A random orthonormal d x D frame (Gram-Schmidt on Gaussian rows). */
export function randomFrame(rng: Rng, d: number, D: number): Float64Array {
  const f = new Float64Array(d * D);
  for (let a = 0; a < d; a++) {
    for (;;) {
      for (let c = 0; c < D; c++) f[a * D + c] = rng.normal();
      for (let b = 0; b < a; b++) {
        let dot = 0;
        for (let c = 0; c < D; c++) dot += f[a * D + c]! * f[b * D + c]!;
        for (let c = 0; c < D; c++) f[a * D + c]! -= dot * f[b * D + c]!;
      }
      let s = 0;
      for (let c = 0; c < D; c++) s += f[a * D + c]! ** 2;
      if (s > 1e-6) {
        for (let c = 0; c < D; c++) f[a * D + c]! /= Math.sqrt(s);
        break;
      }
    }
  }
  return f;
}

/** Points (given as n x d coordinates) embedded into D dimensions through an orthonormal frame. */
export function embed(rng: Rng, coords: Float64Array, n: number, d: number, D: number): Matrix {
  const f = randomFrame(rng, d, D);
  const data = new Float32Array(n * D);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < d; a++) {
      const v = coords[i * d + a]!;
      for (let c = 0; c < D; c++) data[i * D + c] = data[i * D + c]! + v * f[a * D + c]!;
    }
  return { data, n, d: D };
}

/** Uniform points in the unit cube [0,1]^d. */
export function uniformCube(rng: Rng, n: number, d: number): Float64Array {
  const c = new Float64Array(n * d);
  for (let i = 0; i < c.length; i++) c[i] = rng.next();
  return c;
}

/** Brute-force kNN in float64 (the oracle): indices sorted by (distance, index), self excluded. */
export function bruteKnn(x: Matrix, k: number, cosine = false): { idx: number[][]; dist: number[][] } {
  const norms = Array.from({ length: x.n }, (_, i) => {
    let s = 0;
    for (let c = 0; c < x.d; c++) s += x.data[i * x.d + c]! ** 2;
    return Math.sqrt(s);
  });
  const idx: number[][] = [], dist: number[][] = [];
  for (let i = 0; i < x.n; i++) {
    const all: [number, number][] = [];
    for (let j = 0; j < x.n; j++) {
      if (j === i) continue;
      let s = 0;
      if (cosine) {
        for (let c = 0; c < x.d; c++) s += x.data[i * x.d + c]! * x.data[j * x.d + c]!;
        all.push([j, 1 - s / (norms[i]! * norms[j]!)]);
      } else {
        for (let c = 0; c < x.d; c++) s += (x.data[i * x.d + c]! - x.data[j * x.d + c]!) ** 2;
        all.push([j, Math.sqrt(s)]);
      }
    }
    all.sort((a, b) => a[1] - b[1] || a[0] - b[0]);
    idx.push(all.slice(0, k).map((e) => e[0]));
    dist.push(all.slice(0, k).map((e) => e[1]));
  }
  return { idx, dist };
}
