/**
 * The discrete-event kernel (in the spirit of SimPy's Environment): a clock, a pending-event
 * queue ordered by (time, scheduling order), and a registry of handlers by event kind.
 *
 * Hot-path events carry (kind, num, obj) and run a handler registered once per kind, so the
 * kernel allocates nothing per event. A closure-based `callAt`/`callIn` is offered for rare
 * events (scenario timeline steps, controller delays).
 *
 * Semantics:
 * - Time is integer nanoseconds (SimTime). Scheduling in the past or at a non-integer time is a
 *   bug and throws.
 * - Events at equal times run in the order they were scheduled (FIFO).
 * - run(until) runs every event with time <= until, then leaves `now` at `until` (like SimPy's
 *   run(until=…)), so a later run continues from there.
 * - A handler that throws aborts the run (bugs surface early); packet fates never throw.
 */
import { EventQueue, KIND_LIMIT, type EventId } from "./queue.ts";
import type { SimTime } from "./time.ts";
import { MAX_SIM_TIME } from "./time.ts";

export type { EventId };

/** Event kind: a small non-negative integer chosen at registration. */
export type EventKind = number;

/** A handler receives the simulation and the event's two argument words. */
export type EventHandler = (sim: Simulation, num: number, obj: unknown) => void;

/** Events per runBatch() call (see there). */
const BATCH = 256;

/** Kind 0 is reserved for closure events (callAt / callIn). */
const KIND_CALL = 0;

export class Simulation {
  /** Current simulated time (integer ns). */
  now: SimTime = 0;
  /** Events executed so far (cancelled events are not counted). */
  eventsProcessed = 0;

  private readonly queue: EventQueue;
  private handlers: (EventHandler | undefined)[] = [];
  private names: string[] = [];
  private stopped = false;
  private running = false;

  constructor(opts: { initialCapacity?: number } = {}) {
    this.queue = new EventQueue(opts.initialCapacity ?? 1024);
    this.handlers[KIND_CALL] = (sim, _num, obj) => (obj as (sim: Simulation) => void)(sim);
    this.names[KIND_CALL] = "call";
  }

  /**
   * Registers the handler for an event kind. With a number, uses that kind (throws if taken);
   * with a name, allocates the next free kind. Returns the kind.
   */
  register(kind: EventKind | string, handler: EventHandler): EventKind {
    let k: number;
    let name: string;
    if (typeof kind === "string") {
      k = this.handlers.length;
      if (k >= KIND_LIMIT) throw new Error(`more than ${KIND_LIMIT - 1} event kinds`);
      name = kind;
    } else {
      if (!Number.isInteger(kind) || kind < 1 || kind >= KIND_LIMIT) throw new Error(`event kind must be an integer from 1 to ${KIND_LIMIT - 1}, got ${kind}`);
      k = kind;
      name = `kind-${kind}`;
    }
    if (this.handlers[k] !== undefined) throw new Error(`event kind ${k} (${this.names[k]}) is already registered`);
    this.handlers[k] = handler;
    this.names[k] = name;
    return k;
  }

  /** The name a kind was registered under (for diagnostics). */
  kindName(kind: EventKind): string {
    return this.names[kind] ?? `unregistered-${kind}`;
  }

  /** Schedules an event at absolute time `at`. */
  schedule(at: SimTime, kind: EventKind, num = 0, obj: unknown = undefined): EventId {
    if (!(at >= this.now) || !Number.isSafeInteger(at)) {
      throw new Error(`schedule: time ${at} is ${at < this.now ? `before now (${this.now})` : "not an integer number of ns"}`);
    }
    if (this.handlers[kind] === undefined) throw new Error(`schedule: no handler registered for event kind ${kind}`);
    return this.queue.push(at, kind, num, obj);
  }

  /** Schedules an event `delay` ns from now. */
  scheduleIn(delay: SimTime, kind: EventKind, num = 0, obj: unknown = undefined): EventId {
    const at = this.now + delay;
    // Fast path (hot: every packet hop); anything unusual gets schedule()'s checks and messages.
    if (delay >= 0 && Number.isSafeInteger(at) && this.handlers[kind] !== undefined) return this.queue.push(at, kind, num, obj);
    return this.schedule(at, kind, num, obj);
  }

  /** Runs a closure at absolute time `at` (convenience for rare events). */
  callAt(at: SimTime, fn: (sim: Simulation) => void): EventId {
    return this.schedule(at, KIND_CALL, 0, fn);
  }

  /** Runs a closure `delay` ns from now (convenience for rare events). */
  callIn(delay: SimTime, fn: (sim: Simulation) => void): EventId {
    return this.schedule(this.now + delay, KIND_CALL, 0, fn);
  }

  /** Cancels a pending event (e.g. a retransmission timer); false if it already ran. */
  cancel(id: EventId): boolean {
    return this.queue.cancel(id);
  }

  isPending(id: EventId): boolean {
    return this.queue.isPending(id);
  }

  /** Pending events. */
  get pending(): number {
    return this.queue.size;
  }

  /** Time of the next pending event (Infinity when none). */
  peek(): SimTime {
    return this.queue.peekTime();
  }

  /** Executes the next event; false when there is none. */
  step(): boolean {
    const q = this.queue;
    if (q.peekTime() === Infinity) return false;
    const obj = q.take();
    this.now = q.time;
    this.eventsProcessed++;
    this.handlers[q.kind]!(this, q.num, obj);
    return true;
  }

  /**
   * Runs events in order until the queue is empty, stop() is called, or the next event lies
   * after `until`. With `until`, `now` ends at `until` (unless stopped early). Returns the number
   * of events executed by this call.
   */
  run(until: SimTime = MAX_SIM_TIME): number {
    if (this.running) throw new Error("run: the simulation is already running (re-entrant run)");
    if (!(until >= this.now)) throw new Error(`run: until (${until}) is before now (${this.now})`);
    this.running = true;
    this.stopped = false;
    const start = this.eventsProcessed;
    try {
      while (this.runBatch(until));
    } finally {
      this.running = false;
    }
    return this.eventsProcessed - start;
  }

  /**
   * run()'s loop body, BATCH events at a time; false when run() should return (stopped, or the
   * next event lies after `until`). A separate, frequently entered function rather than one long
   * loop: V8 optimizes a long-running loop only by on-stack replacement, and when the optimized
   * loop deoptimizes (a handler path taken for the first time late in a run), it waits in
   * baseline code for another OSR. A function entered every BATCH events is re-optimized through
   * the normal tier-up instead.
   */
  private runBatch(until: SimTime): boolean {
    const q = this.queue;
    const handlers = this.handlers;
    for (let i = 0; i < BATCH; i++) {
      if (this.stopped) return false;
      if (q.peekTime() > until) {
        if (until !== MAX_SIM_TIME) this.now = until;
        return false;
      }
      const obj = q.take();
      this.now = q.time;
      this.eventsProcessed++;
      handlers[q.kind]!(this, q.num, obj);
    }
    return true;
  }

  /** Makes run() return after the event being executed. */
  stop(): void {
    this.stopped = true;
  }
}
