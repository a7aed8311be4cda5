/**
 * UDP: per-host datagram sockets, a hostname/echo server over UDP and a query client (one
 * datagram out, one back, like a DNS lookup or `echo x | nc -u -w1`).
 *
 * Modelled (Linux):
 * - Sockets bound to a port; a datagram for a port nobody holds is answered with ICMP port
 *   unreachable (icmp_send from __udp4_lib_rcv). A client's socket is connected (connect(2) on a
 *   UDP socket), so that ICMP error is reported to it as ECONNREFUSED — the query fails at once.
 * - Ephemeral ports from ip_local_port_range 32768–60999, walked from a seeded offset.
 * - No retransmission: a query whose answer does not come within the client's timeout fails
 *   (outcome "timeout-request"), as `dig +tries=1` or nc -w does.
 * - Source-port reuse: `reusePort` keeps one socket (one source port) for every query — the same
 *   5-tuple each time, so the node's conntrack keeps the first DNAT choice for as long as the
 *   entry lives (30 s unreplied, 120 s once replied: nf_conntrack_udp_timeout[_stream]) and every
 *   query reaches the same endpoint, even one that was removed meanwhile (a stale entry) unless
 *   kube-proxy's `conntrack -D` cleanup removes it. Without it, each query gets a fresh socket.
 * Server apps over UDP (containers whose port has protocol UDP):
 * - serve_hostname (k8s serve_hostname with --udp): answers each datagram with the pod name;
 * - http-echo: answers with what it saw, "<text>\n<src>:<sport>" (its HTTP form's UDP analogue).
 *
 * Records: every query ends in one RequestRecord (ClientRuntime.requests, request.outcome trace
 * record); every client socket is one ConnectionRecord (its flow id is the socket's), so reports
 * count a reused socket as one "connection".
 * Not modelled: socket buffers and drops on overflow, SO_REUSEPORT groups, fragmentation, the
 * ICMP rate limit (net.ipv4.icmp_ratelimit), unconnected sockets that ignore ICMP errors.
 */
import type { Simulation } from "../engine/sim.ts";
import type { SimTime } from "../engine/time.ts";
import type { Stream } from "../engine/rng.ts";
import { formatIPv4 } from "../net/ip.ts";
import type { Packet } from "../net/packet.ts";
import { ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, PROTO_ICMP, PROTO_UDP } from "../net/packet.ts";
import { RECV_CLOSED, RECV_ICMP, RECV_SOCKET, type RecvCode, type SocketReceiver, type Wire } from "../datapath/wire.ts";
import { drawServiceTime, type AppKind, type ServiceTimeSpec } from "./apps.ts";
import type { ClientConfig, ClientRuntime } from "./client.ts";
import { LoadGenerator, traceOutcome } from "./client.ts";
import { EPHEMERAL_HI, EPHEMERAL_LO } from "./tcp.ts";
import type { ConnectionRecord, RequestMeta, RequestOutcomeKind, RequestRecord, ResponseMeta } from "./types.ts";

/** IPv4 (20) + UDP (8) header bytes. */
export const UDP_HDR = 28;

/** What a bound socket's owner receives. */
export interface UdpHandler {
  onDatagram(sock: UdpSocket, pkt: Packet, flow: number, meta: unknown): void;
  /** An ICMP error about a datagram this socket sent (ECONNREFUSED on a connected socket). */
  onIcmpError(sock: UdpSocket): void;
}

export class UdpSocket {
  /** Flow id of the datagrams this socket sends (one per client socket; -1 for servers). */
  flow = -1;
  constructor(readonly host: UdpHost, readonly port: number, readonly handler: UdpHandler) {}

  sendTo(dst: number, dport: number, payloadLen: number, meta: unknown, flow = this.flow): void {
    const h = this.host;
    const pkt: Packet = { src: h.addr, dst, sport: this.port, dport, proto: PROTO_UDP, flags: 0, len: UDP_HDR + payloadLen };
    h.wire.send(h.hostId, pkt, flow, meta);
  }

  close(): void {
    this.host.unbind(this.port, this);
  }
}

const NO_SOCKETS: ReadonlyMap<number, UdpSocket> & Map<number, UdpSocket> = new Map();

/** One network namespace's UDP sockets. */
export class UdpHost implements SocketReceiver {
  /** Bound sockets by port; a shared empty map until the first bind (most pods never bind UDP). */
  private sockets: Map<number, UdpSocket> = NO_SOCKETS;
  /** Next ephemeral port to try; drawn from the host's port stream on first use (−1 before). */
  private nextPort = -1;
  constructor(
    readonly wire: Wire,
    readonly hostId: number,
    readonly name: string,
    readonly addr: number,
    private readonly portStream: Stream,
  ) {}

  bind(port: number, handler: UdpHandler): UdpSocket {
    if (this.sockets.has(port)) throw new Error(`${this.name}: UDP port ${port} is already bound`);
    const s = new UdpSocket(this, port, handler);
    if (this.sockets === NO_SOCKETS) this.sockets = new Map();
    this.sockets.set(port, s);
    return s;
  }

  /** A socket on a free ephemeral port; null when every port is taken (EADDRNOTAVAIL). */
  bindEphemeral(handler: UdpHandler): UdpSocket | null {
    const n = EPHEMERAL_HI - EPHEMERAL_LO + 1;
    if (this.nextPort < 0) this.nextPort = this.portStream.int(EPHEMERAL_LO, EPHEMERAL_HI);
    for (let i = 0; i < n; i++) {
      const p = this.nextPort;
      this.nextPort = p === EPHEMERAL_HI ? EPHEMERAL_LO : p + 1;
      if (!this.sockets.has(p)) return this.bind(p, handler);
    }
    return null;
  }

  unbind(port: number, s: UdpSocket): void {
    if (this.sockets.get(port) === s) this.sockets.delete(port);
  }

  hasSocket(port: number): boolean {
    return this.sockets.has(port);
  }

  receive(pkt: Packet, flow: number, meta: unknown): RecvCode {
    if (pkt.proto === PROTO_UDP) {
      const s = this.sockets.get(pkt.dport);
      if (s !== undefined) {
        s.handler.onDatagram(s, pkt, flow, meta);
        return RECV_SOCKET;
      }
      // No socket: ICMP port unreachable back to the sender, embedding the datagram's tuple.
      const icmp: Packet = {
        src: this.addr, dst: pkt.src, sport: 0, dport: 0, proto: PROTO_ICMP, flags: 0, len: Math.min(576, 28 + pkt.len),
        icmp: { type: ICMP_DEST_UNREACH, code: ICMP_PORT_UNREACH, inner: { src: pkt.src, dst: pkt.dst, sport: pkt.sport, dport: pkt.dport, proto: PROTO_UDP } },
      };
      this.wire.send(this.hostId, icmp, flow, undefined);
      return RECV_CLOSED;
    }
    if (pkt.proto === PROTO_ICMP && pkt.icmp !== undefined && pkt.icmp.inner.proto === PROTO_UDP && pkt.icmp.inner.src === this.addr) {
      const s = this.sockets.get(pkt.icmp.inner.sport);
      if (s === undefined) return RECV_CLOSED;
      s.handler.onIcmpError(s);
      return RECV_ICMP;
    }
    return RECV_CLOSED;
  }
}

/** A host's socket layer: UDP datagrams and ICMP errors about UDP go to `udp`, the rest to `tcp`. */
export class HostStack implements SocketReceiver {
  private udpHost: UdpHost | null;
  /**
   * `udp` may be a function making the namespace's UdpHost: it is called on the first UDP packet
   * (most pods never see one; 100,000 of them at 10,000 Services).
   */
  constructor(readonly tcp: SocketReceiver, private readonly udp: UdpHost | (() => UdpHost)) {
    this.udpHost = typeof udp === "function" ? null : udp;
  }
  receive(pkt: Packet, flow: number, meta: unknown): RecvCode {
    if (pkt.proto === PROTO_UDP || (pkt.proto === PROTO_ICMP && pkt.icmp !== undefined && pkt.icmp.inner.proto === PROTO_UDP)) {
      return (this.udpHost ??= (this.udp as () => UdpHost)()).receive(pkt, flow, meta);
    }
    return this.tcp.receive(pkt, flow, meta);
  }
}

// ---- server --------------------------------------------------------------------------------

/** Shared by all UDP apps of a run: the respond event kind. */
export class UdpAppRuntime {
  readonly kRespond: number;
  constructor(readonly sim: Simulation) {
    this.kRespond = sim.register("udp-app.respond", (_s, _n, obj) => {
      const p = obj as PendingReply;
      p.app.reply(p);
    });
  }
}

interface PendingReply {
  readonly app: UdpServerApp;
  readonly sock: UdpSocket;
  readonly to: number;
  readonly toPort: number;
  readonly req: RequestMeta;
}

/** One app instance in one pod answering datagrams on its UDP ports. */
export class UdpServerApp implements UdpHandler {
  constructor(
    private readonly rt: UdpAppRuntime,
    readonly kind: AppKind,
    readonly pod: string,
    readonly podAddr: number,
    private readonly serviceTime: ServiceTimeSpec,
    private readonly rng: Stream,
    private readonly text?: string,
  ) {}

  onDatagram(sock: UdpSocket, pkt: Packet, _flow: number, meta: unknown): void {
    const req = meta as RequestMeta | undefined;
    if (req === undefined || req.kind !== "request") return; // not a query: ignored
    const p: PendingReply = { app: this, sock, to: pkt.src, toPort: pkt.sport, req };
    this.rt.sim.scheduleIn(drawServiceTime(this.serviceTime, this.rng), this.rt.kRespond, 0, p);
  }

  onIcmpError(): void {}

  reply(p: PendingReply): void {
    const seen = `${formatIPv4(p.to)}:${p.toPort}`;
    const body = this.kind === "serve_hostname" ? this.pod : `${this.text ?? "hello"}\n${seen}`;
    const resp: ResponseMeta = {
      kind: "response", requestId: p.req.id, status: 0, body, servedBy: this.pod,
      endpointAddr: this.podAddr, endpointPort: p.sock.port, seenSrc: p.to, seenSport: p.toPort,
    };
    p.sock.sendTo(p.to, p.toPort, body.length + 1, resp, -1);
  }
}

// ---- client --------------------------------------------------------------------------------

export interface UdpClientConfig {
  readonly name: string;
  readonly host: UdpHost;
  readonly targetAddr: number;
  readonly targetPort: number;
  readonly requests?: number;
  /** Open loop, queries per second (Poisson arrivals). */
  readonly rate?: number;
  /** Closed loop: queries outstanding at a time (default 1). */
  readonly concurrency?: number;
  /** One socket (one source port) for every query, instead of a fresh socket per query. */
  readonly reusePort: boolean;
  /** How long a query waits for its answer. */
  readonly timeoutNs: SimTime;
  readonly startNs: SimTime;
  readonly durationNs?: SimTime;
  readonly rng: Stream;
  /** Flow ids for new sockets (run-wide, shared with TCP connections). */
  readonly newFlowId: () => number;
}

/** Payload bytes of one query (a DNS A query for a short name is about this size). */
const QUERY_LEN = 40;

interface Query {
  readonly id: number;
  readonly seq: number;
  readonly start: SimTime;
  readonly sock: UdpSocket;
  readonly rec: ConnectionRecord;
  timer: number;
  done: boolean;
}

export class UdpClient extends LoadGenerator implements UdpHandler {
  private shared: UdpSocket | null = null;
  private readonly pending = new Map<number, Query>();
  /** Per socket port: its open queries (a fresh socket has one). */
  private readonly bySock = new Map<UdpSocket, Query[]>();
  private readonly recs = new Map<UdpSocket, ConnectionRecord>();
  private readonly kTimeout: number;

  constructor(rt: ClientRuntime, readonly cfg: UdpClientConfig) {
    super(rt, cfg);
    this.kTimeout = rt.sim.register(`udp-client.timeout/${cfg.name}`, (_s, _n, obj) => this.timeout(obj as Query));
    rt.register(this, cfg.startNs);
  }

  protected issueNew(): void {
    this.issue();
  }

  protected onDone(): void {
    if (this.shared !== null) {
      this.closeSocket(this.shared);
      this.shared = null;
    }
  }

  private socket(): UdpSocket | null {
    if (this.cfg.reusePort && this.shared !== null) return this.shared;
    const s = this.cfg.host.bindEphemeral(this);
    if (s === null) return null;
    s.flow = this.cfg.newFlowId();
    const now = this.rt.sim.now;
    const rec: ConnectionRecord = {
      id: s.flow, client: this.cfg.name, localAddr: this.cfg.host.addr, localPort: s.port,
      targetAddr: this.cfg.targetAddr, targetPort: this.cfg.targetPort, opened: now, established: -1, closed: -1,
      synsSent: 0, requests: 0, end: "open", servedBy: "", endpointAddr: 0, endpointPort: 0, seenSrc: 0, seenSport: 0,
    };
    this.rt.connections.push(rec);
    this.recs.set(s, rec);
    this.bySock.set(s, []);
    if (this.cfg.reusePort) this.shared = s;
    return s;
  }

  private issue(): void {
    const rt = this.rt;
    const id = rt.newRequestId();
    const seq = this.sent++;
    this.inFlight++;
    const s = this.socket();
    if (s === null) {
      this.record(id, seq, rt.sim.now, "no-local-port", -1, undefined);
      return;
    }
    const rec = this.recs.get(s)!;
    rec.requests++;
    const q: Query = { id, seq, start: rt.sim.now, sock: s, rec, timer: 0, done: false };
    this.pending.set(id, q);
    this.bySock.get(s)!.push(q);
    q.timer = rt.sim.scheduleIn(this.cfg.timeoutNs, this.kTimeout, 0, q);
    const meta: RequestMeta = { kind: "request", id, method: "QUERY", path: "", host: formatIPv4(this.cfg.targetAddr) };
    s.sendTo(this.cfg.targetAddr, this.cfg.targetPort, QUERY_LEN, meta);
  }

  onDatagram(sock: UdpSocket, pkt: Packet, _flow: number, meta: unknown): void {
    const resp = meta as ResponseMeta | undefined;
    if (resp === undefined || resp.kind !== "response") return;
    // A connected socket accepts datagrams from its peer only (the reply is un-DNATed to it).
    if (pkt.src !== this.cfg.targetAddr || pkt.sport !== this.cfg.targetPort) return;
    const q = this.pending.get(resp.requestId);
    if (q === undefined || q.sock !== sock) return; // late answer to a query that timed out
    const rec = q.rec;
    if (rec.established < 0) rec.established = this.rt.sim.now;
    rec.servedBy = resp.servedBy;
    rec.endpointAddr = resp.endpointAddr;
    rec.endpointPort = resp.endpointPort;
    rec.seenSrc = resp.seenSrc;
    rec.seenSport = resp.seenSport;
    this.complete(q, "ok", resp);
  }

  onIcmpError(sock: UdpSocket): void {
    // ECONNREFUSED is reported once, to whichever recv is waiting: the oldest open query.
    const qs = this.bySock.get(sock);
    const q = qs?.find((x) => !x.done);
    if (q === undefined) return;
    if (q.rec.end === "open") q.rec.end = "refused";
    this.complete(q, "refused", undefined);
  }

  private timeout(q: Query): void {
    q.timer = 0;
    if (!q.done) this.complete(q, "timeout-request", undefined);
  }

  private complete(q: Query, outcome: RequestOutcomeKind, resp: ResponseMeta | undefined): void {
    q.done = true;
    if (q.timer) {
      this.rt.sim.cancel(q.timer);
      q.timer = 0;
    }
    this.pending.delete(q.id);
    const qs = this.bySock.get(q.sock)!;
    qs.splice(qs.indexOf(q), 1);
    if (!this.cfg.reusePort) this.closeSocket(q.sock);
    this.record(q.id, q.seq, q.start, outcome, q.sock.flow, resp);
  }

  private closeSocket(s: UdpSocket): void {
    const rec = this.recs.get(s);
    if (rec !== undefined && rec.closed < 0) {
      rec.closed = this.rt.sim.now;
      if (rec.end === "open") rec.end = "closed";
    }
    s.close();
    this.recs.delete(s);
    this.bySock.delete(s);
  }

  private record(id: number, seq: number, start: SimTime, outcome: RequestOutcomeKind, flow: number, resp: ResponseMeta | undefined): void {
    const rt = this.rt;
    const now = rt.sim.now;
    const r: RequestRecord = {
      id, client: this.cfg.name, seq, start, end: now, outcome, connection: flow, reused: this.cfg.reusePort && seq > 0,
      attempts: flow < 0 ? 0 : 1, targetAddr: this.cfg.targetAddr, targetPort: this.cfg.targetPort,
      servedBy: resp?.servedBy ?? "", endpointAddr: resp?.endpointAddr ?? 0, endpointPort: resp?.endpointPort ?? 0,
      seenSrc: resp?.seenSrc ?? 0, seenSport: resp?.seenSport ?? 0, body: resp?.body ?? "",
    };
    rt.requests.push(r);
    if (rt.trace !== undefined) {
      const [o, reason] = traceOutcome(outcome, outcome === "refused" ? "icmp" : undefined);
      rt.trace.emit({
        type: "request.outcome", time: now, client: this.cfg.name, requestId: id, flow, outcome: o, reason, start,
        ...(resp ? { servedBy: resp.servedBy, endpointAddr: resp.endpointAddr, endpointPort: resp.endpointPort } : {}),
        targetAddr: this.cfg.targetAddr, targetPort: this.cfg.targetPort, attempts: r.attempts,
      });
    }
    this.inFlight--;
    if (this.cfg.rate === undefined && this.moreToSend()) this.startNext();
    this.checkDone();
  }

}

/** A UDP client's configuration from the one the scenario wiring builds for an HTTP client. */
export function udpClientConfig(cc: ClientConfig, host: UdpHost, reusePort: boolean, newFlowId: () => number): UdpClientConfig {
  return {
    name: cc.name, host, targetAddr: cc.targetAddr, targetPort: cc.targetPort,
    ...(cc.requests !== undefined ? { requests: cc.requests } : {}),
    ...(cc.rate !== undefined ? { rate: cc.rate } : {}),
    ...(cc.concurrency !== undefined ? { concurrency: cc.concurrency } : {}),
    reusePort, timeoutNs: cc.requestTimeoutNs, startNs: cc.startNs,
    ...(cc.durationNs !== undefined ? { durationNs: cc.durationNs } : {}),
    rng: cc.rng, newFlowId,
  };
}
