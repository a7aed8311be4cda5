import { describe, expect, it } from "vitest";
import { EventQueue } from "../../src/engine/queue.ts";
import { RngRoot } from "../../src/engine/rng.ts";

function drain(q: EventQueue): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  while (q.pop()) out.push([q.time, q.kind, q.num]);
  return out;
}

describe("EventQueue ordering", () => {
  const rows = [
    { name: "increasing times", push: [[1, 1], [2, 2], [3, 3]], want: [1, 2, 3] },
    { name: "decreasing times", push: [[3, 1], [2, 2], [1, 3]], want: [3, 2, 1] },
    { name: "equal times pop FIFO", push: [[5, 1], [5, 2], [5, 3], [5, 4]], want: [1, 2, 3, 4] },
    { name: "equal times interleaved with earlier", push: [[5, 1], [1, 2], [5, 3], [1, 4], [5, 5]], want: [2, 4, 1, 3, 5] },
    { name: "time zero", push: [[0, 1], [0, 2]], want: [1, 2] },
  ];
  it.each(rows)("$name", ({ push, want }) => {
    const q = new EventQueue(4);
    for (const [t, tag] of push) q.push(t!, 7, tag!);
    expect(drain(q).map((e) => e[2])).toEqual(want);
  });

  it("carries kind, number and object arguments", () => {
    const q = new EventQueue();
    const o = { a: 1 };
    q.push(10, 3, 2.5, o);
    expect(q.pop()).toBe(true);
    expect([q.time, q.kind, q.num, q.obj]).toEqual([10, 3, 2.5, o]);
    expect(q.pop()).toBe(false);
  });

  it("cancels by id, lazily, and ignores stale ids", () => {
    const q = new EventQueue(4);
    const a = q.push(1, 1, 1);
    const b = q.push(2, 1, 2);
    const c = q.push(3, 1, 3);
    expect(q.size).toBe(3);
    expect(q.cancel(b)).toBe(true);
    expect(q.cancel(b)).toBe(false);
    expect(q.size).toBe(2);
    expect(q.isPending(a)).toBe(true);
    expect(q.pop()).toBe(true);
    expect(q.id).toBe(a);
    expect(q.cancel(a)).toBe(false); // already ran
    // the freed slot is reused; the old id must not cancel the new event
    const d = q.push(4, 1, 4);
    expect(d).not.toBe(a);
    expect(q.cancel(a)).toBe(false);
    expect(drain(q).map((e) => e[2])).toEqual([3, 4]);
    expect(q.cancel(c)).toBe(false);
    expect(q.cancel(0)).toBe(false);
  });

  it("peekTime skips cancelled heads and is Infinity when empty", () => {
    const q = new EventQueue();
    expect(q.peekTime()).toBe(Infinity);
    const a = q.push(1, 1);
    q.push(9, 1);
    q.cancel(a);
    expect(q.peekTime()).toBe(9);
  });

  // take()/pop() hand a time that fits in 32 bits out as a small integer (no boxed double in
  // `now` and the records); the value must never change, on either side of the boundary.
  it.each([0, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, 2 ** 53 - 1])("time %d pops unchanged through take() and pop()", (t) => {
    const q = new EventQueue(16);
    q.push(t, 1, 1);
    q.push(t, 1, 2);
    expect(q.peekTime()).toBe(t);
    q.take();
    expect([q.time, q.num]).toEqual([t, 1]);
    expect(q.pop()).toBe(true);
    expect([q.time, q.num]).toEqual([t, 2]);
  });

  // Bucket numbers beyond 32 bits (⌊t / 16,384⌋ ≥ 2^32 from t ≈ 7·10^13 ns, 19 hours): the ring
  // index and the window arithmetic wrap modulo 2^32 and must keep the order.
  it.each([2 ** 40, 2 ** 46 + 12_345, 2 ** 52])("near events around t = %d pop in (time, seq) order", (t0) => {
    const rng = new RngRoot(99).stream("queue/large-times");
    const q = new EventQueue(16);
    q.push(t0, 1, -1);
    expect(q.pop()).toBe(true); // now = t0: later pushes are near events
    const ref: Array<[number, number]> = [];
    for (let i = 0; i < 2_000; i++) {
      const t = t0 + rng.int(0, 50_000_000);
      q.push(t, 1, i);
      ref.push([t, i]);
    }
    ref.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(drain(q).map(([t, , n]) => [t, n])).toEqual(ref);
  });

  it("an event pushed after a peek moved the near window past it still pops first", () => {
    const q = new EventQueue(16);
    q.push(100, 1, 1);
    q.push(5_000_000, 1, 2); // a later bucket
    expect(q.pop()).toBe(true); // #1; the near window moves on to #2's bucket
    expect(q.peekTime()).toBe(5_000_000);
    q.push(200_000, 1, 3); // before that bucket, after now
    q.push(5_000_000, 1, 4); // equal to #2, scheduled later
    expect(drain(q).map(([, , n]) => n)).toEqual([3, 2, 4]);
  });

  it("compacts when cancelled timers dominate (many re-armed timers)", () => {
    const q = new EventQueue(16);
    let id = q.push(1e15, 1, 0);
    for (let i = 1; i < 50_000; i++) {
      q.cancel(id);
      id = q.push(1e15 + i, 1, i);
    }
    q.push(5, 2, -1);
    expect(q.size).toBe(2);
    expect(drain(q)).toEqual([[5, 2, -1], [1e15 + 49_999, 1, 49_999]]);
  });
});

describe("EventQueue heap property vs a sorted reference", () => {
  it("100k random events pop in (time, seq) order", () => {
    const rng = new RngRoot(12345).stream("test/heap");
    const q = new EventQueue(8);
    const ref: Array<[number, number]> = [];
    for (let i = 0; i < 100_000; i++) {
      const t = rng.int(0, 20_000); // many equal times
      q.push(t, 1, i);
      ref.push([t, i]);
    }
    ref.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const got: Array<[number, number]> = [];
    while (q.pop()) got.push([q.time, q.num]);
    expect(got).toEqual(ref);
  });

  // Delays up to 50 ns keep everything in the near heap; up to 200 ms and a mix of both exercise
  // the far heap (events beyond 50 ms) and ties between the two heaps' tops.
  // Fixed far delays (timers: 1 s SYN RTO, 60 s TIME_WAIT, …) go to FIFO lanes; more distinct
  // delays than lanes overflow to the far heap; near ones mixed in tie with lane fronts.
  const fixed = (delays: number[]) => (r: number) => delays[Math.floor(r * delays.length)]!;
  it.each([
    { name: "near only", delay: () => 50, seed: 777, exact: false },
    { name: "near and far", delay: () => 200_000_000, seed: 778, exact: false },
    { name: "mixed, with ties across heaps", delay: (r: number) => (r < 0.5 ? 3 : 60_000_000), seed: 779, exact: false },
    { name: "fixed far delays (timer lanes)", delay: fixed([1_000_000_000, 60_000_000_000, 60_000_000_000, 2_000_000_000]), seed: 780, exact: true },
    { name: "more fixed delays than lanes", delay: fixed(Array.from({ length: 12 }, (_, i) => 100_000_000 * (i + 1))), seed: 781, exact: true },
    { name: "lanes and near events, with ties", delay: fixed([0, 7, 60_000_001, 60_000_001, 120_000_002]), seed: 782, exact: true },
    // Packet hops: most pushes are earlier than every pending near event (the front register).
    { name: "pushes mostly earliest (near front register)", delay: fixed([0, 1, 1, 75, 10_000, 10_000]), seed: 783, exact: true },
    { name: "pushes often earliest, random near times", delay: (r: number) => (r < 0.7 ? 2 : 10_000), seed: 784, exact: false },
    // The near set's buckets (16,384 ns wide, a 67 ms ring): events across the whole ring as it
    // wraps, long runs of empty buckets, crowded buckets, and times on bucket boundaries.
    { name: "near events over the whole bucket ring (it wraps)", delay: () => 50_000_000, seed: 785, exact: false },
    { name: "sparse near events (long runs of empty buckets)", delay: fixed([5_000_000, 49_000_000]), seed: 786, exact: true },
    { name: "crowded buckets, many equal times", delay: fixed([0, 16_384]), seed: 787, exact: true },
    { name: "times on bucket boundaries", delay: fixed([16_383, 16_384, 16_385, 32_768]), seed: 788, exact: true },
  ])("interleaved pushes, pops and cancels (20k ops) match a sorted-array reference: $name", ({ delay, seed, exact }) => {
    const rng = new RngRoot(seed).stream("test/heap-interleaved");
    const q = new EventQueue(8);
    type Ev = { t: number; seq: number; id: number };
    const pending: Ev[] = []; // kept sorted by (t, seq)
    const ids: Ev[] = [];
    const insert = (e: Ev) => {
      let lo = 0;
      let hi = pending.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        const m = pending[mid]!;
        if (m.t < e.t || (m.t === e.t && m.seq < e.seq)) lo = mid + 1;
        else hi = mid;
      }
      pending.splice(lo, 0, e);
    };
    let now = 0;
    for (let i = 0; i < 20_000; i++) {
      const r = rng.next();
      if (r < 0.55) {
        const d = delay(rng.next());
        const t = now + (exact ? d : rng.int(0, d));
        const e: Ev = { t, seq: i, id: 0 };
        e.id = q.push(t, 1, i, e);
        insert(e);
        ids.push(e);
      } else if (r < 0.65 && ids.length > 0) {
        const victim = ids[rng.int(0, ids.length - 1)]!;
        const k = pending.indexOf(victim);
        expect(q.cancel(victim.id)).toBe(k >= 0);
        if (k >= 0) pending.splice(k, 1);
      } else {
        // Every other pop through take() (the dispatch loop's: it returns the object).
        const want = pending.shift();
        if (want !== undefined && i % 2 === 1) {
          expect(q.peekTime()).toBe(want.t);
          expect(q.take()).toBe(want);
          expect([q.time, q.num, q.id]).toEqual([want.t, want.seq, want.id]);
          now = q.time;
        } else {
          expect(q.pop()).toBe(want !== undefined);
          if (want) {
            expect([q.time, q.num, q.obj, q.id]).toEqual([want.t, want.seq, want, want.id]);
            now = q.time;
          }
        }
      }
      expect(q.size).toBe(pending.length);
    }
  });
});

describe("event ids", () => {
  it("stay small integers (no boxed doubles in timer fields) and never 0", () => {
    const q = new EventQueue(16);
    const ids: number[] = [];
    for (let i = 0; i < 100_000; i++) ids.push(q.push(i * 60_000_000_000, 1, i));
    expect(ids.filter((id) => !(Number.isInteger(id) && id > 0 && id < 2 ** 30))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it.each([1, 2, 254, 255, 256, 1000])("an id is stale after its slot was reused %i times", (reuses) => {
    const q = new EventQueue(16);
    const first = q.push(1, 1, 0);
    expect(q.pop()).toBe(true);
    let last = first;
    for (let i = 0; i < reuses; i++) {
      last = q.push(1, 1, i);
      expect(q.pop()).toBe(true);
    }
    const live = q.push(2, 1, -1);
    // The old ids name events that ran: cancelling them is a no-op unless the slot's generation
    // wrapped exactly (every 255 reuses), the documented limit of the guard.
    expect(q.cancel(last)).toBe(false);
    if ((reuses + 1) % 255 !== 0) expect(q.cancel(first)).toBe(false);
    expect(q.isPending(live)).toBe(true);
  });
});

describe("compaction after mass cancellation", () => {
  // Near times within 1 ms crowd a few buckets; within 45 ms most buckets hold a few events, and
  // compaction empties many of them.
  it.each([
    { seed: 1, span: 1_000_000 },
    { seed: 2, span: 1_000_000 },
    { seed: 3, span: 1_000_000 },
    { seed: 4, span: 45_000_000 },
    { seed: 5, span: 45_000_000 },
  ])("random near times within $span ns, 90% cancelled (seed $seed): pops stay in (time, seq) order", ({ seed, span }) => {
    const rng = new RngRoot(seed).stream("queue/compact");
    const q = new EventQueue(16);
    const ids: { id: number; time: number; seq: number }[] = [];
    for (let i = 0; i < 20_000; i++) {
      // A third of them in timer lanes (fixed far delays), so compaction filters lanes too.
      const time = i % 3 === 0 ? [60_000_000_000, 1_000_000_000][i % 2]! : rng.int(0, span);
      ids.push({ id: q.push(time, 1, i), time, seq: i });
    }
    const kept = ids.filter(() => rng.next() >= 0.9);
    const keptSet = new Set(kept.map((k) => k.id));
    for (const e of ids) if (!keptSet.has(e.id)) q.cancel(e.id);
    const popped: number[] = [];
    while (q.pop()) popped.push(q.num);
    const expected = [...kept].sort((a, b) => a.time - b.time || a.seq - b.seq).map((k) => k.seq);
    expect(popped).toEqual(expected);
  });
});
