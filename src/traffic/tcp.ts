/**
 * Per-host socket layer and TCP connection state machines (Linux TCP as a curl client and an
 * HTTP/1.1 server see it), driven by the discrete-event engine with typed events only.
 *
 * Modelled (Linux defaults, 4.x–6.x):
 * - Three-way handshake; SYN retransmission with the initial RTO of 1 s doubling per retry,
 *   net.ipv4.tcp_syn_retries = 6 (SYNs at 0, 1, 3, 7, 15, 31, 63 s; ETIMEDOUT at 127 s).
 * - One data segment for a request and one for its response (lengths from the HTTP text), the
 *   response acknowledging the request; FIN/ACK close with the client as the active closer:
 *   client FIN|ACK → server FIN|ACK (or ACK, then FIN|ACK after a pending response: CLOSE_WAIT)
 *   → client ACK; TIME_WAIT for 60 s (TCP_TIMEWAIT_LEN) on the active closer.
 * - A segment for no socket is answered with RST (RST|ACK to a SYN); a RST to a SYN means
 *   "connection refused"; an ICMP port unreachable to a SYN_SENT socket is a hard error
 *   (ECONNREFUSED) and a soft error (ignored) on an established one, as tcp_v4_err does.
 * - Data arriving on a socket the application already closed (FIN_WAIT_*) is answered with RST.
 * - Ephemeral ports from ip_local_port_range 32768–60999, walked from a seeded offset; a port is
 *   free for a destination when no socket (TIME_WAIT included) holds that 4-tuple, like
 *   __inet_hash_connect with tcp_tw_reuse off for non-loopback traffic.
 *
 * - A closing socket whose peer never answers is removed after tcp_fin_timeout (60 s).
 *
 * Not modelled: sequence numbers and windows, loss recovery for data segments (links never lose
 * data here; a lost response is caught by the request timeout), delayed ACK timers (the next
 * segment carries the ACK), SYN-ACK retransmission (tcp_synack_retries), SYN cookies and backlog
 * limits, Nagle, keep-alive probes, UDP sockets.
 */
import type { Simulation } from "../engine/sim.ts";
import type { SimTime } from "../engine/time.ts";
import { SECOND } from "../engine/time.ts";
import type { Stream } from "../engine/rng.ts";
import { HashSlots } from "../net/hashslots.ts";
import { compareIPv4 } from "../net/ip.ts";
import type { Packet } from "../net/packet.ts";
import { PROTO_ICMP, PROTO_TCP, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from "../net/packet.ts";
import { RECV_CLOSED, RECV_ICMP, RECV_RST, RECV_SOCKET, type RecvCode, type SocketReceiver, type Wire } from "../datapath/wire.ts";
import type { RequestMeta, ResponseMeta } from "./types.ts";

// ---- constants ------------------------------------------------------------------------------

export const EPHEMERAL_LO = 32768;
export const EPHEMERAL_HI = 60999;
/** TCP_TIMEWAIT_LEN. */
export const TIME_WAIT_NS: SimTime = 60 * SECOND;
export const SYN_RTO_INITIAL_NS: SimTime = 1 * SECOND;
export const TCP_SYN_RETRIES = 6;
/** net.ipv4.tcp_fin_timeout (60 s): how long an orphaned closing socket waits for its peer. */
export const TCP_FIN_TIMEOUT_NS: SimTime = 60 * SECOND;

/** IP + TCP header with the timestamp option (what Linux sends on an established connection). */
export const TCP_HDR = 52;
/** SYN / SYN-ACK carry MSS, SACK-permitted, timestamps and window scale options. */
export const TCP_SYN_LEN = 60;
/** A RST carries no options. */
export const TCP_RST_LEN = 40;

// TCP states (numbers, for the hot path).
export const CLOSED = 0;
export const SYN_SENT = 1;
export const SYN_RECV = 2;
export const ESTABLISHED = 3;
export const FIN_WAIT_1 = 4;
export const FIN_WAIT_2 = 5;
export const CLOSE_WAIT = 6;
export const LAST_ACK = 7;
export const TIME_WAIT = 8;
export const STATE_NAMES = ["CLOSED", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT"] as const;

/** Why a client connection failed before or while carrying a request. */
export type ConnFailure = "refused" | "reset" | "timeout-connect";

/** Callbacks of whoever opened a client connection (the curl-like client). */
export interface ConnOwner {
  onEstablished(c: Conn): void;
  onResponse(c: Conn, resp: ResponseMeta): void;
  onFailure(c: Conn, why: ConnFailure): void;
  /** The socket is gone for good (CLOSED after TIME_WAIT, or removed after a failure/abort). */
  onClosed?(c: Conn): void;
  /**
   * The server closed the connection (its FIN arrived while ESTABLISHED): the client closes its
   * side at once (LAST_ACK). A request still waiting on it gets no answer ("empty reply").
   */
  onPeerClosed?(c: Conn): void;
}

/** A server application bound to a listening port. */
export interface ServerApp {
  /** A complete request arrived on `c`; answer later with c.sendResponse (or never: a hung app). */
  onRequest(c: Conn, req: RequestMeta): void;
}

// ---- the shared kernel ------------------------------------------------------------------------

/** Timer kinds and shared state for all hosts of a run. */
export class TcpKernel {
  readonly sim: Simulation;
  readonly wire: Wire;
  readonly kSynRto: number;
  readonly kConnectTimeout: number;
  readonly kTimeWait: number;
  readonly kOrphan: number;
  /** Flow ids: one per client connection, run-wide. */
  private nextFlowId = 1;
  /** Sockets not yet CLOSED and not in TIME_WAIT (an "open" connection from the apps' view). */
  openConns = 0;
  /** Called when openConns drops to 0 (the run core uses it to detect completion). */
  onIdle: (() => void) | undefined;
  readonly timeWaitNs: SimTime;
  readonly synRtoNs: SimTime;
  readonly synRetries: number;

  constructor(sim: Simulation, wire: Wire, opts: { timeWaitNs?: SimTime; synRtoNs?: SimTime; synRetries?: number } = {}) {
    this.sim = sim;
    this.wire = wire;
    this.timeWaitNs = opts.timeWaitNs ?? TIME_WAIT_NS;
    this.synRtoNs = opts.synRtoNs ?? SYN_RTO_INITIAL_NS;
    this.synRetries = opts.synRetries ?? TCP_SYN_RETRIES;
    this.kSynRto = sim.register("tcp.syn-rto", (_s, _n, obj) => (obj as Conn).synTimeout());
    this.kConnectTimeout = sim.register("tcp.connect-timeout", (_s, _n, obj) => (obj as Conn).connectTimeout());
    this.kTimeWait = sim.register("tcp.time-wait", (_s, _n, obj) => (obj as Conn).timeWaitDone());
    this.kOrphan = sim.register("tcp.orphan", (_s, _n, obj) => (obj as Conn).orphanTimeout());
  }

  newFlowId(): number {
    return this.nextFlowId++;
  }

  connOpened(): void {
    this.openConns++;
  }
  connQuiesced(): void {
    this.openConns--;
    if (this.openConns === 0 && this.onIdle) this.onIdle();
  }
}

// ---- connections ------------------------------------------------------------------------------

export class Conn {
  state = CLOSED;
  readonly host: TcpHost;
  readonly client: boolean;
  readonly flow: number;
  readonly localPort: number;
  readonly remoteAddr: number;
  readonly remotePort: number;
  owner: ConnOwner | null = null;
  app: ServerApp | null = null;
  /** Opaque slot for the owner (the client keeps its current request here). */
  user: unknown = undefined;
  /** A second opaque slot for the owner, for the connection's whole life (the client's ConnectionRecord). */
  ownerData: unknown = undefined;
  synsSent = 0;
  private rto = 0;
  private synTimer = 0;
  private connTimer = 0;
  private twTimer = 0;
  private finTimer = 0;
  /** Counted in TcpKernel.openConns. */
  private open = false;
  /** What ended a failed client connection (for the trace's outcome reason). */
  failedBy: "icmp-port-unreachable" | "tcp-rst" | "connect-timeout" | "" = "";
  /** Server: a response is being prepared (FIN must wait for it). */
  responsePending = false;

  constructor(host: TcpHost, client: boolean, flow: number, localPort: number, remoteAddr: number, remotePort: number) {
    this.host = host;
    this.client = client;
    this.flow = flow;
    this.localPort = localPort;
    this.remoteAddr = remoteAddr;
    this.remotePort = remotePort;
  }

  get stateName(): string {
    return STATE_NAMES[this.state]!;
  }

  private send(flags: number, len: number, meta: unknown = undefined): void {
    const h = this.host;
    const pkt: Packet = { src: h.addr, dst: this.remoteAddr, sport: this.localPort, dport: this.remotePort, proto: PROTO_TCP, flags, len };
    h.kernel.wire.send(h.hostId, pkt, this.flow, meta);
  }

  private markOpen(): void {
    if (!this.open) {
      this.open = true;
      this.host.kernel.connOpened();
    }
  }
  private markQuiet(): void {
    if (this.open) {
      this.open = false;
      this.host.kernel.connQuiesced();
    }
  }

  // -- client side --

  /** Starts the handshake (client). */
  startConnect(connectTimeoutNs: SimTime): void {
    const k = this.host.kernel;
    this.state = SYN_SENT;
    this.markOpen();
    this.rto = k.synRtoNs;
    this.sendSyn();
    if (connectTimeoutNs > 0) this.connTimer = k.sim.scheduleIn(connectTimeoutNs, k.kConnectTimeout, 0, this);
  }

  private sendSyn(): void {
    const k = this.host.kernel;
    this.synsSent++;
    this.send(TCP_SYN, TCP_SYN_LEN);
    this.synTimer = k.sim.scheduleIn(this.rto, k.kSynRto, 0, this);
  }

  /** SYN retransmission timer fired. */
  synTimeout(): void {
    this.synTimer = 0;
    if (this.state !== SYN_SENT) return;
    if (this.synsSent > this.host.kernel.synRetries) {
      this.failedBy = "connect-timeout";
      this.fail("timeout-connect");
      return;
    }
    this.rto *= 2;
    this.sendSyn();
  }

  /** The client's connect timeout fired (curl --connect-timeout). */
  connectTimeout(): void {
    this.connTimer = 0;
    if (this.state === SYN_SENT) {
      this.failedBy = "connect-timeout";
      this.fail("timeout-connect");
    }
  }

  private cancelConnectTimers(): void {
    const sim = this.host.kernel.sim;
    if (this.synTimer) { sim.cancel(this.synTimer); this.synTimer = 0; }
    if (this.connTimer) { sim.cancel(this.connTimer); this.connTimer = 0; }
  }

  /** An ICMP port unreachable matched this socket while connecting: ECONNREFUSED. */
  icmpUnreachable(): void {
    this.failedBy = "icmp-port-unreachable";
    this.fail("refused");
  }

  /** Client failure: the socket goes away without further packets, the owner learns why. */
  private fail(why: ConnFailure): void {
    this.cancelConnectTimers();
    this.state = CLOSED; // the owner's close() is a no-op from here
    this.owner?.onFailure(this, why);
    this.remove();
  }

  /** Sends a request on an established connection (client). */
  sendRequest(req: RequestMeta, len: number): void {
    this.send(TCP_PSH | TCP_ACK, TCP_HDR + len, req);
  }

  /**
   * Closes the socket from the application side (close(2)): FIN from ESTABLISHED, a silent
   * abort in SYN_SENT (Linux sends nothing for an unanswered connect), FIN|ACK from CLOSE_WAIT.
   */
  close(): void {
    switch (this.state) {
      case SYN_SENT:
        this.cancelConnectTimers();
        this.remove();
        break;
      case SYN_RECV:
      case ESTABLISHED:
        this.state = FIN_WAIT_1;
        this.armOrphan();
        this.send(TCP_FIN | TCP_ACK, TCP_HDR);
        break;
      case CLOSE_WAIT:
        this.state = LAST_ACK;
        this.armOrphan();
        this.send(TCP_FIN | TCP_ACK, TCP_HDR);
        break;
      default:
        break; // already closing
    }
  }

  // -- server side --

  /** Sends the response to the current request (server); finishes a deferred close. */
  sendResponse(resp: ResponseMeta, len: number): void {
    this.responsePending = false;
    if (this.state !== ESTABLISHED && this.state !== CLOSE_WAIT) return; // reset meanwhile: the write fails
    this.send(TCP_PSH | TCP_ACK, TCP_HDR + len, resp);
    if (this.state === CLOSE_WAIT) {
      this.state = LAST_ACK;
      this.armOrphan();
      this.send(TCP_FIN | TCP_ACK, TCP_HDR);
    }
  }

  // -- segment processing --

  /** A segment for this socket arrived. */
  segment(pkt: Packet, meta: unknown): RecvCode {
    const f = pkt.flags;
    if (f & TCP_RST) {
      switch (this.state) {
        case SYN_SENT:
          this.failedBy = "tcp-rst";
          this.fail("refused");
          return RECV_SOCKET;
        case TIME_WAIT:
          return RECV_SOCKET; // RFC 1337: ignore RST in TIME_WAIT (Linux tcp_rfc1337=0 kills it; harmless here)
        case ESTABLISHED:
          if (this.client) {
            this.failedBy = "tcp-rst";
            this.fail("reset");
            return RECV_SOCKET;
          }
          this.remove();
          return RECV_SOCKET;
        default:
          this.remove();
          return RECV_SOCKET;
      }
    }
    switch (this.state) {
      case SYN_SENT:
        if ((f & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK)) {
          this.cancelConnectTimers();
          this.state = ESTABLISHED;
          this.send(TCP_ACK, TCP_HDR);
          this.owner?.onEstablished(this);
        }
        return RECV_SOCKET;
      case SYN_RECV:
        if (f & TCP_SYN) {
          // The client retransmitted its SYN: our SYN-ACK was lost or late; answer again.
          this.send(TCP_SYN | TCP_ACK, TCP_SYN_LEN);
          return RECV_SOCKET;
        }
        if (f & TCP_ACK) {
          this.state = ESTABLISHED;
          return this.established(pkt, meta);
        }
        return RECV_SOCKET;
      case ESTABLISHED:
        return this.established(pkt, meta);
      case FIN_WAIT_1:
      case FIN_WAIT_2:
        if (pkt.len > TCP_HDR) {
          // Data for a socket the application closed: the kernel answers with RST.
          this.send(TCP_RST, TCP_RST_LEN);
          this.remove();
          return RECV_SOCKET;
        }
        if (f & TCP_FIN) {
          this.send(TCP_ACK, TCP_HDR);
          this.enterTimeWait();
        } else if (this.state === FIN_WAIT_1 && f & TCP_ACK) this.state = FIN_WAIT_2;
        return RECV_SOCKET;
      case CLOSE_WAIT:
        return RECV_SOCKET;
      case LAST_ACK:
        if (f & TCP_ACK && !(f & TCP_FIN)) this.remove();
        return RECV_SOCKET;
      case TIME_WAIT:
        if (f & TCP_FIN) this.send(TCP_ACK, TCP_HDR); // a retransmitted FIN is acknowledged again
        return RECV_SOCKET;
      default:
        return RECV_CLOSED;
    }
  }

  private established(pkt: Packet, meta: unknown): RecvCode {
    const f = pkt.flags;
    if (pkt.len > TCP_HDR && meta !== undefined) {
      const m = meta as RequestMeta | ResponseMeta;
      if (this.client) {
        if (m.kind === "response") this.owner?.onResponse(this, m);
      } else if (m.kind === "request" && this.app) {
        this.responsePending = true;
        this.app.onRequest(this, m);
      }
    }
    if (f & TCP_FIN) {
      if (this.client) {
        // The server closed first (an idle keep-alive connection of a server shutting down, or
        // a server process that died): passive close, and the owner learns it.
        this.state = LAST_ACK;
        this.armOrphan();
        this.send(TCP_FIN | TCP_ACK, TCP_HDR);
        this.owner?.onPeerClosed?.(this);
      } else if (this.responsePending) {
        this.state = CLOSE_WAIT;
        this.send(TCP_ACK, TCP_HDR);
      } else {
        // The application reads EOF and closes at once: ACK and FIN leave together.
        this.state = LAST_ACK;
        this.armOrphan();
        this.send(TCP_FIN | TCP_ACK, TCP_HDR);
      }
    }
    return RECV_SOCKET;
  }

  /**
   * A closed socket whose FIN is never answered (the peer vanished: its machine or sandbox is
   * gone) does not linger: Linux retransmits the FIN and gives up after tcp_orphan_retries (~100 s)
   * or, in FIN_WAIT_2, after tcp_fin_timeout (60 s). svcsim removes it after TCP_FIN_TIMEOUT_NS.
   */
  private armOrphan(): void {
    if (this.finTimer) return;
    const k = this.host.kernel;
    this.finTimer = k.sim.scheduleIn(TCP_FIN_TIMEOUT_NS, k.kOrphan, 0, this);
  }

  orphanTimeout(): void {
    this.finTimer = 0;
    if (this.state === FIN_WAIT_1 || this.state === FIN_WAIT_2 || this.state === LAST_ACK) this.remove();
  }

  private enterTimeWait(): void {
    const k = this.host.kernel;
    if (this.finTimer) { k.sim.cancel(this.finTimer); this.finTimer = 0; }
    this.state = TIME_WAIT;
    this.markQuiet();
    this.twTimer = k.sim.scheduleIn(k.timeWaitNs, k.kTimeWait, 0, this);
  }

  timeWaitDone(): void {
    this.twTimer = 0;
    if (this.state === TIME_WAIT) this.remove();
  }

  /** The socket disappears from the host's tables. */
  remove(): void {
    if (this.twTimer) { this.host.kernel.sim.cancel(this.twTimer); this.twTimer = 0; }
    if (this.finTimer) { this.host.kernel.sim.cancel(this.finTimer); this.finTimer = 0; }
    this.cancelConnectTimers();
    this.state = CLOSED;
    this.host.unlink(this);
    this.markQuiet();
    this.owner?.onClosed?.(this);
  }

  /** Sends a RST and forgets the socket (tcp_disconnect / an aborted half-open connection). */
  abortWithRst(): void {
    this.send(TCP_RST, TCP_RST_LEN);
    this.remove();
  }

  /** Server side: set up from an arriving SYN. */
  acceptSyn(app: ServerApp): void {
    this.app = app;
    this.state = SYN_RECV;
    this.markOpen();
    this.send(TCP_SYN | TCP_ACK, TCP_SYN_LEN);
  }
}

// ---- hosts ------------------------------------------------------------------------------------

/** Socket order for listings and mass closes: local port, then remote address and port. */
function compareConns(a: Conn, b: Conn): number {
  return a.localPort - b.localPort || compareIPv4(a.remoteAddr, b.remoteAddr) || a.remotePort - b.remotePort;
}

/**
 * A host's sockets, hashed by (local port, remote address, remote port) — the kernel's
 * established hash (inet_ehashfn) in spirit, over HashSlots (open addressing, backward-shift
 * deletion); a hit is verified on the socket's own fields. No allocation per socket beyond the
 * socket (a Map per local port, as before, was one more long-lived object per TIME_WAIT socket).
 */
export class ConnTable {
  private readonly slots = new HashSlots<Conn>();

  /** Never 0 (HashSlots' free-slot mark). */
  private static hash(lport: number, raddr: number, rport: number): number {
    let h = Math.imul(raddr ^ 0x2545f491, 0x9e3779b1) ^ ((lport << 16) | rport);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    return (h ^ (h >>> 13)) | 0 || 1;
  }

  get(lport: number, raddr: number, rport: number): Conn | null {
    const h = ConnTable.hash(lport, raddr, rport);
    const { hashes, vals, mask } = this.slots;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const x = hashes[i]!;
      if (x === 0) return null;
      if (x === h) {
        const c = vals[i]!;
        if (c.localPort === lport && c.remoteAddr === raddr && c.remotePort === rport) return c;
      }
    }
  }

  add(c: Conn): void {
    this.slots.add(ConnTable.hash(c.localPort, c.remoteAddr, c.remotePort), c);
  }

  /** Removes exactly this socket (no-op when it is not in the table). */
  remove(c: Conn): void {
    this.slots.remove(ConnTable.hash(c.localPort, c.remoteAddr, c.remotePort), c);
  }

  all(): Conn[] {
    return this.slots.values();
  }
}

/** One network namespace's sockets: a pod, a node's host network, or an external machine. */
export class TcpHost implements SocketReceiver {
  readonly kernel: TcpKernel;
  readonly hostId: number;
  readonly name: string;
  readonly addr: number;
  /**
   * Listening sockets: the first in two fields (a pod's app listens on one port: no map for
   * 100,000 pods at 10,000 Services), more in a map.
   */
  private onePort = -1;
  private oneApp: ServerApp | null = null;
  private moreListeners: Map<number, ServerApp> | null = null;
  /** Sockets by (local port, remote address, remote port); made with the first socket (a pod that only listens never has one). */
  private table: ConnTable | null = null;
  /** Next ephemeral port to try; drawn from the host's port stream at the first connect (−1 before). */
  private nextPort = -1;
  /** The host's port stream, or a function making it (called at the first connect). */
  private readonly portStream: Stream | (() => Stream);
  /** False while the host is down: it answers nothing (a stopped node or pod sandbox). */
  up = true;

  constructor(kernel: TcpKernel, hostId: number, name: string, addr: number, portStream: Stream | (() => Stream)) {
    this.kernel = kernel;
    this.hostId = hostId;
    this.name = name;
    this.addr = addr;
    this.portStream = portStream;
  }

  listen(port: number, app: ServerApp): void {
    if (this.listenerAt(port) !== undefined) throw new Error(`${this.name}: port ${port} is already bound`);
    if (this.oneApp === null) {
      this.onePort = port;
      this.oneApp = app;
    } else (this.moreListeners ??= new Map()).set(port, app);
  }

  unlisten(port: number): void {
    if (this.onePort === port && this.oneApp !== null) {
      this.onePort = -1;
      this.oneApp = null;
    } else this.moreListeners?.delete(port);
  }

  hasListener(port: number): boolean {
    return this.listenerAt(port) !== undefined;
  }

  /** Ports with a listening socket, ascending. */
  listeningPorts(): number[] {
    const ports = this.moreListeners ? [...this.moreListeners.keys()] : [];
    if (this.oneApp !== null) ports.push(this.onePort);
    return ports.sort((a, b) => a - b);
  }

  /** Server-side sockets (accepted connections) that are not CLOSED, in a stable order (local port, remote). */
  serverConnections(): Conn[] {
    const out: Conn[] = [];
    for (const c of this.connections()) if (!c.client && c.state !== CLOSED) out.push(c);
    return out.sort(compareConns);
  }

  /**
   * The process owning the server sockets exited (the network namespace stays): the kernel closes
   * every accepted socket. Their requests were already read, so each close is an orderly FIN (Linux
   * sends RST instead only when unread data is queued); clients waiting for an answer see an empty
   * reply. Listeners must be removed by the caller (unlisten).
   */
  closeServerConnections(): void {
    for (const c of this.serverConnections()) {
      c.app = null;
      c.responsePending = false;
      if (c.state === SYN_RECV) {
        // Half-open: the accept queue is gone with the listener; the kernel answers with RST.
        c.abortWithRst();
      } else c.close();
    }
  }

  /**
   * The namespace vanished with its machine or sandbox: every socket disappears without a packet
   * (nothing is left to send one). Client sockets' owners see nothing either (their process died).
   */
  dropAllSockets(): void {
    const all = [...this.connections()];
    for (const c of all) {
      c.owner = null;
      c.remove();
    }
    this.onePort = -1;
    this.oneApp = null;
    this.moreListeners = null;
  }

  private listenerAt(port: number): ServerApp | undefined {
    if (this.oneApp !== null && this.onePort === port) return this.oneApp;
    return this.moreListeners === null ? undefined : this.moreListeners.get(port);
  }

  /** Live sockets (any state but CLOSED), by local port, remote address and remote port. */
  connections(): Conn[] {
    return this.table === null ? [] : this.table.all().sort(compareConns);
  }

  private lookup(localPort: number, remoteAddr: number, remotePort: number): Conn | null {
    return this.table === null ? null : this.table.get(localPort, remoteAddr, remotePort);
  }

  private link(c: Conn): void {
    (this.table ??= new ConnTable()).add(c);
  }

  unlink(c: Conn): void {
    this.table?.remove(c);
  }

  /**
   * Opens a client connection (connect(2)); null when no ephemeral port is free for this
   * destination (EADDRNOTAVAIL).
   */
  connect(remoteAddr: number, remotePort: number, owner: ConnOwner, connectTimeoutNs: SimTime): Conn | null {
    const span = EPHEMERAL_HI - EPHEMERAL_LO + 1;
    if (this.nextPort < 0) {
      const ps = this.portStream;
      this.nextPort = (typeof ps === "function" ? ps() : ps).int(EPHEMERAL_LO, EPHEMERAL_HI);
    }
    let port = this.nextPort;
    let found = -1;
    for (let i = 0; i < span; i++) {
      if (this.listenerAt(port) === undefined && this.lookup(port, remoteAddr, remotePort) === null) {
        found = port;
        break;
      }
      port = port === EPHEMERAL_HI ? EPHEMERAL_LO : port + 1;
    }
    if (found < 0) return null;
    this.nextPort = found === EPHEMERAL_HI ? EPHEMERAL_LO : found + 1;
    const c = new Conn(this, true, this.kernel.newFlowId(), found, remoteAddr, remotePort);
    c.owner = owner;
    this.link(c);
    c.startConnect(connectTimeoutNs);
    return c;
  }

  private sendRst(pkt: Packet, flow: number): void {
    // RST|ACK to a SYN (the reply a closed port gives), a bare RST to anything else.
    const synOnly = (pkt.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
    const rst: Packet = { src: this.addr, dst: pkt.src, sport: pkt.dport, dport: pkt.sport, proto: PROTO_TCP, flags: synOnly ? TCP_RST | TCP_ACK : TCP_RST, len: TCP_RST_LEN };
    this.kernel.wire.send(this.hostId, rst, flow, undefined);
  }

  receive(pkt: Packet, flow: number, meta: unknown): RecvCode {
    if (!this.up) return RECV_CLOSED;
    if (pkt.proto === PROTO_TCP) {
      const c = this.lookup(pkt.dport, pkt.src, pkt.sport);
      if (c !== null) return c.segment(pkt, meta);
      if (pkt.flags & TCP_RST) return RECV_CLOSED;
      if ((pkt.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN) {
        const app = this.listenerAt(pkt.dport);
        if (app !== undefined) {
          const s = new Conn(this, false, flow, pkt.dport, pkt.src, pkt.sport);
          this.link(s);
          s.acceptSyn(app);
          return RECV_SOCKET;
        }
      }
      this.sendRst(pkt, flow);
      return RECV_RST;
    }
    if (pkt.proto === PROTO_ICMP && pkt.icmp !== undefined) {
      const inner = pkt.icmp.inner;
      if (inner.proto !== PROTO_TCP || inner.src !== this.addr) return RECV_CLOSED;
      const c = this.lookup(inner.sport, inner.dst, inner.dport);
      if (c === null) return RECV_CLOSED;
      // tcp_v4_err: a hard error while connecting, a soft (ignored) one once established.
      if (c.state === SYN_SENT) c.icmpUnreachable();
      return RECV_ICMP;
    }
    return RECV_CLOSED; // UDP and other protocols: no sockets modelled
  }
}
