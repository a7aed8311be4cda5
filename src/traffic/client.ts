/**
 * curl-like HTTP clients. A client lives in one host (a node's host network, a pod, or an
 * external machine) and sends GET requests to one target address:port.
 *
 * Load models:
 * - count (closed loop): `requests` in total, `concurrency` at a time (default 1), the next one
 *   starting as soon as one finishes — like `for i in …; do curl …; done` with N shells;
 * - closed loop for a time: as above until `durationNs` after `startNs`;
 * - open loop: Poisson arrivals at `rate` per second (exponential gaps drawn from the client's
 *   own stream `client/<name>`), until `requests` were sent or `durationNs` elapsed.
 * Keep-alive off: one connection per request, closed by the client after the response (curl
 * exits). Keep-alive on: connections are reused (the closed-loop worker keeps its connection; the
 * open loop keeps an idle pool, most recently used first), up to `requestsPerConnection`.
 *
 * Timeouts have curl's semantics: --connect-timeout bounds the handshake, --max-time the whole
 * request (connect included) — on expiry the request fails and the socket is closed.
 *
 * Every request ends in exactly one outcome (RequestRecord), emitted to the trace as a
 * request.outcome record as well.
 */
import type { Simulation } from "../engine/sim.ts";
import type { SimTime } from "../engine/time.ts";
import { SECOND } from "../engine/time.ts";
import type { Stream } from "../engine/rng.ts";
import type { RequestOutcome, RequestOutcomeReason, Trace } from "../engine/trace.ts";
import { endpointKeyAddr, endpointKeyPort } from "../net/ip.ts";
import { ESTABLISHED, type Conn, type ConnFailure, type ConnOwner, type TcpHost } from "./tcp.ts";
import type { ConnectionRecord, RequestMeta, RequestOutcomeKind, RequestRecord, ResponseMeta } from "./types.ts";

export interface ClientConfig {
  readonly name: string;
  readonly host: TcpHost;
  readonly targetAddr: number;
  readonly targetPort: number;
  /** Host header text (the name or address as written). */
  readonly hostHeader: string;
  readonly path: string;
  readonly requests?: number;
  /** Open loop, requests per second. */
  readonly rate?: number;
  readonly concurrency?: number;
  readonly keepAlive: boolean;
  readonly requestsPerConnection?: number;
  readonly connectTimeoutNs: SimTime;
  readonly requestTimeoutNs: SimTime;
  readonly startNs: SimTime;
  readonly durationNs?: SimTime;
  /** The client's random stream (open-loop arrivals). */
  readonly rng: Stream;
}

/** What the runtime drives: a client of any protocol (HTTP over TCP here, UDP queries in udp.ts). */
export interface RuntimeClient {
  readonly name: string;
  readonly isDone: boolean;
  /** At the client's start time. */
  begin(): void;
  /** An open-loop arrival the client scheduled with kArrival. */
  arrival(): void;
}

/** Shared by all clients of a run: event kinds, ids, the records. */
export class ClientRuntime {
  readonly sim: Simulation;
  readonly trace: Trace | undefined;
  readonly requests: RequestRecord[] = [];
  readonly connections: ConnectionRecord[] = [];
  readonly kStart: number;
  readonly kArrival: number;
  readonly kMaxTime: number;
  private nextRequestId = 1;
  private readonly clients: RuntimeClient[] = [];
  private doneCount = 0;
  /** Called whenever a client finishes (all its requests have an outcome). */
  onClientDone: (() => void) | undefined;
  /**
   * The endpoint (net/ip.ts endpointKey) a connection was DNATed to, when the network knows it (set by
   * the run core): names the endpoint of requests that failed without an answer. −1 when unknown.
   */
  endpointOf: ((flow: number) => number) | undefined;

  constructor(sim: Simulation, trace?: Trace) {
    this.sim = sim;
    this.trace = trace;
    this.kStart = sim.register("client.start", (_s, _n, obj) => (obj as RuntimeClient).begin());
    this.kArrival = sim.register("client.arrival", (_s, _n, obj) => (obj as RuntimeClient).arrival());
    this.kMaxTime = sim.register("client.max-time", (_s, _n, obj) => {
      const r = obj as Req;
      r.client.maxTime(r);
    });
  }

  add(cfg: ClientConfig): Client {
    const c = new Client(this, cfg);
    this.register(c, cfg.startNs);
    return c;
  }

  /** Counts a client towards allDone and starts it at `startNs` (udp.ts's UdpClient calls this). */
  register(c: RuntimeClient, startNs: SimTime): void {
    this.clients.push(c);
    this.sim.schedule(Math.max(startNs, this.sim.now), this.kStart, 0, c);
  }

  newRequestId(): number {
    return this.nextRequestId++;
  }

  get allDone(): boolean {
    return this.doneCount === this.clients.length;
  }

  clientDone(): void {
    this.doneCount++;
    this.onClientDone?.();
  }
}

class Req {
  readonly id: number;
  readonly seq: number;
  readonly client: Client;
  readonly start: SimTime;
  conn: Conn | null = null;
  rec: ConnectionRecord | null = null;
  reused = false;
  timer = 0;
  constructor(id: number, seq: number, client: Client, start: SimTime) {
    this.id = id;
    this.seq = seq;
    this.client = client;
    this.start = start;
  }
}

const REQ_TEXT_OVERHEAD = "GET  HTTP/1.1\r\nHost: \r\nUser-Agent: curl/7.58.0\r\nAccept: */*\r\n\r\n".length;

/** What the arrival logic needs from a client's configuration (TCP and UDP clients alike). */
export interface LoadShape {
  readonly name: string;
  readonly requests?: number;
  readonly rate?: number;
  readonly concurrency?: number;
  readonly durationNs?: SimTime;
  readonly rng: { exponential(mean: number): number };
}

/**
 * The arrival logic shared by every client: a closed loop of `concurrency` workers, or an open
 * loop of Poisson arrivals at `rate`, bounded by a request count and/or a duration.
 * Subclasses issue one request (issueNew) and release what they hold when done (finish).
 */
export abstract class LoadGenerator implements RuntimeClient {
  protected readonly limit: number;
  protected deadline: SimTime = Infinity;
  protected sent = 0;
  protected inFlight = 0;
  protected arrivalsOver = false;
  protected done = false;
  /**
   * Closed loop: successors of requests that finished while a request was starting (a connect
   * that fails at once: no free local port), started by the loop in startNext rather than from
   * inside the one starting — thousands of such failures in a row are a loop, not a recursion
   * as deep as the run.
   */
  protected queued = 0;
  private starting = false;

  constructor(protected readonly rt: ClientRuntime, private readonly shape: LoadShape) {
    this.limit = shape.requests ?? (shape.durationNs === undefined ? 1 : Infinity);
  }

  get name(): string {
    return this.shape.name;
  }

  get isDone(): boolean {
    return this.done;
  }

  /** Starts one new request (the closed loop's workers and the open loop's arrivals). */
  protected abstract issueNew(): void;

  /**
   * The closed loop's next request after one finished: issueNew() — or, when a request is
   * starting right now (this one finished inside it), queued for the loop below. Requests start
   * and finish in the same order either way.
   */
  protected startNext(): void {
    if (this.starting) {
      this.queued++;
      return;
    }
    this.starting = true;
    try {
      this.issueNew();
      while (this.queued > 0) {
        this.queued--;
        this.issueNew();
      }
    } finally {
      this.starting = false;
    }
  }

  /** Called once when the client has finished: close what is still open. */
  protected abstract onDone(): void;

  protected moreToSend(): boolean {
    return this.sent < this.limit && this.rt.sim.now < this.deadline;
  }

  begin(): void {
    if (this.shape.durationNs !== undefined) this.deadline = this.rt.sim.now + this.shape.durationNs;
    if (this.shape.rate !== undefined) this.scheduleArrival();
    else {
      const n = this.shape.concurrency ?? 1;
      for (let i = 0; i < n && this.moreToSend(); i++) this.issueNew();
      this.arrivalsOver = true;
    }
    this.checkDone();
  }

  private scheduleArrival(): void {
    const gap = Math.max(1, Math.round(this.shape.rng.exponential(SECOND / this.shape.rate!)));
    const at = this.rt.sim.now + gap;
    if (this.sent >= this.limit || at >= this.deadline) {
      this.arrivalsOver = true;
      return;
    }
    this.rt.sim.schedule(at, this.rt.kArrival, 0, this);
  }

  arrival(): void {
    this.issueNew();
    this.scheduleArrival();
    this.checkDone();
  }

  protected checkDone(): void {
    if (this.done || this.inFlight > 0 || this.queued > 0) return;
    if (!this.arrivalsOver && this.moreToSend()) return;
    if (this.shape.rate !== undefined && !this.arrivalsOver) return;
    this.done = true;
    this.onDone();
    this.rt.clientDone();
  }
}

export class Client extends LoadGenerator implements ConnOwner {
  readonly cfg: ClientConfig;
  private readonly reqLen: number;
  /** Keep-alive: idle established connections (most recently used last). */
  private readonly idle: Conn[] = [];
  finished = 0;

  constructor(rt: ClientRuntime, cfg: ClientConfig) {
    super(rt, cfg);
    this.cfg = cfg;
    this.reqLen = REQ_TEXT_OVERHEAD + cfg.path.length + cfg.hostHeader.length;
  }

  protected issueNew(): void {
    this.issue(null);
  }

  protected onDone(): void {
    // Close idle keep-alive connections (curl exits).
    while (this.idle.length > 0) this.closeConn(this.idle.pop()!);
  }

  /** Starts one request, on `reuse` when given, else on an idle keep-alive connection or a new one. */
  private issue(reuse: Conn | null): void {
    const rt = this.rt;
    const sim = rt.sim;
    const req = new Req(rt.newRequestId(), this.sent, this, sim.now);
    this.sent++;
    this.inFlight++;
    if (this.cfg.requestTimeoutNs > 0) req.timer = sim.scheduleIn(this.cfg.requestTimeoutNs, rt.kMaxTime, 0, req);
    let conn = reuse;
    if (conn === null && this.cfg.keepAlive) conn = this.idle.pop() ?? null;
    if (conn !== null) {
      req.conn = conn;
      req.rec = recOf(conn)!;
      req.reused = true;
      conn.user = req;
      this.send(conn, req);
      return;
    }
    const c = this.cfg.host.connect(this.cfg.targetAddr, this.cfg.targetPort, this, this.cfg.connectTimeoutNs);
    if (c === null) {
      this.finish(req, "no-local-port", undefined, null);
      return;
    }
    const rec: ConnectionRecord = {
      id: c.flow, client: this.cfg.name, localAddr: this.cfg.host.addr, localPort: c.localPort,
      targetAddr: this.cfg.targetAddr, targetPort: this.cfg.targetPort, opened: sim.now, established: -1, closed: -1,
      synsSent: 0, requests: 0, end: "open", servedBy: "", endpointAddr: 0, endpointPort: 0, seenSrc: 0, seenSport: 0,
    };
    rt.connections.push(rec);
    c.ownerData = rec; // the connection's record and request count, while the socket lives
    req.conn = c;
    req.rec = rec;
    c.user = req;
  }

  private send(conn: Conn, req: Req): void {
    req.rec!.requests++;
    const meta: RequestMeta = { kind: "request", id: req.id, method: "GET", path: this.cfg.path, host: this.cfg.hostHeader };
    conn.sendRequest(meta, this.reqLen);
  }

  onEstablished(c: Conn): void {
    const rec = recOf(c)!;
    rec.established = this.rt.sim.now;
    rec.synsSent = c.synsSent;
    const req = c.user as Req | undefined;
    if (req !== undefined) this.send(c, req);
  }

  onResponse(c: Conn, resp: ResponseMeta): void {
    const req = c.user as Req | undefined;
    if (req === undefined || req.id !== resp.requestId) return; // a late answer to an abandoned request
    c.user = undefined;
    const rec = recOf(c)!;
    rec.servedBy = resp.servedBy;
    rec.endpointAddr = resp.endpointAddr;
    rec.endpointPort = resp.endpointPort;
    rec.seenSrc = resp.seenSrc;
    rec.seenSport = resp.seenSport;
    // Decide the connection's future before the next request is issued.
    const perConn = this.cfg.requestsPerConnection ?? Infinity;
    const reusable = this.cfg.keepAlive && rec.requests < perConn && resp.close !== true;
    let next: Conn | null = null;
    if (!reusable) this.closeConn(c);
    else if (this.cfg.rate === undefined && this.moreToSend()) next = c; // the closed-loop worker keeps it
    else this.idle.push(c);
    this.finish(req, "ok", resp, next);
  }

  onFailure(c: Conn, why: ConnFailure): void {
    const rec = recOf(c);
    if (rec !== undefined) {
      rec.synsSent = c.synsSent;
      rec.end = why;
      if (rec.closed < 0) rec.closed = this.rt.sim.now;
    }
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    const req = c.user as Req | undefined;
    c.user = undefined;
    if (req !== undefined) this.finish(req, why, undefined, null, c.failedBy);
    else this.checkDone();
  }

  onClosed(c: Conn): void {
    c.ownerData = undefined;
  }

  /** The server closed the connection: never reuse it; a request waiting on it got an empty reply. */
  onPeerClosed(c: Conn): void {
    const rec = recOf(c);
    if (rec !== undefined && rec.closed < 0) {
      rec.closed = this.rt.sim.now;
      if (rec.end === "open") rec.end = "closed";
    }
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    const req = c.user as Req | undefined;
    c.user = undefined;
    if (req !== undefined) this.finish(req, "reset", undefined, null, "empty-reply");
  }

  maxTime(req: Req): void {
    req.timer = 0;
    const c = req.conn;
    if (c !== null) {
      c.user = undefined;
      const rec = recOf(c);
      if (rec !== undefined) {
        rec.synsSent = c.synsSent;
        if (c.state !== ESTABLISHED && rec.established < 0) rec.end = "aborted";
      }
      this.closeConn(c);
    }
    this.finish(req, "timeout-request", undefined, null);
  }

  private closeConn(c: Conn): void {
    const rec = recOf(c);
    if (rec !== undefined && rec.closed < 0) {
      rec.closed = this.rt.sim.now;
      if (rec.end === "open") rec.end = "closed";
    }
    c.close();
  }

  private finish(req: Req, outcome: RequestOutcomeKind, resp: ResponseMeta | undefined, next: Conn | null, failedBy?: string): void {
    const rt = this.rt;
    const now = rt.sim.now;
    if (req.timer) {
      rt.sim.cancel(req.timer);
      req.timer = 0;
    }
    const conn = req.conn;
    let epAddr = resp?.endpointAddr ?? 0;
    let epPort = resp?.endpointPort ?? 0;
    if (resp === undefined && conn !== null && rt.endpointOf !== undefined) {
      const k = rt.endpointOf(conn.flow);
      if (k >= 0) {
        epAddr = endpointKeyAddr(k);
        epPort = endpointKeyPort(k);
      }
    }
    const r: RequestRecord = {
      id: req.id,
      client: this.cfg.name,
      seq: req.seq,
      start: req.start,
      end: now,
      outcome,
      connection: conn === null ? -1 : conn.flow,
      reused: req.reused,
      attempts: req.reused || conn === null ? 0 : conn.synsSent,
      targetAddr: this.cfg.targetAddr,
      targetPort: this.cfg.targetPort,
      servedBy: resp?.servedBy ?? "",
      endpointAddr: epAddr,
      endpointPort: epPort,
      seenSrc: resp?.seenSrc ?? 0,
      seenSport: resp?.seenSport ?? 0,
      body: resp?.body ?? "",
    };
    rt.requests.push(r);
    if (rt.trace !== undefined) {
      const [o, reason] = traceOutcome(outcome, failedBy);
      // Literals rather than conditional spreads (one per request); the keys keep the same order.
      const c = this.cfg;
      rt.trace.emit(
        resp !== undefined
          ? epAddr !== 0
            ? { type: "request.outcome", time: now, client: c.name, requestId: req.id, flow: r.connection, outcome: o, reason, start: req.start, servedBy: resp.servedBy, endpointAddr: epAddr, endpointPort: epPort, targetAddr: c.targetAddr, targetPort: c.targetPort, attempts: r.attempts }
            : { type: "request.outcome", time: now, client: c.name, requestId: req.id, flow: r.connection, outcome: o, reason, start: req.start, servedBy: resp.servedBy, targetAddr: c.targetAddr, targetPort: c.targetPort, attempts: r.attempts }
          : epAddr !== 0
            ? { type: "request.outcome", time: now, client: c.name, requestId: req.id, flow: r.connection, outcome: o, reason, start: req.start, endpointAddr: epAddr, endpointPort: epPort, targetAddr: c.targetAddr, targetPort: c.targetPort, attempts: r.attempts }
            : { type: "request.outcome", time: now, client: c.name, requestId: req.id, flow: r.connection, outcome: o, reason, start: req.start, targetAddr: c.targetAddr, targetPort: c.targetPort, attempts: r.attempts },
      );
    }
    this.inFlight--;
    this.finished++;
    if (this.cfg.rate === undefined && this.moreToSend()) {
      if (next !== null) this.issue(next); // (a kept connection: the request goes out asynchronously)
      else this.startNext();
    } else if (next !== null) this.idle.push(next);
    this.checkDone();
  }

}

/** A client connection's record (kept on the socket while it lives; see issue()). */
function recOf(c: Conn): ConnectionRecord | undefined {
  return c.ownerData as ConnectionRecord | undefined;
}

/** The trace's (outcome, reason) for a request outcome. */
const OK_OUTCOME: readonly [RequestOutcome, RequestOutcomeReason] = Object.freeze(["ok", "response"] as const);

export function traceOutcome(o: RequestOutcomeKind, failedBy?: string): readonly [RequestOutcome, RequestOutcomeReason] {
  switch (o) {
    case "ok": return OK_OUTCOME; // one shared pair: the common case allocates nothing
    case "refused": return ["refused", failedBy === "tcp-rst" ? "tcp-rst" : "icmp-port-unreachable"];
    case "reset": return ["reset", failedBy === "empty-reply" ? "empty-reply" : "tcp-rst"];
    case "timeout-connect": return ["timeout", "connect-timeout"];
    case "timeout-request": return ["timeout", "response-timeout"];
    // EADDRNOTAVAIL: the client's own stack failing.
    case "no-local-port": return ["error", "local-port-exhausted"];
  }
}
