import { describe, expect, it } from "vitest";
import { KIND_LIMIT } from "../../src/engine/queue.ts";
import { Simulation } from "../../src/engine/sim.ts";
import { ms, s } from "../../src/engine/time.ts";

describe("Simulation", () => {
  it("runs handlers by kind in (time, scheduling) order and advances now", () => {
    const sim = new Simulation();
    const log: string[] = [];
    const A = sim.register("a", (sm, num) => log.push(`a${num}@${sm.now}`));
    const B = sim.register("b", (sm, num, obj) => log.push(`b${num}${String(obj)}@${sm.now}`));
    sim.schedule(20, A, 1);
    sim.schedule(10, B, 2, "x");
    sim.schedule(20, B, 3, "y");
    sim.schedule(10, A, 4);
    expect(sim.run()).toBe(4);
    expect(log).toEqual(["b2x@10", "a4@10", "a1@20", "b3y@20"]);
    expect(sim.eventsProcessed).toBe(4);
  });

  it("handlers can schedule more events, including at the current time (after queued ones)", () => {
    const sim = new Simulation();
    const log: number[] = [];
    const K = sim.register("k", (sm, num) => {
      log.push(num);
      if (num === 1) sm.scheduleIn(0, K, 3);
    });
    sim.schedule(5, K, 1);
    sim.schedule(5, K, 2);
    sim.run();
    expect(log).toEqual([1, 2, 3]);
  });

  it("run(until) stops at until, inclusive, and leaves now there", () => {
    const sim = new Simulation();
    const seen: number[] = [];
    const K = sim.register("k", (sm) => seen.push(sm.now));
    for (const t of [s(1), s(2), s(3)]) sim.schedule(t, K);
    expect(sim.run(s(2))).toBe(2);
    expect(sim.now).toBe(s(2));
    expect(sim.pending).toBe(1);
    sim.run(s(10));
    expect(seen).toEqual([s(1), s(2), s(3)]);
    expect(sim.now).toBe(s(10));
  });

  it("stop() ends the run after the current event; step() executes one", () => {
    const sim = new Simulation();
    let n = 0;
    const K = sim.register("k", (sm) => {
      n++;
      if (n === 2) sm.stop();
    });
    for (let i = 1; i <= 4; i++) sim.schedule(i, K);
    expect(sim.run()).toBe(2);
    expect(sim.step()).toBe(true);
    expect(n).toBe(3);
    expect(sim.now).toBe(3);
  });

  // run() executes events in batches (runBatch, 256 at a time): stop() and until must cut the run
  // at the same event wherever it falls relative to a batch boundary.
  const boundaryCases = [1, 255, 256, 257, 511, 512, 513, 1000];
  it.each(boundaryCases)("stop() after event %i of 1,200 ends the run there, and run() resumes with the next", (k) => {
    const sim = new Simulation();
    const seen: number[] = [];
    const K = sim.register("k", (sm, num) => {
      seen.push(num);
      if (num === k) sm.stop();
    });
    for (let i = 1; i <= 1200; i++) sim.schedule(i * 10, K, i);
    expect(sim.run()).toBe(k);
    expect(sim.now).toBe(k * 10);
    expect(sim.pending).toBe(1200 - k);
    expect(sim.run()).toBe(1200 - k);
    expect(seen).toEqual(Array.from({ length: 1200 }, (_, i) => i + 1));
  });

  it.each(boundaryCases)("run(until) with %i events due by until runs exactly those", (k) => {
    const sim = new Simulation();
    let n = 0;
    const K = sim.register("k", () => n++);
    for (let i = 1; i <= 1200; i++) sim.schedule(i * 10, K);
    expect(sim.run(k * 10 + 5)).toBe(k);
    expect(n).toBe(k);
    expect(sim.now).toBe(k * 10 + 5);
    expect(sim.run()).toBe(1200 - k);
    expect(sim.eventsProcessed).toBe(1200);
  });

  it("cancels timers and runs closure events", () => {
    const sim = new Simulation();
    const log: string[] = [];
    const id = sim.callIn(ms(5), () => log.push("timer"));
    sim.callAt(ms(1), (sm) => {
      log.push("cancel");
      expect(sm.cancel(id)).toBe(true);
    });
    sim.run();
    expect(log).toEqual(["cancel"]);
  });

  const bad = [
    { name: "in the past", f: (sm: Simulation, k: number) => sm.schedule(-1, k), msg: /before now/ },
    { name: "fractional time", f: (sm: Simulation, k: number) => sm.schedule(1.5, k), msg: /integer/ },
    { name: "unregistered kind", f: (sm: Simulation) => sm.schedule(1, 99), msg: /no handler/ },
    { name: "duplicate kind", f: (sm: Simulation, k: number) => sm.register(k, () => {}), msg: /already registered/ },
    { name: "a kind beyond the queue's kind bits", f: (sm: Simulation) => sm.register(KIND_LIMIT, () => {}), msg: /from 1 to 2097151/ },
    { name: "kind 0 (closure events)", f: (sm: Simulation) => sm.register(0, () => {}), msg: /from 1 to/ },
  ];
  // The queue keeps an event's kind in its slot word beside the state and generation.
  it.each([1, 1023, 1024, 65_535, KIND_LIMIT - 1])("dispatches kind %i to its handler, arguments intact", (kind) => {
    const sim = new Simulation();
    const got: unknown[] = [];
    sim.register(kind, (sm, num, obj) => got.push([sm.now, num, obj]));
    const id = sim.schedule(7, kind, -2.5, "x");
    sim.schedule(9, kind, 3, null);
    sim.cancel(id);
    sim.schedule(8, kind, 1, "y");
    sim.run();
    expect(got).toEqual([[8, 1, "y"], [9, 3, null]]);
  });

  it.each(bad)("rejects scheduling $name", ({ f, msg }) => {
    const sim = new Simulation();
    const k = sim.register("k", () => {});
    expect(() => f(sim, k)).toThrow(msg);
  });
});
