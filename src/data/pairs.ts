/**
 * Contrast pairs for class-pair patching and steering (EXPERIMENTS.md E7/E8): two single-object shapes
 * images that differ in exactly one attribute (e.g. a red circle and a red square of the same size at
 * the same position), so a patch from target into base can flip just that attribute.
 */
import { Rng } from '../util/rng.js';
import { UserError } from '../util/errors.js';
import type { Dataset } from './open.js';
import type { Scene, SceneObject } from './shapes-scene.js';

export const PAIR_ATTRIBUTES = ['shape', 'color', 'size', 'position'] as const;
export type PairAttribute = (typeof PAIR_ATTRIBUTES)[number];

export interface ContrastPair {
  /** Row indices in the dataset. */
  base: number;
  target: number;
  attribute: PairAttribute;
  /** The attribute's value in base and in target (e.g. "circle", "square"). */
  baseValue: string;
  targetValue: string;
}

export interface PairOptions {
  attribute: PairAttribute;
  /** At most this many pairs (default: all distinct (base, target) choices, one target per base). */
  n?: number;
  seed?: number;
  split?: string;
  /** Keep only pairs whose values are exactly these (e.g. ["circle", "square"]), in either order. */
  values?: [string, string];
}

function sceneObject(scene: unknown): SceneObject | null {
  const objs = (scene as Scene | undefined)?.objects;
  return Array.isArray(objs) && objs.length === 1 ? (objs[0] as SceneObject) : null;
}

/**
 * One pair per base image (in seeded order): the target is a random image whose single object agrees
 * with the base's on every attribute but `attribute`. Images with more than one object are ignored.
 */
export function contrastPairs(ds: Dataset, o: PairOptions): ContrastPair[] {
  if (!(PAIR_ATTRIBUTES as readonly string[]).includes(o.attribute)) {
    throw new UserError(`Pair attribute "${o.attribute}" is unknown; expected one of ${PAIR_ATTRIBUTES.join(', ')}.`);
  }
  const others = PAIR_ATTRIBUTES.filter((a) => a !== o.attribute);
  const groups = new Map<string, number[]>();
  const objs: (SceneObject | null)[] = [];
  for (const im of ds.images(o.split)) {
    const obj = sceneObject(im.scene);
    objs[im.index] = obj;
    if (!obj) continue;
    const key = others.map((a) => obj[a]).join('|');
    groups.set(key, [...(groups.get(key) ?? []), im.index]);
  }
  if (groups.size === 0) throw new UserError(`Dataset ${ds.dir} has no single-object scenes${o.split ? ` in split ${o.split}` : ''}; build one with "narrowgate data shapes --single".`);
  const rng = new Rng(o.seed ?? 0);
  const pairs: ContrastPair[] = [];
  const bases = rng.shuffle([...groups.values()].flat());
  for (const base of bases) {
    if (o.n !== undefined && pairs.length >= o.n) break;
    const b = objs[base] as SceneObject;
    const key = others.map((a) => b[a]).join('|');
    const cands = (groups.get(key) ?? []).filter((t) => {
      const tv = (objs[t] as SceneObject)[o.attribute];
      if (tv === b[o.attribute]) return false;
      return !o.values || (o.values.includes(b[o.attribute]) && o.values.includes(tv));
    });
    if (cands.length === 0) continue;
    const target = rng.pick(cands);
    pairs.push({ base, target, attribute: o.attribute, baseValue: b[o.attribute], targetValue: (objs[target] as SceneObject)[o.attribute] });
  }
  return pairs;
}
