/**
 * Batch collation: pads processed examples to one length. Right padding is the default (positions
 * and spans stay as they are; the attention mask marks the real tokens). Left padding shifts every
 * span by the example's pad count (useful for batched generation, where all prompts end together).
 * Pad positions hold <pad>, have attention mask 0 and loss mask 0.
 */
import type { Spans } from '../model/spans.js';
import { UserError } from '../util/errors.js';
import type { ProcessedExample } from './processor.js';
import { SPECIAL_IDS } from './word.js';

export type PadSide = 'right' | 'left';

export interface Batch {
  batchSize: number;
  seqLen: number;
  /** [batchSize * seqLen], row-major. */
  ids: Int32Array;
  /** 1 for real tokens, 0 for padding. */
  attentionMask: Uint8Array;
  /** 1 where the token is a prediction target (compare logits at t-1 with ids[t]). */
  lossMask: Uint8Array;
  /** Real length of each example. */
  lengths: Int32Array;
  /** Spans of each example, in batch positions (shifted by the padding when padSide is 'left'). */
  spans: Spans[];
  padSide: PadSide;
}

export interface CollateOptions {
  padSide?: PadSide;
  /** Pad to at least this length (e.g. a fixed context size); longer examples are an error unless `truncate`. */
  padTo?: number;
  /** Cut examples longer than padTo (right side); spans reaching past the cut are an error. */
  truncate?: boolean;
  padId?: number;
}

function shift(s: Spans, by: number, length: number): Spans {
  const at = (p: number | null): number | null => (p === null ? null : p + by);
  const out: Spans = {
    length,
    bos: at(s.bos), boi: at(s.boi), eoi: at(s.eoi),
    image: s.image ? [s.image[0] + by, s.image[1] + by] : null,
  };
  if (s.imageMarkers) out.imageMarkers = s.imageMarkers.map((p) => p + by);
  return out;
}

export function collate(examples: readonly ProcessedExample[], opts: CollateOptions = {}): Batch {
  if (examples.length === 0) throw new UserError('Cannot collate an empty batch; expected at least one example.');
  const side = opts.padSide ?? 'right';
  const padId = opts.padId ?? SPECIAL_IDS.pad;
  const longest = Math.max(...examples.map((e) => e.ids.length));
  let T = Math.max(longest, opts.padTo ?? 0);
  if (opts.padTo !== undefined && longest > opts.padTo) {
    if (!opts.truncate) throw new UserError(`An example has ${longest} tokens, more than padTo ${opts.padTo}; raise padTo or set truncate.`);
    T = opts.padTo;
  }
  const B = examples.length;
  const ids = new Int32Array(B * T).fill(padId);
  const attentionMask = new Uint8Array(B * T);
  const lossMask = new Uint8Array(B * T);
  const lengths = new Int32Array(B);
  const spans: Spans[] = [];
  examples.forEach((e, b) => {
    const n = Math.min(e.ids.length, T);
    if (n < e.ids.length) {
      const reach = Math.max(e.spans.eoi ?? 0, e.spans.image?.[1] ?? 0, e.spans.boi ?? 0);
      if (reach >= n) throw new UserError(`Truncating example ${b} to ${n} tokens would cut into its image span; raise padTo.`);
    }
    const off = side === 'left' ? T - n : 0;
    ids.set(e.ids.subarray(0, n), b * T + off);
    lossMask.set(e.lossMask.subarray(0, n), b * T + off);
    attentionMask.fill(1, b * T + off, b * T + off + n);
    lengths[b] = n;
    spans.push(shift(e.spans, off, off + Math.min(e.spans.length, n)));
  });
  return { batchSize: B, seqLen: T, ids, attentionMask, lossMask, lengths, spans, padSide: side };
}
