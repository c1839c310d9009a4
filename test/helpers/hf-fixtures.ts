/**
 * Reads the Hugging Face parity fixtures (test/fixtures/hf/<family>/): reference.safetensors (F32 and
 * I64 tensors named `<case>.<key>`) and reference.json. The stored values come from transformers, so
 * tests compare against them, never against our own captured output.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensors, type NamedArray } from '../../src/model/safetensors.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Works from the sources (test/helpers) and from the build (dist/test/helpers). */
export const HF_FIXTURES = here.includes(`${join('dist', 'test')}`)
  ? join(here, '..', '..', '..', 'test', 'fixtures', 'hf')
  : join(here, '..', 'fixtures', 'hf');

export type Family = 'chameleon' | 'llava_onevision';

export function fixtureDir(family: Family): string {
  return join(HF_FIXTURES, family);
}

export interface Reference {
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  tensors: Map<string, NamedArray>;
  get(caseName: string, key: string): NamedArray;
}

const cache = new Map<Family, Promise<Reference>>();

export function loadReference(family: Family): Promise<Reference> {
  let p = cache.get(family);
  if (!p) {
    p = (async () => {
      const dir = fixtureDir(family);
      const json = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8'));
      const { tensors } = await readSafetensors(join(dir, 'reference.safetensors'));
      return {
        json,
        tensors,
        get(c: string, key: string): NamedArray {
          const t = tensors.get(`${c}.${key}`);
          if (!t) throw new Error(`reference has no tensor ${c}.${key}`);
          return t;
        },
      };
    })();
    cache.set(family, p);
  }
  return p;
}

/** Largest absolute difference between two equally long arrays (throws on a length mismatch). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Mean absolute difference. */
export function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs((a[i] as number) - (b[i] as number));
  return s / Math.max(1, a.length);
}
