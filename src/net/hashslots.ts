/**
 * The storage of an open-addressing hash table whose owner hashes and compares keys itself:
 * each slot holds a nonzero int32 hash (0 marks a free slot) and a value. Linear probing over a
 * power-of-two array, load at most 1/2, backward-shift deletion (no tombstones). The same value
 * may sit in several slots, under equal or different hashes (conntrack files every entry under
 * both of its tuples).
 *
 * Lookups are the owner's loop, so that the key test is inlined on the per-packet path and a
 * probe reads only the dense hash array until the hashes agree:
 *
 *   const { hashes, vals, mask } = slots;
 *   for (let i = h & mask; ; i = (i + 1) & mask) {
 *     const x = hashes[i]!;
 *     if (x === 0) return null;                    // a free slot ends the probe run
 *     if (x === h && keyOf(vals[i]!) equals key) return vals[i];
 *   }
 *
 * The tables keyed by packet tuples use it: conntrack (netfilter/conntrack.ts) and the socket
 * tables (traffic/tcp.ts ConnTable); it lives in net/ so that both layers may import it.
 * Read `hashes`, `vals` and `mask` again after an add: growing replaces them.
 */
export class HashSlots<T> {
  hashes: Int32Array;
  vals: (T | null)[];
  mask: number;
  /** Occupied slots. */
  size = 0;

  constructor(initialCapacity = 16) {
    const cap = Math.max(16, 2 ** Math.ceil(Math.log2(Math.max(1, initialCapacity))));
    this.hashes = new Int32Array(cap);
    this.vals = new Array<T | null>(cap).fill(null);
    this.mask = cap - 1;
  }

  /** Files `v` under hash `h` (nonzero: the caller's hash functions never return 0). */
  add(h: number, v: T): void {
    if ((this.size + 1) * 2 > this.hashes.length) this.grow();
    this.place(h, v);
    this.size++;
  }

  private place(h: number, v: T): void {
    const hashes = this.hashes, mask = this.mask;
    let i = h & mask;
    while (hashes[i] !== 0) i = (i + 1) & mask;
    hashes[i] = h;
    this.vals[i] = v;
  }

  private grow(): void {
    const oldH = this.hashes, oldV = this.vals;
    const cap = oldH.length * 2;
    this.hashes = new Int32Array(cap);
    this.vals = new Array<T | null>(cap).fill(null);
    this.mask = cap - 1;
    for (let i = 0; i < oldH.length; i++) if (oldH[i] !== 0) this.place(oldH[i]!, oldV[i]!);
  }

  /** Removes one slot holding `v` under hash `h`; false when there is none. */
  remove(h: number, v: T): boolean {
    const hashes = this.hashes, vals = this.vals, mask = this.mask;
    let i = h & mask;
    for (;;) {
      const x = hashes[i]!;
      if (x === 0) return false;
      if (x === h && vals[i] === v) break;
      i = (i + 1) & mask;
    }
    // Backward-shift deletion: pull later members of the probe run into the hole.
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const hj = hashes[j]!;
      if (hj === 0) break;
      const home = hj & mask;
      // Leave the slot where it is when its home lies cyclically in (i, j].
      if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
      hashes[i] = hj;
      vals[i] = vals[j]!;
      i = j;
    }
    hashes[i] = 0;
    vals[i] = null;
    this.size--;
    return true;
  }

  /** The values in slot order (a value filed under several hashes appears as often). */
  values(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.hashes.length; i++) if (this.hashes[i] !== 0) out.push(this.vals[i]!);
    return out;
  }
}
