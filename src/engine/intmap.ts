/**
 * A map from int32 keys (IPv4 addresses as signed words, ids) to values, for lookups on the
 * per-packet path: open addressing with linear probing over an Int32Array of keys beside an
 * array of values, power-of-two capacity at most half full, Fibonacci hashing of the key.
 *
 * Against a Map with small-integer keys it saves the generic hashing and bucket chains of V8's
 * OrderedHashMap (one typed-array read and one compare per probe in the common case). Values are
 * never `undefined` (an `undefined` value marks a free slot); deletion shifts later members of the
 * probe run back (no tombstones). Iteration order is not insertion order: none is offered.
 */
export class IntMap<V> {
  private keys: Int32Array;
  private vals: (V | undefined)[];
  private mask: number;
  private shift: number;
  private n = 0;

  constructor(initialCapacity = 16) {
    const cap = Math.max(8, 2 ** Math.ceil(Math.log2(Math.max(1, initialCapacity) * 2)));
    this.keys = new Int32Array(cap);
    this.vals = new Array<V | undefined>(cap).fill(undefined);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
  }

  get size(): number {
    return this.n;
  }

  /** The home slot of a key: the top bits of key · 2^32/φ. */
  private home(key: number): number {
    return Math.imul(key, 0x9e3779b1) >>> this.shift;
  }

  get(key: number): V | undefined {
    const keys = this.keys, vals = this.vals, mask = this.mask;
    key |= 0;
    for (let i = this.home(key); ; i = (i + 1) & mask) {
      const v = vals[i];
      if (v === undefined) return undefined;
      if (keys[i] === key) return v;
    }
  }

  has(key: number): boolean {
    return this.get(key) !== undefined;
  }

  set(key: number, value: V): void {
    if (value === undefined) throw new Error("IntMap: undefined is not a value");
    key |= 0;
    const mask = this.mask;
    let i = this.home(key);
    for (; this.vals[i] !== undefined; i = (i + 1) & mask) {
      if (this.keys[i] === key) {
        this.vals[i] = value;
        return;
      }
    }
    if ((this.n + 1) * 2 > this.keys.length) {
      this.resize(this.keys.length * 2);
      this.set(key, value);
      return;
    }
    this.keys[i] = key;
    this.vals[i] = value;
    this.n++;
  }

  /** Removes a key; false when it was not there. */
  delete(key: number): boolean {
    key |= 0;
    const keys = this.keys, vals = this.vals, mask = this.mask;
    let i = this.home(key);
    for (;; i = (i + 1) & mask) {
      if (vals[i] === undefined) return false;
      if (keys[i] === key) break;
    }
    // Backward-shift deletion: pull later members of the probe run into the hole.
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (vals[j] === undefined) break;
      const h = this.home(keys[j]!);
      // Leave the entry where it is when its home lies cyclically in (i, j].
      if (i <= j ? i < h && h <= j : i < h || h <= j) continue;
      keys[i] = keys[j]!;
      vals[i] = vals[j];
      i = j;
    }
    vals[i] = undefined;
    this.n--;
    return true;
  }

  clear(): void {
    if (this.n === 0) return;
    this.vals.fill(undefined);
    this.n = 0;
  }

  private resize(cap: number): void {
    const keys = this.keys, vals = this.vals;
    this.keys = new Int32Array(cap);
    this.vals = new Array<V | undefined>(cap).fill(undefined);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
    this.n = 0;
    for (let i = 0; i < keys.length; i++) {
      const v = vals[i];
      if (v !== undefined) this.set(keys[i]!, v);
    }
  }
}
