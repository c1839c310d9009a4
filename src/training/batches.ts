/**
 * Training batches from a data mixture. Each source (image->caption, image->question->answer,
 * caption->image, text only) is a pool of items walked in a seeded shuffled order, reshuffled each
 * epoch; each row of a batch draws its source by the mixture weights. The sampler's whole state is a
 * small JSON object (the Rng snapshot and, per source, the epoch's seed and cursor), saved with every
 * checkpoint so that a resumed run sees exactly the batches an uninterrupted run would.
 *
 * Sequences (the processor's layouts): caption = image then the caption (no prompt); vqa = image, the
 * question as prompt (no loss), the answer as target; text_to_image = caption then image (native);
 * text = a caption or "question answer" alone.
 */
import { Rng } from '../util/rng.js';
import { UserError } from '../util/errors.js';
import type { Dataset } from '../data/open.js';
import type { Processor, ProcessedExample } from '../tokenizers/processor.js';
import { collate, type Batch } from '../tokenizers/collate.js';

export const SOURCES = ['caption', 'vqa', 'text_to_image', 'text'] as const;
export type SourceKind = (typeof SOURCES)[number];

/** Captioning uses no prompt: the caption follows <eoi> directly (generation and eval must do the same). */
export const CAPTION_PROMPT = '';

export interface Item {
  kind: SourceKind;
  /** Dataset row index of the image, -1 for text-only items. */
  image: number;
  prompt?: string;
  target: string;
}

export type Pools = Record<SourceKind, Item[]>;
export type Weights = Record<SourceKind, number>;

/** The items of one split of a dataset, per source. */
export function buildPools(ds: Dataset, split: string): Pools {
  const pools: Pools = { caption: [], vqa: [], text_to_image: [], text: [] };
  for (const i of ds.indices(split)) {
    const id = ds.get(i).id;
    for (const c of ds.captions(id)) {
      pools.caption.push({ kind: 'caption', image: i, target: c });
      pools.text_to_image.push({ kind: 'text_to_image', image: i, target: c });
      pools.text.push({ kind: 'text', image: -1, target: c });
    }
    for (const q of ds.questions(id)) {
      pools.vqa.push({ kind: 'vqa', image: i, prompt: q.question, target: q.answer });
      pools.text.push({ kind: 'text', image: -1, target: `${q.question} ${q.answer}` });
    }
  }
  return pools;
}

/** Every text of a dataset (all splits): the corpus of the word tokenizer. */
export function* corpusOf(ds: Dataset): IterableIterator<string> {
  for (const im of ds.images()) {
    yield* ds.captions(im.id);
    for (const q of ds.questions(im.id)) yield `${q.question} ${q.answer}`;
  }
}

export interface SamplerState {
  rng: number;
  sources: Record<string, { seed: number; epoch: number; cursor: number }>;
}

export class MixtureSampler {
  private readonly active: SourceKind[];
  private readonly cumulative: number[];
  private rng: Rng;
  private readonly order = new Map<SourceKind, { seed: number; epoch: number; cursor: number; perm: number[] }>();

  constructor(readonly pools: Pools, weights: Weights, seed: number, what = 'data mixture') {
    this.active = SOURCES.filter((s) => weights[s] > 0);
    if (this.active.length === 0) throw new UserError(`The ${what} gives no source a positive weight; expected at least one of ${SOURCES.join(', ')}.`);
    for (const s of this.active) {
      if (pools[s].length === 0) throw new UserError(`The ${what} asks for "${s}" sequences but the data has none; set data.mixture.${s} to 0 or use data that has them.`);
    }
    const total = this.active.reduce((a, s) => a + weights[s], 0);
    let acc = 0;
    this.cumulative = this.active.map((s) => (acc += weights[s] / total));
    this.rng = new Rng(seed);
    for (const s of this.active) this.startEpoch(s, 0);
  }

  private startEpoch(s: SourceKind, epoch: number, seed = this.rng.int(0x7fffffff)): void {
    const perm = new Rng(seed).shuffle(Array.from({ length: this.pools[s].length }, (_, i) => i));
    this.order.set(s, { seed, epoch, cursor: 0, perm });
  }

  next(): Item {
    const u = this.rng.next();
    let k = this.cumulative.findIndex((c) => u < c);
    if (k < 0) k = this.active.length - 1;
    const s = this.active[k] as SourceKind;
    let o = this.order.get(s)!;
    if (o.cursor >= o.perm.length) {
      this.startEpoch(s, o.epoch + 1);
      o = this.order.get(s)!;
    }
    return this.pools[s][o.perm[o.cursor++] as number] as Item;
  }

  take(n: number): Item[] {
    return Array.from({ length: n }, () => this.next());
  }

  state(): SamplerState {
    const sources: SamplerState['sources'] = {};
    for (const [s, o] of this.order) sources[s] = { seed: o.seed, epoch: o.epoch, cursor: o.cursor };
    return { rng: this.rng.snapshot, sources };
  }

  restore(state: SamplerState): void {
    for (const s of this.active) {
      const o = state.sources[s];
      if (!o) throw new UserError(`The saved data order has no "${s}" source; was data.mixture changed since the checkpoint?`);
      this.startEpoch(s, o.epoch, o.seed);
      this.order.get(s)!.cursor = o.cursor;
    }
    this.rng = Rng.fromSnapshot(state.rng);
  }
}

export interface LossFlags {
  text: boolean;
  image: boolean;
}

/** A collated batch plus, per row, the dataset image it shows (-1 = none) and its source. */
export interface TrainBatch {
  batch: Batch;
  images: Int32Array;
  kinds: SourceKind[];
}

/**
 * Turns items into a padded batch. `codesOf(image)` gives a native model's image codes (adapter:
 * pass null; its pixels travel by `images`). Sequences longer than maxSeq are an error.
 */
export function makeBatch(
  items: readonly Item[],
  processor: Processor,
  loss: LossFlags,
  maxSeq: number,
  codesOf: ((image: number) => ArrayLike<number>) | null,
): TrainBatch {
  const examples: ProcessedExample[] = items.map((it) => {
    const codes = it.image >= 0 && codesOf ? codesOf(it.image) : null;
    const hasImage = it.image >= 0;
    switch (it.kind) {
      case 'caption':
        return processor.understanding({ codes, image: hasImage, prompt: CAPTION_PROMPT || undefined, target: it.target }, { loss: { text: loss.text, image: loss.image } });
      case 'vqa':
        return processor.understanding({ codes, image: hasImage, prompt: it.prompt, target: it.target }, { loss: { text: loss.text, image: loss.image } });
      case 'text_to_image':
        return processor.generation({ text: it.target, codes }, { loss: { prompt: loss.text, image: loss.image } });
      case 'text':
        return processor.textOnly(it.target);
    }
  });
  const longest = Math.max(...examples.map((e) => e.ids.length));
  if (longest > maxSeq) throw new UserError(`A training sequence has ${longest} tokens, more than model.max_seq = ${maxSeq}; raise model.max_seq.`);
  return {
    batch: collate(examples),
    images: Int32Array.from(items, (it) => it.image),
    kinds: items.map((it) => it.kind),
  };
}
