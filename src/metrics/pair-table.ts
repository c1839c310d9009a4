/**
 * An open-addressing hash table from pairs of non-negative int32 (a, b) to int32 values, in typed
 * arrays. NgramIndex keys a k-gram by (id of its first k-1 words, id of its last word); a JS Map keyed
 * by a * 2^21 + b holds those keys as heap numbers (above the small-integer range), which made n-gram
 * counting allocation- and GC-bound.
 */
export class PairTable {
  private keysA: Int32Array;
  private keysB: Int32Array;
  private values: Int32Array;
  private mask: number;
  private count = 0;

  constructor(capacity = 1 << 12) {
    let cap = 16;
    while (cap < capacity) cap <<= 1;
    this.keysA = new Int32Array(cap).fill(-1);
    this.keysB = new Int32Array(cap);
    this.values = new Int32Array(cap);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  private slot(a: number, b: number): number {
    let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77);
    h ^= h >>> 15;
    let i = h & this.mask;
    while (this.keysA[i] !== -1 && (this.keysA[i] !== a || this.keysB[i] !== b)) i = (i + 1) & this.mask;
    return i;
  }

  /** The value of (a, b), or -1 when absent. */
  get(a: number, b: number): number {
    const i = this.slot(a, b);
    return this.keysA[i] === -1 ? -1 : (this.values[i] as number);
  }

  /** Sets (a, b) -> value (value >= 0). */
  set(a: number, b: number, value: number): void {
    if ((this.count + 1) * 2 > this.keysA.length) this.grow();
    const i = this.slot(a, b);
    if (this.keysA[i] === -1) {
      this.keysA[i] = a;
      this.keysB[i] = b;
      this.count++;
    }
    this.values[i] = value;
  }

  private grow(): void {
    const { keysA, keysB, values } = this;
    const cap = keysA.length * 2;
    this.keysA = new Int32Array(cap).fill(-1);
    this.keysB = new Int32Array(cap);
    this.values = new Int32Array(cap);
    this.mask = cap - 1;
    for (let j = 0; j < keysA.length; j++) {
      const a = keysA[j] as number;
      if (a === -1) continue;
      const i = this.slot(a, keysB[j] as number);
      this.keysA[i] = a;
      this.keysB[i] = keysB[j] as number;
      this.values[i] = values[j] as number;
    }
  }
}
