/**
 * Where things sit in one example's sequence. The processor returns these next to the ids or
 * embeddings, and every later stage (extraction, knockout, patching, steering) resolves named
 * positions (@eoi, @all-image, ...) against them. Positions are absolute indices in the sequence.
 *
 * Layout for image understanding: <bos> <boi> img_1 ... img_N <eoi> text... ; generated tokens come
 * after `length` and count as text after the image.
 */
export interface Spans {
  /** Number of prompt positions (generated tokens start here). */
  length: number;
  bos: number | null;
  boi: number | null;
  /** Image positions [start, end), end exclusive; null for a text-only sequence. */
  image: [number, number] | null;
  /** The end-of-image position ([EOI]); for models without an EOI token, the position chosen to play its role. */
  eoi: number | null;
  /** Image positions that are layout markers rather than patches (e.g. LLaVA-OneVision's image_newline rows). */
  imageMarkers?: number[];
}

/** The kind of a position, as stored in the activation store's position_kind column. */
export type PositionKind = 'bos' | 'boi' | 'image' | 'eoi' | 'text';

export function positionKind(spans: Spans, pos: number): PositionKind {
  if (pos === spans.bos) return 'bos';
  if (pos === spans.boi) return 'boi';
  if (pos === spans.eoi) return 'eoi';
  if (spans.image && pos >= spans.image[0] && pos < spans.image[1]) return 'image';
  return 'text';
}
