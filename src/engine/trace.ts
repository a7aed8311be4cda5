/**
 * The structured trace of a run: the single source every report, chart, kubectl/iptables/
 * conntrack view and packet explanation is computed from (DESIGN.md §8).
 *
 * Records are a discriminated union on `type`; every record carries `time` (SimTime, ns).
 * Reasons and outcomes are string-literal unions, never free text, so reports can group by them
 * and the compiler catches typos. To add a record type: add an interface, add it to TraceRecord,
 * and (for summary mode) give it a row in SUMMARY_KEYS.
 *
 * Addresses are int32 bit patterns (net/ip.ts) and ports numbers, as on the packet path; names (nodes, pods, services)
 * are the strings the cluster state already holds, so emitting allocates only the record itself.
 *
 * Levels:
 * - "full": every record is kept in emission order (and indexed by type).
 * - "summary": for big runs. Low-volume records (rules.sync, pod/endpoint changes, conntrack
 *   flushes, scenario and control events, run markers) and request outcomes (one per request, which
 *   every report needs) are still kept; high-volume ones (packet.*, conntrack.new/destroy) are only
 *   counted by (type, key1, key2), see SUMMARY_KEYS, and the latencies of successful requests are
 *   kept as a compact Float64 sample for percentiles.
 * Counters are maintained at both levels, so a report can use `count*` regardless of level.
 */
import type { SimTime } from "./time.ts";

// ---- reasons and outcomes -------------------------------------------------------------------

/**
 * What finally happened to a packet: exactly one fate per packet. "in-flight": the packet was
 * still on a link or queued at a node when the run stopped (emitted once, at the end time).
 */
export type PacketFate = "delivered" | "dropped" | "rejected" | "in-flight";

export type PacketFateReason =
  // delivered
  | "socket" // handed to a listening socket / connected socket
  | "icmp-to-sender" // an ICMP error delivered to the socket that caused it
  // dropped
  | "iptables-drop" // a DROP target or a DROP chain policy
  | "no-route" // FIB lookup failed (e.g. an address nobody owns)
  | "no-endpoint-pod" // routed to a pod veth whose pod is gone
  | "node-down" // the receiving or forwarding node is stopped
  | "link-loss" // random loss on a link
  | "ct-invalid" // conntrack marked it INVALID and a rule dropped it, or the stack discarded it
  | "ct-insert-failed" // conntrack confirmation clash (the tuple was taken)
  | "nat-port-exhausted" // SNAT/MASQUERADE found no free source port
  | "no-socket-tcp-rst" // TCP to a closed port: answered with RST, the packet itself ends here
  | "no-socket-udp-icmp" // UDP to a closed port: answered with ICMP port unreachable
  | "socket-closed" // arrived for a connection the endpoint already closed
  | "ttl-exceeded"
  // rejected
  | "iptables-reject" // a REJECT target (the sender gets ICMP port unreachable / TCP RST)
  // in-flight
  | "run-ended"; // still travelling when the run stopped

/** What a client saw for one request: exactly one outcome per request. */
export type RequestOutcome = "ok" | "refused" | "reset" | "timeout" | "error";

export type RequestOutcomeReason =
  | "response" // a complete response arrived
  | "icmp-port-unreachable" // REJECT or closed UDP port: "connection refused"
  | "tcp-rst" // RST during connect (closed port) or later
  | "connect-timeout" // SYNs unanswered until the connect timeout
  | "response-timeout" // connected, but no (complete) response in time
  | "no-route" // the client's own stack had no route
  | "local-port-exhausted" // connect() found no free ephemeral port for the 4-tuple (EADDRNOTAVAIL)
  | "empty-reply" // the server closed the connection before answering (curl: (52) Empty reply from server)
  | "http-error"; // the server answered with an error status

/** Why a conntrack entry went away (mirrors netfilter/conntrack.ts CtDestroyReason; engine/ cannot import it). */
export type ConntrackDestroyReason = "timeout" | "deleted" | "rst-unreplied" | "reopened";

export type PodChange = "created" | "scheduled" | "running" | "ready" | "not-ready" | "terminating" | "deleted";
export type EndpointChange = "added" | "removed" | "ready" | "not-ready" | "terminating" | "serving";
export type SyncTrigger = "startup" | "service-change" | "endpoint-change" | "periodic" | "forced" | "manual";

// ---- records --------------------------------------------------------------------------------

interface Base {
  readonly time: SimTime;
}

export interface PacketFateRecord extends Base {
  readonly type: "packet.fate";
  readonly node: string;
  /** Flow (connection) id assigned by the traffic layer; -1 when none. */
  readonly flow: number;
  readonly packetId: number;
  readonly fate: PacketFate;
  readonly reason: PacketFateReason;
  /** Headers as the packet had them where its fate was decided. */
  readonly src: number;
  readonly dst: number;
  readonly sport: number;
  readonly dport: number;
  readonly proto: number;
  /** For iptables-drop/-reject: the chain and 1-based rule index that decided. */
  readonly chain?: string;
  readonly rule?: number;
}

/** One hook traversal of one packet (full level only; the packet explanation reads these). */
export interface PacketHookRecord extends Base {
  readonly type: "packet.hook";
  readonly node: string;
  readonly packetId: number;
  readonly table: "raw" | "mangle" | "nat" | "filter";
  readonly hook: "PREROUTING" | "INPUT" | "FORWARD" | "OUTPUT" | "POSTROUTING";
  readonly verdict: "ACCEPT" | "DROP" | "REJECT" | "DNAT" | "SNAT" | "MASQUERADE";
  /** Last chain and rule (1-based) that matched, if any. */
  readonly chain?: string;
  readonly rule?: number;
  readonly rulesEvaluated: number;
}

/** NAT applied to a connection's first packet. */
export interface PacketNatRecord extends Base {
  readonly type: "packet.nat";
  readonly node: string;
  readonly packetId: number;
  readonly flow: number;
  readonly kind: "dnat" | "snat" | "masquerade";
  /** New address and port after the rewrite. */
  readonly addr: number;
  readonly port: number;
}

export interface RequestOutcomeRecord extends Base {
  readonly type: "request.outcome";
  readonly client: string;
  readonly requestId: number;
  readonly flow: number;
  readonly outcome: RequestOutcome;
  readonly reason: RequestOutcomeReason;
  /** When the request started (time − start is the latency). */
  readonly start: SimTime;
  /** Which backend served it: the pod name (serve_hostname's reply), when known. */
  readonly servedBy?: string;
  /** Endpoint ip:port actually reached (numbers), when known. */
  readonly endpointAddr?: number;
  readonly endpointPort?: number;
  /** Target as the client addressed it (e.g. the cluster IP and port). */
  readonly targetAddr: number;
  readonly targetPort: number;
  /** Connection attempts (SYNs sent). */
  readonly attempts: number;
}

export interface ConntrackNewRecord extends Base {
  readonly type: "conntrack.new";
  readonly node: string;
  readonly id: number;
  readonly proto: number;
  readonly origSrc: number;
  readonly origDst: number;
  readonly origSport: number;
  readonly origDport: number;
  readonly replySrc: number;
  readonly replyDst: number;
  readonly replySport: number;
  readonly replyDport: number;
}

export interface ConntrackDestroyRecord extends Base {
  readonly type: "conntrack.destroy";
  readonly node: string;
  readonly id: number;
  readonly reason: ConntrackDestroyReason;
}

/** A `conntrack -D …` run by kube-proxy (or by a scenario step). */
export interface ConntrackFlushRecord extends Base {
  readonly type: "conntrack.flush";
  readonly node: string;
  /** The command line as kube-proxy would run it. */
  readonly command: string;
  readonly deleted: number;
}

export interface RulesSyncRecord extends Base {
  readonly type: "rules.sync";
  readonly node: string;
  readonly trigger: SyncTrigger;
  /** Full sync, or a partial one (MinimizeIPTablesRestore, v1.27+). */
  readonly full: boolean;
  readonly ok: boolean;
  /** Rules and chains in the installed nat+filter tables after the sync. */
  readonly rules: number;
  readonly chains: number;
  /** Lines of the iptables-restore payload. */
  readonly restoreLines: number;
}

export interface PodChangeRecord extends Base {
  readonly type: "pod.change";
  readonly pod: string;
  readonly node: string;
  readonly change: PodChange;
  /** Pod IP (int32 bits, net/ip.ts); 0 before one is assigned. */
  readonly ip: number;
}

export interface EndpointChangeRecord extends Base {
  readonly type: "endpoint.change";
  /** "namespace/name" of the Service. */
  readonly service: string;
  readonly addr: number;
  readonly port: number;
  readonly change: EndpointChange;
  /** The node whose kube-proxy observed it; absent for the control plane's view. */
  readonly node?: string;
}

/** Which part of Kubernetes (or the machine) a control.event comes from. */
export type ControlComponent = "kubelet" | "container" | "node" | "node-lifecycle-controller";

/**
 * A control-plane happening without a record type of its own: probe results, signals, container
 * exits and restarts, sandbox set-up/teardown, node NotReady, evictions (control/events.ts lists
 * the actions). `detail` holds further `key=value` pairs (values without spaces).
 */
export interface ControlEventRecord extends Base {
  readonly type: "control.event";
  readonly component: ControlComponent;
  /** e.g. "probe", "sigterm", "container-exited", "network-gone", "node-not-ready". */
  readonly action: string;
  /** "namespace/name" of the pod concerned, when one is. */
  readonly pod?: string;
  readonly node?: string;
  readonly detail: string;
}

/** A scenario timeline step ("scale hostnames to 5", "delete pod …"). */
export interface ScenarioEventRecord extends Base {
  readonly type: "scenario.event";
  readonly action: string;
  readonly detail: string;
}

export interface RunMarkRecord extends Base {
  readonly type: "run.mark";
  readonly mark: "start" | "warmup-end" | "end";
}

export type TraceRecord =
  | PacketFateRecord
  | PacketHookRecord
  | PacketNatRecord
  | RequestOutcomeRecord
  | ConntrackNewRecord
  | ConntrackDestroyRecord
  | ConntrackFlushRecord
  | RulesSyncRecord
  | PodChangeRecord
  | EndpointChangeRecord
  | ScenarioEventRecord
  | ControlEventRecord
  | RunMarkRecord;

export type TraceType = TraceRecord["type"];
export type RecordOf<T extends TraceType> = Extract<TraceRecord, { type: T }>;

export type TraceLevel = "full" | "summary";

/**
 * Per type: is it high-volume (dropped at summary level), and the two keys it is counted by.
 * Keys are fields already present on the record (no string building per emit).
 */
type KeyFn = (r: never) => string | number | undefined;
const SUMMARY_KEYS: { readonly [T in TraceType]: { readonly volume: boolean; readonly k1: (r: RecordOf<T>) => string | number | undefined; readonly k2: (r: RecordOf<T>) => string | number | undefined } } = {
  "packet.fate": { volume: true, k1: (r) => r.fate, k2: (r) => r.reason },
  "packet.hook": { volume: true, k1: (r) => r.verdict, k2: (r) => r.table },
  "packet.nat": { volume: true, k1: (r) => r.kind, k2: (r) => r.node },
  "request.outcome": { volume: false, k1: (r) => r.outcome, k2: (r) => r.servedBy ?? r.reason },
  "conntrack.new": { volume: true, k1: (r) => r.node, k2: () => undefined },
  "conntrack.destroy": { volume: true, k1: (r) => r.reason, k2: (r) => r.node },
  "conntrack.flush": { volume: false, k1: (r) => r.node, k2: () => undefined },
  "rules.sync": { volume: false, k1: (r) => r.node, k2: (r) => r.trigger },
  "pod.change": { volume: false, k1: (r) => r.change, k2: () => undefined },
  "endpoint.change": { volume: false, k1: (r) => r.change, k2: (r) => r.service },
  "scenario.event": { volume: false, k1: (r) => r.action, k2: () => undefined },
  "control.event": { volume: false, k1: (r) => r.action, k2: (r) => r.component },
  "run.mark": { volume: false, k1: (r) => r.mark, k2: () => undefined },
};

export interface TraceOptions {
  level?: TraceLevel;
  /** Further restrict which types are stored (counters still see everything). */
  keep?: (type: TraceType) => boolean;
}

/** One counter of (type, k1, k2). */
interface Cell {
  n: number;
}
type Count2 = Map<string | number | undefined, Map<string | number | undefined, Cell>>;
type TypeCounts = { total: number; by: Count2 };

/**
 * A caller's handle on one counter (type, k1, k2), for tallies on a hot path (tallyWith): bound
 * to the counter at its first use, so a key never used never shows in the counters.
 */
export class TallyHandle {
  /** @internal */ cell: Cell | null = null;
  /** @internal */ top: TypeCounts | null = null;
  /** @internal The trace the handle is bound to (a handle used with another trace binds anew). */
  owner: Trace | null = null;
  constructor(
    readonly type: TraceType,
    readonly k1: string | number | undefined,
    readonly k2: string | number | undefined,
  ) {}
}

export type TraceListener = (rec: TraceRecord) => void;

export class Trace {
  readonly level: TraceLevel;
  private readonly keepFn: ((type: TraceType) => boolean) | undefined;
  private readonly all: TraceRecord[] = [];
  private readonly byType = new Map<TraceType, TraceRecord[]>();
  private readonly counts = new Map<TraceType, TypeCounts>();
  private readonly listeners: TraceListener[] = [];
  /** Changes whenever a listener subscribes or leaves (what wants() answers may change then). */
  listenerVersion = 0;
  private latencies = new Float64Array(1024);
  private latencyN = 0;
  private lastTime = 0;

  constructor(opts: TraceOptions = {}) {
    this.level = opts.level ?? "full";
    this.keepFn = opts.keep;
  }

  /** Whether records of this type are stored (callers may skip building them otherwise). */
  stores(type: TraceType): boolean {
    if (this.level === "summary" && SUMMARY_KEYS[type].volume) return false;
    return this.keepFn ? this.keepFn(type) : true;
  }

  /**
   * Whether an emit of this type needs the record itself (it is stored, or someone listens).
   * When false, a hot path may call tally() with the record's two summary keys instead of
   * building it: counters come out the same.
   */
  wants(type: TraceType): boolean {
    return this.listeners.length > 0 || this.stores(type);
  }

  /**
   * Counts one record of `type` with summary keys k1, k2 (those SUMMARY_KEYS would take from it)
   * without building it. Only for types wants() is false for; not for request.outcome (latencies).
   */
  tally(type: TraceType, time: SimTime, k1: string | number | undefined, k2: string | number | undefined): void {
    if (time < this.lastTime) throw new Error(`trace: ${type} at ${time} is before the previous record (${this.lastTime})`);
    this.lastTime = time;
    const c = this.typeCounts(type);
    c.total++;
    this.cellOf(c, k1, k2).n++;
  }

  /**
   * tally(h.type, time, h.k1, h.k2), without looking the counter up again after the first time
   * (the datapath keeps one handle per packet fate reason).
   */
  tallyWith(h: TallyHandle, time: SimTime): void {
    if (time < this.lastTime) throw new Error(`trace: ${h.type} at ${time} is before the previous record (${this.lastTime})`);
    this.lastTime = time;
    let cell = h.cell;
    if (cell === null || h.top === null || h.owner !== this) {
      h.owner = this;
      h.top = this.typeCounts(h.type);
      cell = h.cell = this.cellOf(h.top, h.k1, h.k2);
    }
    h.top!.total++;
    cell.n++;
  }

  private typeCounts(type: TraceType): TypeCounts {
    let c = this.counts.get(type);
    if (!c) {
      c = { total: 0, by: new Map() };
      this.counts.set(type, c);
    }
    return c;
  }

  private cellOf(c: TypeCounts, k1: string | number | undefined, k2: string | number | undefined): Cell {
    let inner = c.by.get(k1);
    if (!inner) {
      inner = new Map();
      c.by.set(k1, inner);
    }
    let cell = inner.get(k2);
    if (!cell) {
      cell = { n: 0 };
      inner.set(k2, cell);
    }
    return cell;
  }

  /** Records one event. Times must not go backwards (the trace is in simulation order). */
  emit(rec: TraceRecord): void {
    if (rec.time < this.lastTime) throw new Error(`trace: ${rec.type} at ${rec.time} is before the previous record (${this.lastTime})`);
    this.lastTime = rec.time;
    const type = rec.type;
    const keys = SUMMARY_KEYS[type] as { volume: boolean; k1: KeyFn; k2: KeyFn };
    const c = this.typeCounts(type);
    c.total++;
    this.cellOf(c, keys.k1(rec as never), keys.k2(rec as never)).n++;
    if (type === "request.outcome" && rec.outcome === "ok") this.pushLatency(rec.time - rec.start);
    if (this.stores(type)) {
      this.all.push(rec);
      let list = this.byType.get(type);
      if (!list) {
        list = [];
        this.byType.set(type, list);
      }
      list.push(rec);
    }
    for (let i = 0; i < this.listeners.length; i++) this.listeners[i]!(rec);
  }

  private pushLatency(v: number): void {
    if (this.latencyN === this.latencies.length) {
      const b = new Float64Array(this.latencies.length * 2);
      b.set(this.latencies);
      this.latencies = b;
    }
    this.latencies[this.latencyN++] = v;
  }

  /** Live observer (e.g. a progress display); called after the record is stored. */
  subscribe(listener: TraceListener): () => void {
    this.listeners.push(listener);
    this.listenerVersion++;
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
      this.listenerVersion++;
    };
  }

  /** Stored records in emission order. */
  records(): readonly TraceRecord[] {
    return this.all;
  }

  /** Stored records of one type, in emission order, typed. */
  ofType<T extends TraceType>(type: T): readonly RecordOf<T>[] {
    return (this.byType.get(type) ?? []) as RecordOf<T>[];
  }

  /** Stored records matching a predicate (convenience for reports; not for hot paths). */
  filter<T extends TraceType>(type: T, pred: (r: RecordOf<T>) => boolean): RecordOf<T>[] {
    return this.ofType(type).filter(pred);
  }

  /** Records of this type emitted (stored or not). */
  count(type: TraceType): number {
    return this.counts.get(type)?.total ?? 0;
  }

  /**
   * Emitted records of a type with the given first (and optionally second) summary key, e.g.
   * countBy("packet.fate", "dropped", "no-route") or countBy("request.outcome", "ok").
   */
  countBy(type: TraceType, k1: string | number | undefined, k2?: string | number): number {
    const inner = this.counts.get(type)?.by.get(k1);
    if (!inner) return 0;
    if (k2 !== undefined) return inner.get(k2)?.n ?? 0;
    let n = 0;
    for (const v of inner.values()) n += v.n;
    return n;
  }

  /**
   * All counters of a type as sorted rows [k1, k2, count] (canonical order for reports:
   * keys compared as strings).
   */
  counters(type: TraceType): Array<[string | number | undefined, string | number | undefined, number]> {
    const out: Array<[string | number | undefined, string | number | undefined, number]> = [];
    const by = this.counts.get(type)?.by;
    if (!by) return out;
    for (const [k1, inner] of by) for (const [k2, cell] of inner) out.push([k1, k2, cell.n]);
    const key = (v: string | number | undefined) => (v === undefined ? "" : String(v));
    out.sort((a, b) => (key(a[0]) < key(b[0]) ? -1 : key(a[0]) > key(b[0]) ? 1 : key(a[1]) < key(b[1]) ? -1 : key(a[1]) > key(b[1]) ? 1 : 0));
    return out;
  }

  /** Latencies (time − start, ns) of the successful ("ok") request outcomes, in emission order, at both levels. */
  requestLatencies(): Float64Array {
    return this.latencies.subarray(0, this.latencyN);
  }
}
