/**
 * The pending-event set of the discrete-event kernel: a binary min-heap ordered by
 * (time, seq), where seq is the scheduling order, so events at equal times pop first-in
 * first-out (the SimPy rule). O(log n) push and pop, no allocation per event.
 *
 * Storage is struct-of-arrays over "slots": each pending event owns a slot holding its kind and
 * two argument words (a number and an object reference); its time and seq live in the heap,
 * an Int32Array of slot indices with the keys beside it, so sifting moves one integer and two
 * keys per level. All arrays grow by doubling.
 *
 * Event ids encode (slot, generation): a freed slot bumps its generation, so cancelling an id
 * whose event already ran (or was already cancelled) is a harmless no-op. Cancellation is lazy:
 * the slot is flagged and skipped when it reaches the top of the heap.
 *
 * Two heaps share the slots: events due within FAR_NS of the last popped time go to the near
 * heap, later ones (timers: SYN retransmission, TIME_WAIT, conntrack sweeps — mostly cancelled or
 * outliving the run) to the far heap. pop() takes the smaller (time, seq) of the two tops, so the
 * order is exactly that of one heap; the near heap stays small and its sifts shallow.
 */

/** Opaque handle returned by push(); pass it to cancel(). Never 0 (so 0 can mean "no timer"). */
export type EventId = number;

const SLOT_BITS = 26; // up to 67M simultaneously pending events
const SLOT_LIMIT = 2 ** SLOT_BITS;
const GEN_LIMIT = 2 ** 27; // SLOT_LIMIT * GEN_LIMIT = 2^53
const FREE = 0;
const LIVE = 1;
const CANCELLED = 2;

/** Events further ahead than this (ns) wait in the far heap. */
const FAR_NS = 50_000_000;

/** A binary min-heap of slot indices keyed by (time, seq), keys kept beside the indices. */
class SlotHeap {
  heap: Int32Array;
  hTime: Float64Array;
  hSeq: Float64Array;
  n = 0;

  constructor(cap: number) {
    this.heap = new Int32Array(cap);
    this.hTime = new Float64Array(cap);
    this.hSeq = new Float64Array(cap);
  }

  grow(cap: number): void {
    const h = new Int32Array(cap);
    h.set(this.heap);
    this.heap = h;
    const t = new Float64Array(cap);
    t.set(this.hTime);
    this.hTime = t;
    const q = new Float64Array(cap);
    q.set(this.hSeq);
    this.hSeq = q;
  }

  siftUp(pos: number, slot: number, t: number, q: number): void {
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

  siftDown(pos: number, slot: number, t: number, q: number): void {
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

  push(slot: number, t: number, q: number): void {
    this.siftUp(this.n++, slot, t, q);
  }

  /** Removes the top entry (the caller read heap[0]). */
  removeTop(): void {
    const li = --this.n;
    if (li > 0) this.siftDown(0, this.heap[li]!, this.hTime[li]!, this.hSeq[li]!);
  }

  /** Keeps the entries `keep` accepts, then restores the heap order (Floyd heapify, O(n)). */
  filter(keep: (slot: number) => boolean): void {
    const heap = this.heap;
    let w = 0;
    for (let r = 0; r < this.n; r++) {
      const slot = heap[r]!;
      if (!keep(slot)) continue;
      heap[w] = slot;
      this.hTime[w] = this.hTime[r]!;
      this.hSeq[w] = this.hSeq[r]!;
      w++;
    }
    this.n = w;
    for (let i = (w >> 1) - 1; i >= 0; i--) this.siftDown(i, heap[i]!, this.hTime[i]!, this.hSeq[i]!);
  }
}

export class EventQueue {
  private cap: number;
  private readonly near: SlotHeap;
  private readonly far: SlotHeap;
  private live = 0; // entries not cancelled (both heaps)
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
    this.near = new SlotHeap(cap);
    this.far = new SlotHeap(cap);
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
    this.near.grow(cap);
    this.far.grow(cap);
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
    const seq = this.nextSeq++;
    this.kinds[slot] = kind;
    this.nums[slot] = num;
    this.objs[slot] = obj;
    this.states[slot] = LIVE;
    this.live++;
    (time - this.time > FAR_NS ? this.far : this.near).push(slot, time, seq);
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
    // Lazy deletion keeps cancelled entries in the heaps; rebuild when they dominate, so
    // repeatedly re-armed long timers (e.g. 5-day TCP timeouts) cannot bloat them.
    if (this.near.n + this.far.n - this.live > this.live + 4096) this.compact();
    return true;
  }

  /** Rebuilds both heaps without cancelled entries. */
  private compact(): void {
    const keep = (slot: number): boolean => {
      if (this.states[slot] !== CANCELLED) return true;
      this.releaseSlot(slot);
      return false;
    };
    this.near.filter(keep);
    this.far.filter(keep);
  }

  /** Whether an id refers to an event that is still pending. */
  isPending(id: EventId): boolean {
    if (!(id > 0)) return false;
    const slot = id % SLOT_LIMIT;
    return slot < this.cap && this.gens[slot] === Math.floor(id / SLOT_LIMIT) && this.states[slot] === LIVE;
  }

  /** The heap holding the earliest live event (cancelled tops dropped), or null when empty. */
  private first(): SlotHeap | null {
    const near = this.near, far = this.far, states = this.states;
    while (near.n > 0 && states[near.heap[0]!] === CANCELLED) this.drop(near);
    while (far.n > 0 && states[far.heap[0]!] === CANCELLED) this.drop(far);
    if (far.n === 0) return near.n > 0 ? near : null;
    if (near.n === 0) return far;
    const nt = near.hTime[0]!, ft = far.hTime[0]!;
    return nt < ft || (nt === ft && near.hSeq[0]! < far.hSeq[0]!) ? near : far;
  }

  private drop(h: SlotHeap): void {
    const top = h.heap[0]!;
    h.removeTop();
    this.releaseSlot(top);
  }

  /** Time of the next pending event, or Infinity when none. */
  peekTime(): number {
    const h = this.first();
    return h === null ? Infinity : h.hTime[0]!;
  }

  /**
   * Removes the earliest event and exposes it through time/kind/num/obj/id.
   * Returns false (and leaves the fields alone) when the queue is empty.
   */
  pop(): boolean {
    const h = this.first();
    if (h === null) return false;
    const slot = h.heap[0]!;
    this.time = h.hTime[0]!;
    this.kind = this.kinds[slot]!;
    this.num = this.nums[slot]!;
    this.obj = this.objs[slot];
    this.id = this.gens[slot]! * SLOT_LIMIT + slot;
    this.live--;
    this.drop(h);
    return true;
  }

  /** Drops every pending event. */
  clear(): void {
    while (this.near.n > 0) this.drop(this.near);
    while (this.far.n > 0) this.drop(this.far);
    this.live = 0;
  }

  private releaseSlot(slot: number): void {
    this.states[slot] = FREE;
    this.objs[slot] = undefined;
    const g = this.gens[slot]! + 1;
    this.gens[slot] = g >= GEN_LIMIT ? 1 : g;
    this.free[this.freeTop++] = slot;
  }
}
