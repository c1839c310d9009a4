/**
 * N-gram counting shared by CIDEr and BLEU. Every distinct n-gram gets an integer id from an
 * NgramIndex, so the scorers work on small arrays and dense scratch buffers instead of one hash map
 * of n-gram strings per caption.
 */
import { PairTable } from './pair-table.js';

const PY_WHITESPACE = /[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** Python's str.split() with no argument. */
export function pySplit(s: string): string[] {
  return s.split(PY_WHITESPACE).filter((t) => t.length > 0);
}

/** The n-grams of one order in a caption: distinct ids in first-occurrence order and their counts. */
export interface OrderCounts { ids: number[]; counts: number[] }

/** A caption's n-gram counts: one entry per order (index 0 = unigrams), plus its word count. */
export interface CookedCaption { words: number; orders: OrderCounts[] }

/**
 * Interns n-grams to dense integer ids. Words get ids through one string map; a k-gram (k >= 2) is
 * keyed by the pair (id of its first k-1 words, id of its last word) in an int32 hash table
 * (pair-table.ts), so only words are hashed as strings. Distinct n-grams must stay below 2^31.
 */
export class NgramIndex {
  private readonly words = new Map<string, number>();
  private readonly unigram: number[] = [];
  private readonly composite = new PairTable();
  private next = 0;
  private stamp: number[] = [];
  private pos: number[] = [];
  private clock = 0;

  /** Number of distinct n-grams seen so far (ids are 0 .. size-1). */
  get size(): number {
    return this.next;
  }

  private fresh(): number {
    this.stamp.push(-1);
    this.pos.push(0);
    return this.next++;
  }

  private wordId(w: string): number {
    let id = this.words.get(w);
    if (id === undefined) {
      id = this.words.size;
      if (id >= 2 ** 21) throw new RangeError('NgramIndex: more than 2^21 distinct words');
      this.words.set(w, id);
      this.unigram.push(this.fresh());
    }
    return id;
  }

  private extend(prefix: number, word: number): number {
    let id = this.composite.get(prefix, word);
    if (id === -1) {
      id = this.fresh();
      this.composite.set(prefix, word, id);
    }
    return id;
  }

  /**
   * N-gram counts of orders 1..n of a token list, in the order the reference code's precook inserts
   * them (orders ascending, positions left to right).
   */
  cook(words: string[], n: number): CookedCaption {
    const wids = words.map((w) => this.wordId(w));
    const prev = wids.map((w) => this.unigram[w]!);
    const orders: OrderCounts[] = [];
    for (let k = 1; k <= n; k++) {
      const tick = ++this.clock;
      const ids: number[] = [];
      const counts: number[] = [];
      for (let i = 0; i + k <= words.length; i++) {
        const id = k === 1 ? prev[i]! : this.extend(prev[i]!, wids[i + k - 1]!);
        prev[i] = id;
        if (this.stamp[id] === tick) {
          const p = this.pos[id]!;
          counts[p] = counts[p]! + 1;
        } else {
          this.stamp[id] = tick;
          this.pos[id] = ids.length;
          ids.push(id);
          counts.push(1);
        }
      }
      orders.push({ ids, counts });
    }
    return { words: words.length, orders };
  }
}
