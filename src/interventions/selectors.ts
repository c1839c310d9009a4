/**
 * Position selectors (DESIGN.md section 4): named positions (@eoi, @all-image, ...), seeded random
 * image positions, absolute indices and Python-style ranges, resolved against one example's spans.
 * The same resolution serves extraction, knockout, patching and steering.
 *
 * Positions >= spans.length are generated tokens: they count as text after the image. Image
 * positions that are layout markers (spans.imageMarkers) are not patches: the image selectors skip them.
 */
import type { Spans } from '../model/spans.js';
import { positionKind } from '../model/spans.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/rng.js';

export const NAMED_SELECTORS = [
  '@bos',
  '@boi',
  '@eoi',
  '@first-image',
  '@last-image',
  '@all-image',
  '@all-text',
  '@text-after-image',
  '@all',
] as const;
export type NamedSelector = (typeof NAMED_SELECTORS)[number];

export type Selector =
  | { kind: 'named'; name: NamedSelector }
  | { kind: 'random-image'; n: number }
  | { kind: 'index'; index: number }
  | { kind: 'range'; start: number | null; end: number | null };

export interface ResolveOptions {
  /** Tokens generated after the prompt so far (positions spans.length .. spans.length + generatedLength - 1). */
  generatedLength?: number;
  /** Seed for @random-image:N; combined with exampleId so each example draws its own, reproducibly. */
  seed?: number;
  exampleId?: number;
}

const VALID = `${NAMED_SELECTORS.join(' ')} @random-image:N, an index like 5 or -1, or a range like 3:7, 3: or -4:`;
const INT = /^-?\d+$/;

/** Parses one selector string; a UserError lists the valid forms. */
export function parseSelector(text: string): Selector {
  const s = text.trim();
  if ((NAMED_SELECTORS as readonly string[]).includes(s)) return { kind: 'named', name: s as NamedSelector };
  const rnd = /^@random-image:(\d+)$/.exec(s);
  if (rnd) {
    const n = Number(rnd[1]);
    if (n < 1) throw new UserError(`Position selector "${text}" asks for ${n} random image positions; expected N >= 1.`);
    return { kind: 'random-image', n };
  }
  if (INT.test(s)) return { kind: 'index', index: Number(s) };
  const range = /^(-?\d+)?:(-?\d+)?$/.exec(s);
  if (range) {
    return {
      kind: 'range',
      start: range[1] === undefined ? null : Number(range[1]),
      end: range[2] === undefined ? null : Number(range[2]),
    };
  }
  throw new UserError(`Unknown position selector "${text}"; expected one of ${VALID}.`);
}

/** Parses a comma-separated list ("@eoi,@last-image,3:5"); empty entries are errors. */
export function parseSelectorList(text: string): Selector[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) {
    throw new UserError(`Position list "${text}" has an empty entry; expected comma-separated selectors (${VALID}).`);
  }
  return parts.map(parseSelector);
}

/** The canonical text of a selector (parseSelector(formatSelector(s)) equals s). */
export function formatSelector(sel: Selector): string {
  switch (sel.kind) {
    case 'named':
      return sel.name;
    case 'random-image':
      return `@random-image:${sel.n}`;
    case 'index':
      return String(sel.index);
    case 'range':
      return `${sel.start ?? ''}:${sel.end ?? ''}`;
  }
}

/** Image patch positions (image span minus layout markers), ascending. */
export function imagePositions(spans: Spans): number[] {
  if (!spans.image) return [];
  const markers = new Set(spans.imageMarkers ?? []);
  const out: number[] = [];
  for (let p = spans.image[0]; p < spans.image[1]; p++) if (!markers.has(p)) out.push(p);
  return out;
}

/** A 32-bit seed from (seed, exampleId), so that every example draws its own reproducible sample. */
export function exampleSeed(seed: number, exampleId: number): number {
  let h = Math.imul((seed | 0) ^ 0x5bd1e995, 0x9e3779b1);
  h = Math.imul(h ^ (exampleId | 0) ^ (h >>> 15), 0x85ebca6b);
  return (h ^ (h >>> 13)) | 0;
}

/**
 * Resolves a selector (or its text) to absolute positions, ascending and unique. Named selectors
 * whose part is absent (e.g. @eoi in a text-only example) give []. An index outside the sequence is
 * a UserError; ranges are clipped to the sequence like Python slices.
 */
export function resolve(selector: string | Selector, spans: Spans, opts: ResolveOptions = {}): number[] {
  const sel = typeof selector === 'string' ? parseSelector(selector) : selector;
  const generated = opts.generatedLength ?? 0;
  if (!Number.isInteger(generated) || generated < 0) {
    throw new UserError(`generatedLength ${generated} is invalid; expected a non-negative integer.`);
  }
  const total = spans.length + generated;
  switch (sel.kind) {
    case 'index': {
      const p = sel.index < 0 ? total + sel.index : sel.index;
      if (p < 0 || p >= total) {
        throw new UserError(`Position ${sel.index} is outside the sequence of ${total} positions; expected -${total}..${total - 1}.`);
      }
      return [p];
    }
    case 'range': {
      const norm = (v: number | null, dflt: number): number =>
        v === null ? dflt : Math.min(total, Math.max(0, v < 0 ? total + v : v));
      const a = norm(sel.start, 0);
      const b = norm(sel.end, total);
      return range(a, Math.max(a, b));
    }
    case 'random-image': {
      const img = imagePositions(spans);
      if (img.length === 0) return [];
      if (sel.n > img.length) {
        throw new UserError(
          `@random-image:${sel.n} asks for more positions than the ${img.length} image positions of this example; expected N <= ${img.length}.`,
        );
      }
      const rng = new Rng(exampleSeed(opts.seed ?? 0, opts.exampleId ?? 0));
      return rng
        .sample(img.length, sel.n)
        .map((i) => img[i] as number)
        .sort((x, y) => x - y);
    }
    case 'named':
      return resolveNamed(sel.name, spans, total);
  }
}

function resolveNamed(name: NamedSelector, spans: Spans, total: number): number[] {
  const one = (p: number | null): number[] => (p === null ? [] : [p]);
  switch (name) {
    case '@bos':
      return one(spans.bos);
    case '@boi':
      return one(spans.boi);
    case '@eoi':
      return one(spans.eoi);
    case '@first-image':
      return imagePositions(spans).slice(0, 1);
    case '@last-image':
      return imagePositions(spans).slice(-1);
    case '@all-image':
      return imagePositions(spans);
    case '@all':
      return range(0, total);
    case '@all-text':
      return range(0, total).filter((p) => p >= spans.length || positionKind(spans, p) === 'text');
    case '@text-after-image': {
      if (!spans.image) return [];
      const start = Math.max(spans.image[1], (spans.eoi ?? -1) + 1);
      return range(start, total).filter((p) => p >= spans.length || positionKind(spans, p) === 'text');
    }
  }
}

/** Union of several selectors, ascending and unique. */
export function resolveAll(selectors: readonly (string | Selector)[], spans: Spans, opts: ResolveOptions = {}): number[] {
  const set = new Set<number>();
  for (const s of selectors) for (const p of resolve(s, spans, opts)) set.add(p);
  return [...set].sort((a, b) => a - b);
}

function range(a: number, b: number): number[] {
  return Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);
}
