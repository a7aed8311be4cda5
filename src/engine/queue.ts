/**
 * The pending-event set of the discrete-event kernel: a binary min-heap ordered by
 * (time, seq), where seq is the scheduling order, so events at equal times pop first-in
 * first-out (the SimPy rule). O(log n) push and pop, no allocation per event.
 *
 * Storage is struct-of-arrays over "slots": each pending event owns a slot holding its time,
 * seq, kind and two argument words (a number and an object reference). The heap itself is an
 * Int32Array of slot indices, so sifting moves one integer per level. All arrays grow by doubling.
 *
 * Event ids encode (slot, generation): a freed slot bumps its generation, so cancelling an id
 * whose event already ran (or was already cancelled) is a harmless no-op. Cancellation is lazy:
 * the slot is flagged and skipped when it reaches the top of the heap.
 */

/** Opaque handle returned by push(); pass it to cancel(). Never 0 (so 0 can mean "no timer"). */
export type EventId = number;

const SLOT_BITS = 26; // up to 67M simultaneously pending events
const SLOT_LIMIT = 2 ** SLOT_BITS;
const GEN_LIMIT = 2 ** 27; // SLOT_LIMIT * GEN_LIMIT = 2^53
const FREE = 0;
const LIVE = 1;
const CANCELLED = 2;

export class EventQueue {
  private cap: number;
  private heap: Int32Array;
  /** Keys stored in heap order, beside `heap`, so comparisons touch contiguous memory. */
  private hTime: Float64Array;
  private hSeq: Float64Array;
  private n = 0; // heap entries, cancelled included
  private live = 0; // heap entries not cancelled
  private times: Float64Array;
  private seqs: Float64Array;
  private kinds: Int32Array;
  private nums: Float64Array;
  private objs: unknown[];
  private gens: Uint32Array;
  private states: Uint8Array;
  private free: Int32Array;
  private freeTop = 0;
  private nextSeq = 0;

  /** Fields of the event most recently returned by pop() (valid until the next pop). */
  time = 0;
  kind = 0;
  num = 0;
  obj: unknown = undefined;
  id: EventId = 0;

  constructor(initialCapacity = 1024) {
    const cap = Math.max(16, 2 ** Math.ceil(Math.log2(Math.max(1, initialCapacity))));
    this.cap = cap;
    this.heap = new Int32Array(cap);
    this.hTime = new Float64Array(cap);
    this.hSeq = new Float64Array(cap);
    this.times = new Float64Array(cap);
    this.seqs = new Float64Array(cap);
    this.kinds = new Int32Array(cap);
    this.nums = new Float64Array(cap);
    this.objs = new Array<unknown>(cap).fill(undefined);
    this.gens = new Uint32Array(cap).fill(1);
    this.states = new Uint8Array(cap);
    this.free = new Int32Array(cap);
    for (let i = 0; i < cap; i++) this.free[i] = cap - 1 - i; // pop order 0, 1, 2, …
    this.freeTop = cap;
  }

  /** Pending (not cancelled) events. */
  get size(): number {
    return this.live;
  }

  /** Events scheduled so far (the next seq). */
  get scheduled(): number {
    return this.nextSeq;
  }

  private grow(): void {
    const old = this.cap;
    const cap = old * 2;
    if (cap > SLOT_LIMIT) throw new Error(`event queue: more than ${SLOT_LIMIT} pending events`);
    const g = <T extends Float64Array | Int32Array | Uint32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.heap = g(this.heap, (k) => new Int32Array(k));
    this.hTime = g(this.hTime, (k) => new Float64Array(k));
    this.hSeq = g(this.hSeq, (k) => new Float64Array(k));
    this.times = g(this.times, (k) => new Float64Array(k));
    this.seqs = g(this.seqs, (k) => new Float64Array(k));
    this.kinds = g(this.kinds, (k) => new Int32Array(k));
    this.nums = g(this.nums, (k) => new Float64Array(k));
    this.gens = g(this.gens, (k) => new Uint32Array(k));
    this.gens.fill(1, old);
    this.states = g(this.states, (k) => new Uint8Array(k));
    for (let i = old; i < cap; i++) this.objs.push(undefined);
    const free = new Int32Array(cap);
    free.set(this.free.subarray(0, this.freeTop));
    this.free = free;
    for (let i = cap - 1; i >= old; i--) this.free[this.freeTop++] = i;
    this.cap = cap;
  }

  /** Schedules an event; time must be a number (the Simulation checks integrality and order). */
  push(time: number, kind: number, num = 0, obj: unknown = undefined): EventId {
    if (this.freeTop === 0) this.grow();
    const slot = this.free[--this.freeTop]!;
    this.times[slot] = time;
    this.seqs[slot] = this.nextSeq++;
    this.kinds[slot] = kind;
    this.nums[slot] = num;
    this.objs[slot] = obj;
    this.states[slot] = LIVE;
    this.live++;
    this.siftUp(this.n++, slot, time, this.seqs[slot]!);
    return this.gens[slot]! * SLOT_LIMIT + slot;
  }

  /** Cancels a pending event; false when it already ran, was cancelled, or never existed. */
  cancel(id: EventId): boolean {
    if (!(id > 0)) return false;
    const slot = id % SLOT_LIMIT;
    const gen = Math.floor(id / SLOT_LIMIT);
    if (slot >= this.cap || this.gens[slot] !== gen || this.states[slot] !== LIVE) return false;
    this.states[slot] = CANCELLED;
    this.objs[slot] = undefined; // release the reference early
    this.live--;
    // Lazy deletion keeps cancelled entries in the heap; rebuild when they dominate, so
    // repeatedly re-armed long timers (e.g. 5-day TCP timeouts) cannot bloat it.
    if (this.n - this.live > this.live + 4096) this.compact();
    return true;
  }

  /** Rebuilds the heap without cancelled entries (Floyd heapify, O(n)). */
  private compact(): void {
    const heap = this.heap;
    let w = 0;
    for (let r = 0; r < this.n; r++) {
      const slot = heap[r]!;
      if (this.states[slot] === CANCELLED) this.releaseSlot(slot);
      else {
        // hTime/hSeq mirror heap positions: they move with the slot.
        heap[w] = slot;
        this.hTime[w] = this.times[slot]!;
        this.hSeq[w] = this.seqs[slot]!;
        w++;
      }
    }
    this.n = w;
    for (let i = (w >> 1) - 1; i >= 0; i--) this.siftDown(i, heap[i]!, this.times[heap[i]!]!, this.seqs[heap[i]!]!);
  }

  /** Whether an id refers to an event that is still pending. */
  isPending(id: EventId): boolean {
    if (!(id > 0)) return false;
    const slot = id % SLOT_LIMIT;
    return slot < this.cap && this.gens[slot] === Math.floor(id / SLOT_LIMIT) && this.states[slot] === LIVE;
  }

  /** Time of the next pending event, or Infinity when none. */
  peekTime(): number {
    this.dropCancelledTop();
    return this.n > 0 ? this.hTime[0]! : Infinity;
  }

  /**
   * Removes the earliest event and exposes it through time/kind/num/obj/id.
   * Returns false (and leaves the fields alone) when the queue is empty.
   */
  pop(): boolean {
    this.dropCancelledTop();
    if (this.n === 0) return false;
    const slot = this.heap[0]!;
    this.time = this.times[slot]!;
    this.kind = this.kinds[slot]!;
    this.num = this.nums[slot]!;
    this.obj = this.objs[slot];
    this.id = this.gens[slot]! * SLOT_LIMIT + slot;
    this.live--;
    this.removeTop();
    return true;
  }

  /** Drops every pending event. */
  clear(): void {
    while (this.n > 0) this.removeTop();
    this.live = 0;
  }

  private dropCancelledTop(): void {
    while (this.n > 0 && this.states[this.heap[0]!] === CANCELLED) this.removeTop();
  }

  private releaseSlot(slot: number): void {
    this.states[slot] = FREE;
    this.objs[slot] = undefined;
    const g = this.gens[slot]! + 1;
    this.gens[slot] = g >= GEN_LIMIT ? 1 : g;
    this.free[this.freeTop++] = slot;
  }

  private removeTop(): void {
    const heap = this.heap;
    const top = heap[0]!;
    const li = --this.n;
    if (li > 0) this.siftDown(0, heap[li]!, this.hTime[li]!, this.hSeq[li]!);
    this.releaseSlot(top);
  }

  private siftUp(pos: number, slot: number, t: number, q: number): void {
    const heap = this.heap;
    const hTime = this.hTime;
    const hSeq = this.hSeq;
    while (pos > 0) {
      const parentPos = (pos - 1) >> 1;
      const pt = hTime[parentPos]!;
      if (pt < t || (pt === t && hSeq[parentPos]! < q)) break;
      heap[pos] = heap[parentPos]!;
      hTime[pos] = pt;
      hSeq[pos] = hSeq[parentPos]!;
      pos = parentPos;
    }
    heap[pos] = slot;
    hTime[pos] = t;
    hSeq[pos] = q;
  }

  private siftDown(pos: number, slot: number, t: number, q: number): void {
    const heap = this.heap;
    const hTime = this.hTime;
    const hSeq = this.hSeq;
    const n = this.n;
    for (;;) {
      let child = 2 * pos + 1;
      if (child >= n) break;
      let ct = hTime[child]!;
      const right = child + 1;
      if (right < n) {
        const rt = hTime[right]!;
        if (rt < ct || (rt === ct && hSeq[right]! < hSeq[child]!)) {
          child = right;
          ct = rt;
        }
      }
      if (t < ct || (t === ct && q < hSeq[child]!)) break;
      heap[pos] = heap[child]!;
      hTime[pos] = ct;
      hSeq[pos] = hSeq[child]!;
      pos = child;
    }
    heap[pos] = slot;
    hTime[pos] = t;
    hSeq[pos] = q;
  }
}
