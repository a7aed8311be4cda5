/**
 * The pending-event set of the discrete-event kernel, ordered by (time, seq), where seq is the
 * scheduling order, so events at equal times pop first-in first-out (the SimPy rule). Binary
 * min-heaps, buckets and FIFO lanes (below); no allocation per event.
 *
 * Storage is struct-of-arrays over "slots": each pending event owns a slot holding its kind and
 * two argument words (a number and an object reference); its time and seq live beside the slot
 * index in whatever holds it (a heap, where sifting moves one integer and two keys per level; a
 * bucket; a lane). All arrays grow by doubling.
 *
 * Event ids encode (slot, generation) as slot · 256 + generation: a freed slot bumps its
 * generation (1…255, then 1 again), so cancelling an id whose event already ran (or was already
 * cancelled) is a harmless no-op unless the slot was reused a multiple of 255 times since — and
 * the simulator's holders clear their ids when a timer fires or is cancelled, so a stale id is a
 * bug that the generation merely makes harmless in practice. The encoding keeps ids below 2^30
 * while fewer than 4M events are pending, so V8 stores them as small integers (a timer field of a
 * socket is then no boxed double); beyond that they are still exact. Cancellation is lazy: the
 * slot is flagged and skipped when it reaches the top of the heap.
 *
 * Events due within FAR_NS of the last popped time go to the near set (packets on links, service
 * times): a binary heap for the events of the current 16 µs bucket and a ring of unsorted buckets
 * for the later ones (BucketHeap), so the heap holds a few events rather than every packet in
 * flight (1,000-Service bench: 5 on average; 6 events poured in per bucket). Later ones are
 * timers (SYN retransmission, connect and request timeouts, TIME_WAIT, orphan sockets, conntrack
 * sweeps), mostly cancelled or outliving the run. Timers come in a few
 * fixed delays, and events pushed with the same delay (relative to the last popped time, which
 * only grows) are due in push order: each such delay gets a lane, a FIFO ring (O(1) push and pop,
 * like a kernel timer list per timeout), up to MAX_LANES of them; a far event whose delay has no
 * lane (all taken) goes to the far heap. pop() takes the smallest (time, seq) among the near top,
 * the far top and the lane fronts, so the order is exactly that of one heap.
 *
 * The near set has a front register: an event pushed earlier than everything in the near set
 * (a packet's next hop a few ns away, while the other packets in flight are microseconds out)
 * waits there instead of sifting up to the root, and pop() takes it without sifting down. It
 * only ever holds the near set's minimum, so the order is unchanged.
 */

/** Opaque handle returned by push(); pass it to cancel(). Never 0 (so 0 can mean "no timer"). */
export type EventId = number;

const SLOT_LIMIT = 2 ** 30; // pending events at most (slots index Int32Arrays)
const GEN_LIMIT = 256; // generations 1…255 per slot
// A slot's word (meta): generation in bits 0–7, state in bits 8–9, kind from bit 10 on.
const GEN_MASK = 0xff;
const STATE_MASK = 0x300;
const FREE = 0;
const LIVE = 0x100;
const CANCELLED = 0x200;
const KIND_SHIFT = 10;
/** Event kinds are below this (they share the slot word with the state and generation). */
export const KIND_LIMIT = 2 ** 21;

/** Events further ahead than this (ns) wait in a lane or the far heap. */
const FAR_NS = 50_000_000;
/** Lanes (distinct far delays) at most; an empty lane is given to the next new delay. */
const MAX_LANES = 8;

type NumArray = Int32Array | Uint32Array | Uint8Array | Float64Array;

/** A copy of `a` with `cap` elements, the new ones zero (the queue's arrays grow by doubling). */
function grown<T extends NumArray>(a: T, cap: number): T {
  const b = new (a.constructor as new (n: number) => T)(cap);
  b.set(a as ArrayLike<number> & T);
  return b;
}

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
    this.heap = grown(this.heap, cap);
    this.hTime = grown(this.hTime, cap);
    this.hSeq = grown(this.hSeq, cap);
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
    if (this.n === this.heap.length) this.grow(this.n * 2);
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

/** Width of a near bucket (ns) and the buckets in the ring: 4,096 × 16,384 ns = 67 ms > FAR_NS. */
const BUCKET_NS = 16384;
const BUCKETS = 4096;

/**
 * The near set: a small binary heap for the events of the current bucket (time < winEnd) and a
 * ring of unsorted buckets, BUCKET_NS wide, for the later ones (a calendar queue's front end).
 * When the heap empties, the next non-empty bucket is poured into it, so the heap stays a few
 * entries deep instead of holding every packet in flight and every service time. Invariant: the
 * heap is empty only when the buckets are, so heap[0] is the near set's minimum.
 */
class BucketHeap extends SlotHeap {
  /** Bucket number (⌊time / BUCKET_NS⌋) of the window; the heap holds the events before winEnd. */
  private curB = 0;
  private winEnd = BUCKET_NS;
  private readonly bHead = new Int32Array(BUCKETS).fill(-1);
  /** One bit per bucket: non-empty. */
  private readonly bits = new Uint32Array(BUCKETS >> 5);
  private inBuckets = 0;
  /** Per slot, while it waits in a bucket: the next slot of its bucket, its time and seq. */
  private sNext: Int32Array;
  private sTime: Float64Array;
  private sSeq: Float64Array;

  constructor(cap: number, slots: number) {
    super(cap);
    this.sNext = new Int32Array(slots);
    this.sTime = new Float64Array(slots);
    this.sSeq = new Float64Array(slots);
  }

  /** The slot arrays follow the queue's slot capacity. */
  growSlots(slots: number): void {
    this.sNext = grown(this.sNext, slots);
    this.sTime = grown(this.sTime, slots);
    this.sSeq = grown(this.sSeq, slots);
  }

  /** time must lie within FAR_NS of the last popped time (EventQueue.push). */
  override push(slot: number, t: number, q: number): void {
    if (t < this.winEnd) return super.push(slot, t, q);
    const b = Math.floor(t / BUCKET_NS);
    if (this.n === 0) {
      // The near set is empty (the invariant): the window moves to this event.
      this.curB = b;
      this.winEnd = (b + 1) * BUCKET_NS;
      return super.push(slot, t, q);
    }
    if (b - this.curB >= BUCKETS) throw new Error(`event queue: near event at ${t} beyond the bucket ring`);
    const i = b & (BUCKETS - 1);
    this.sNext[slot] = this.bHead[i]!;
    this.sTime[slot] = t;
    this.sSeq[slot] = q;
    this.bHead[i] = slot;
    this.bits[i >> 5]! |= 1 << (i & 31);
    this.inBuckets++;
  }

  override removeTop(): void {
    super.removeTop();
    if (this.n === 0 && this.inBuckets > 0) this.load();
  }

  /** Pours the next non-empty bucket after the window into the (empty) heap. */
  private load(): void {
    const bits = this.bits;
    const mask = BUCKETS - 1;
    const from = (this.curB + 1) & mask;
    let w = from >> 5;
    let word = bits[w]! & (~0 << (from & 31));
    while (word === 0) {
      w = (w + 1) & ((BUCKETS >> 5) - 1);
      word = bits[w]!;
    }
    const i = (w << 5) | (31 - Math.clz32(word & -word));
    this.curB += (i - this.curB) & mask; // 1 … BUCKETS − 1 ahead (push keeps buckets in the ring)
    this.winEnd = (this.curB + 1) * BUCKET_NS;
    const sNext = this.sNext, sTime = this.sTime, sSeq = this.sSeq;
    let k = 0;
    for (let s = this.bHead[i]!; s >= 0; s = sNext[s]!) {
      super.push(s, sTime[s]!, sSeq[s]!);
      k++;
    }
    this.bHead[i] = -1;
    bits[i >> 5]! &= ~(1 << (i & 31));
    this.inBuckets -= k;
  }

  override filter(keep: (slot: number) => boolean): void {
    super.filter(keep);
    const sNext = this.sNext;
    for (let i = 0; i < BUCKETS; i++) {
      let s = this.bHead[i]!;
      if (s < 0) continue;
      let head = -1, tail = -1;
      for (; s >= 0; ) {
        const next = sNext[s]!;
        if (keep(s)) {
          if (tail < 0) head = s;
          else sNext[tail] = s;
          tail = s;
        } else this.inBuckets--;
        s = next;
      }
      if (tail >= 0) sNext[tail] = -1;
      this.bHead[i] = head;
      if (head < 0) this.bits[i >> 5]! &= ~(1 << (i & 31));
    }
    if (this.n === 0 && this.inBuckets > 0) this.load();
  }
}

/** A FIFO ring of slots whose (time, seq) keys only grow: the events of one far delay. */
class Lane {
  delay = -1;
  slots: Int32Array;
  times: Float64Array;
  seqs: Float64Array;
  head = 0;
  n = 0;
  mask: number;

  constructor(cap: number) {
    this.slots = new Int32Array(cap);
    this.times = new Float64Array(cap);
    this.seqs = new Float64Array(cap);
    this.mask = cap - 1;
  }

  push(slot: number, t: number, q: number): void {
    if (this.n === this.slots.length) this.grow();
    const i = (this.head + this.n) & this.mask;
    this.slots[i] = slot;
    this.times[i] = t;
    this.seqs[i] = q;
    this.n++;
  }

  /** Doubles the ring (it is full), unrolled to start at 0: two block copies per array. */
  private grow(): void {
    const old = this.slots.length, head = this.head;
    const cap = old * 2;
    const unroll = <T extends Int32Array | Float64Array>(a: T, b: T): T => {
      b.set(a.subarray(head));
      b.set(a.subarray(0, head), old - head);
      return b;
    };
    this.slots = unroll(this.slots, new Int32Array(cap));
    this.times = unroll(this.times, new Float64Array(cap));
    this.seqs = unroll(this.seqs, new Float64Array(cap));
    this.head = 0;
    this.mask = cap - 1;
  }

  removeTop(): void {
    this.head = (this.head + 1) & this.mask;
    this.n--;
  }

  /** Keeps the entries `keep` accepts, in order. */
  filter(keep: (slot: number) => boolean): void {
    let w = 0;
    for (let k = 0; k < this.n; k++) {
      const i = (this.head + k) & this.mask;
      const slot = this.slots[i]!;
      if (!keep(slot)) continue;
      const j = (this.head + w) & this.mask;
      this.slots[j] = slot;
      this.times[j] = this.times[i]!;
      this.seqs[j] = this.seqs[i]!;
      w++;
    }
    this.n = w;
  }
}

export class EventQueue {
  private cap: number;
  private readonly near: BucketHeap;
  private readonly far: SlotHeap;
  private readonly lanes: Lane[] = [];
  /** The front register (−1: empty): a near event earlier (time, seq) than all of the near set. */
  private hot = -1;
  private hotTime = 0;
  private hotSeq = 0;
  /** Where the earliest event is (set by first()): 0 near, 1 far, 2 + i lane i, −1 none. */
  private at = -1;
  /** Its time, and whether `at`/`atTime` still hold (no push, cancel or pop since first()). */
  private atTime = Infinity;
  private atValid = false;
  /**
   * The lane whose front is earliest (−1: none), while lanesValid: a push to a non-empty lane
   * cannot change it (lanes only grow at the back), so only a push to an empty lane, a pop from a
   * lane, a compaction or a cancelled front makes first() scan the lanes again.
   */
  private laneMin = -1;
  private lanesValid = true;
  private live = 0; // entries not cancelled (heaps and lanes)
  /** Per slot: kind, state and generation in one word (see GEN_MASK…KIND_SHIFT). */
  private meta: Int32Array;
  private nums: Float64Array;
  private objs: unknown[];
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
    // The heaps grow by themselves (below the slot capacity: most pending events are timers in lanes).
    this.near = new BucketHeap(16, cap);
    this.far = new SlotHeap(cap);
    this.meta = new Int32Array(cap).fill(1); // generation 1, FREE
    this.nums = new Float64Array(cap);
    this.objs = new Array<unknown>(cap).fill(undefined);
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
    this.meta = grown(this.meta, cap);
    this.meta.fill(1, old);
    this.nums = grown(this.nums, cap);
    const objs = new Array<unknown>(cap).fill(undefined);
    for (let i = 0; i < old; i++) objs[i] = this.objs[i];
    this.objs = objs;
    const free = new Int32Array(cap);
    free.set(this.free.subarray(0, this.freeTop));
    this.free = free;
    for (let i = cap - 1; i >= old; i--) this.free[this.freeTop++] = i;
    this.near.growSlots(cap);
    this.cap = cap;
  }

  /** Schedules an event; time must be a number (the Simulation checks integrality and order). */
  push(time: number, kind: number, num = 0, obj: unknown = undefined): EventId {
    if (this.freeTop === 0) this.grow();
    const slot = this.free[--this.freeTop]!;
    const seq = this.nextSeq++;
    const gen = this.meta[slot]! & GEN_MASK;
    this.meta[slot] = (kind << KIND_SHIFT) | LIVE | gen;
    this.nums[slot] = num;
    this.objs[slot] = obj;
    this.live++;
    this.atValid = false;
    const delay = time - this.time;
    if (delay <= FAR_NS) this.pushNear(slot, time, seq);
    else this.pushFar(slot, time, seq, delay);
    return slot * GEN_LIMIT + gen;
  }

  /**
   * Into the front register when earlier than the near set's minimum (seq only grows, so an equal
   * time is later), moving a later occupant into the near set; otherwise into the near set.
   */
  private pushNear(slot: number, time: number, seq: number): void {
    const near = this.near;
    if (this.hot >= 0) {
      if (time >= this.hotTime) return near.push(slot, time, seq);
      near.push(this.hot, this.hotTime, this.hotSeq);
    } else if (near.n > 0 && time >= near.hTime[0]!) return near.push(slot, time, seq);
    this.hot = slot;
    this.hotTime = time;
    this.hotSeq = seq;
  }

  private pushFar(slot: number, time: number, seq: number, delay: number): void {
    const lanes = this.lanes;
    let free: Lane | null = null;
    for (let i = 0; i < lanes.length; i++) {
      const l = lanes[i]!;
      if (l.delay === delay) {
        if (l.n === 0) this.lanesValid = false;
        return l.push(slot, time, seq);
      }
      if (l.n === 0 && free === null) free = l;
    }
    if (free === null && lanes.length < MAX_LANES) lanes.push((free = new Lane(16)));
    if (free === null) return this.far.push(slot, time, seq);
    free.delay = delay;
    free.push(slot, time, seq);
    this.lanesValid = false;
  }

  /** Cancels a pending event; false when it already ran, was cancelled, or never existed. */
  cancel(id: EventId): boolean {
    if (!(id > 0)) return false;
    const slot = Math.floor(id / GEN_LIMIT);
    const gen = id % GEN_LIMIT;
    const m = slot < this.cap ? this.meta[slot]! : 0;
    if ((m & GEN_MASK) !== gen || (m & STATE_MASK) !== LIVE) return false;
    this.meta[slot] = m ^ (LIVE | CANCELLED);
    this.objs[slot] = undefined; // release the reference early
    this.live--;
    this.atValid = false;
    // The earliest lane's front cancelled: first() looks for the earliest front again.
    if (this.laneMin >= 0) {
      const l = this.lanes[this.laneMin]!;
      if (l.n > 0 && l.slots[l.head] === slot) this.lanesValid = false;
    }
    // Lazy deletion keeps cancelled entries in the heaps; rebuild when they dominate, so
    // repeatedly re-armed long timers (e.g. 5-day TCP timeouts) cannot bloat them.
    // (cap − freeTop: the slots held by the heaps and lanes, cancelled ones included.)
    if (this.cap - this.freeTop - this.live > this.live + 4096) this.compact();
    return true;
  }

  /**
   * compact()'s filter: keeps live slots, frees cancelled ones. One closure for the queue's life:
   * a new one per compaction made the heaps' optimized filter() deoptimize (another call target).
   */
  private readonly keepLive = (slot: number): boolean => {
    if ((this.meta[slot]! & STATE_MASK) !== CANCELLED) return true;
    this.releaseSlot(slot);
    return false;
  };

  /** Rebuilds the heaps and lanes without cancelled entries. */
  private compact(): void {
    const keep = this.keepLive;
    if (this.hot >= 0 && !keep(this.hot)) this.hot = -1;
    this.near.filter(keep);
    this.far.filter(keep);
    for (const l of this.lanes) l.filter(keep);
    this.atValid = false;
    this.lanesValid = false;
  }

  /** Whether an id refers to an event that is still pending. */
  isPending(id: EventId): boolean {
    if (!(id > 0)) return false;
    const slot = Math.floor(id / GEN_LIMIT);
    return slot < this.cap && (this.meta[slot]! & (GEN_MASK | STATE_MASK)) === (LIVE | id % GEN_LIMIT);
  }

  /**
   * Finds the earliest live event (dropping cancelled tops on the way) and notes where it is in
   * `at`; returns its time, or Infinity when the queue is empty.
   */
  private first(): number {
    if (this.atValid) return this.atTime;
    const near = this.near, far = this.far, meta = this.meta;
    if (this.hot >= 0 && (meta[this.hot]! & STATE_MASK) === CANCELLED) {
      this.releaseSlot(this.hot);
      this.hot = -1;
    }
    while (far.n > 0 && (meta[far.heap[0]!]! & STATE_MASK) === CANCELLED) this.dropTop(far);
    let t = Infinity, q = 0, at = -1;
    if (this.hot >= 0) {
      t = this.hotTime;
      q = this.hotSeq;
      at = 0;
    } else {
      while (near.n > 0 && (meta[near.heap[0]!]! & STATE_MASK) === CANCELLED) this.dropTop(near);
      if (near.n > 0) {
        t = near.hTime[0]!;
        q = near.hSeq[0]!;
        at = 0;
      }
    }
    if (far.n > 0) {
      const ft = far.hTime[0]!;
      if (ft < t || (ft === t && far.hSeq[0]! < q)) {
        t = ft;
        q = far.hSeq[0]!;
        at = 1;
      }
    }
    const lanes = this.lanes;
    let m = this.laneMin;
    if (!this.lanesValid) {
      m = -1;
      let mt = Infinity, mq = 0;
      for (let i = 0; i < lanes.length; i++) {
        const l = lanes[i]!;
        while (l.n > 0 && (meta[l.slots[l.head]!]! & STATE_MASK) === CANCELLED) this.dropFront(l);
        if (l.n === 0) continue;
        const lt = l.times[l.head]!;
        if (lt < mt || (lt === mt && l.seqs[l.head]! < mq)) {
          mt = lt;
          mq = l.seqs[l.head]!;
          m = i;
        }
      }
      this.laneMin = m;
      this.lanesValid = true;
    }
    if (m >= 0) {
      const l = lanes[m]!;
      const lt = l.times[l.head]!;
      if (lt < t || (lt === t && l.seqs[l.head]! < q)) {
        t = lt;
        at = 2 + m;
      }
    }
    this.at = at;
    this.atTime = t;
    this.atValid = true;
    return t;
  }

  private dropTop(h: SlotHeap): void {
    const top = h.heap[0]!;
    h.removeTop();
    this.releaseSlot(top);
  }

  private dropFront(l: Lane): void {
    const slot = l.slots[l.head]!;
    l.removeTop();
    this.releaseSlot(slot);
  }

  /** Time of the next pending event, or Infinity when none. */
  peekTime(): number {
    return this.first();
  }

  /**
   * Removes the earliest event and exposes it through time/kind/num/obj/id.
   * Returns false (and leaves the fields alone) when the queue is empty.
   */
  pop(): boolean {
    this.first();
    if (this.at < 0) return false;
    this.obj = this.take();
    return true;
  }

  /**
   * pop() for the dispatch loop, which has just seen peekTime() < Infinity: removes the earliest
   * event, sets time/kind/num/id, and returns its object instead of storing it in `obj`. (Storing a
   * young object into this long-lived queue costs a write barrier, once per event.)
   */
  take(): unknown {
    const t = this.first();
    const at = this.at;
    this.atValid = false;
    let slot: number;
    if (at === 0 && this.hot >= 0) {
      slot = this.hot;
      this.hot = -1;
    } else if (at < 2) {
      const h = at === 0 ? this.near : this.far;
      slot = h.heap[0]!;
      h.removeTop();
    } else {
      const l = this.lanes[at - 2]!;
      slot = l.slots[l.head]!;
      l.removeTop();
      this.lanesValid = false;
    }
    // As a small integer while it fits in 32 bits (the first 2.1 s): times read from a Float64Array
    // are doubles, and one stored here would make `time`, the simulation's `now` and every record
    // field copied from it a boxed HeapNumber (one more object per time field for the GC).
    this.time = (t | 0) === t ? t | 0 : t;
    const m = this.meta[slot]!;
    this.kind = m >>> KIND_SHIFT;
    const num = this.nums[slot]!;
    this.num = (num | 0) === num ? num | 0 : num; // (the same, for handlers' node and host indices)
    const obj = this.objs[slot];
    this.id = slot * GEN_LIMIT + (m & GEN_MASK);
    this.live--;
    this.releaseSlot(slot);
    return obj;
  }

  /** Drops every pending event. */
  clear(): void {
    if (this.hot >= 0) {
      this.releaseSlot(this.hot);
      this.hot = -1;
    }
    while (this.near.n > 0) this.dropTop(this.near);
    while (this.far.n > 0) this.dropTop(this.far);
    for (const l of this.lanes) while (l.n > 0) this.dropFront(l);
    this.live = 0;
    this.atValid = false;
    this.lanesValid = false;
  }

  private releaseSlot(slot: number): void {
    this.objs[slot] = undefined;
    const g = (this.meta[slot]! & GEN_MASK) + 1;
    this.meta[slot] = FREE | (g >= GEN_LIMIT ? 1 : g); // kind 0, the next generation
    this.free[this.freeTop++] = slot;
  }
}
