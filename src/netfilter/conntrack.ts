/**
 * Connection tracking (nf_conntrack), one table per node, as the nat table and the
 * `-m conntrack --ctstate` match see it.
 *
 * Modelled (Linux 4.x–6.x behaviour, IPv4, default sysctls):
 * - Entries hold the original and reply tuples; NAT rewrites the reply tuple (DNAT changes the
 *   reply source, SNAT/MASQUERADE the reply destination) and sets the SRC_NAT/DST_NAT bits.
 *   Both tuples index the same entry, so replies map back. `manipDst`/`manipSrc` perform the
 *   per-packet rewrites the kernel's nf_nat_packet does at each hook.
 * - Entries are created unconfirmed by a connection's first packet and inserted into the hash at
 *   confirmation (end of POSTROUTING / INPUT). An entry dropped before that simply vanishes.
 *   A confirmation clash (tuple already present) fails, and the kernel drops the packet.
 * - ctstate: original-direction packets are NEW until a reply has been seen, then ESTABLISHED;
 *   reply-direction packets are ESTABLISHED; ICMP errors whose embedded header belongs to a tracked
 *   connection are RELATED; packets the TCP tracker refuses are INVALID. SNAT/DNAT virtual bits.
 * - The TCP state machine on SYN, SYN-ACK, FIN, ACK, RST per direction, with the kernel's
 *   per-state timeouts (nf_conntrack_tcp_timeout_*), loose pickup of mid-stream ACKs
 *   (nf_conntrack_tcp_loose=1), ASSURED after the handshake, immediate removal of an entry whose
 *   only reply is a RST, and re-opening of TIME_WAIT/CLOSE entries by a new SYN (the old entry is
 *   destroyed and the SYN starts a fresh connection that goes through the nat table again).
 * - UDP: 30 s unreplied, udp_timeout_stream (120 s) and ASSURED once replied. Linux ≥ 6.0 only
 *   switches to the stream timeout 2 s after creation: set `udpStreamAfter` to 2 s for that.
 * - ICMP (echo) 30 s; other protocols (SCTP included: svcsim does not model the SCTP tracker)
 *   use the generic 600 s timeout with UDP-like NEW/ESTABLISHED.
 * - SNAT/MASQUERADE source-port choice (nf_nat_l4proto_unique_tuple): keep the original port if
 *   the resulting reply tuple is free, else search the kernel's port class (1–511, 600–1023 or
 *   1024–65535 by the original port) sequentially after the original port; with --random-fully
 *   start from a random port (injected uniform source) and never try to keep the original.
 * - `conntrack -D` filters as kube-proxy uses them, and `conntrack -L` text.
 *
 * Not modelled: TCP window/sequence tracking (tcp_in_window; out-of-window packets are INVALID in
 * the kernel), simultaneous open (SYN_SENT2), retransmission/unacknowledged timeouts
 * (timeout_max_retrans, timeout_unacknowledged), UDP clash resolution (Linux ≥ 5.6 lets an
 * identical UDP entry win a confirmation race), expectations/helpers, zones, the table size limit
 * (nf_conntrack_max) and early drop, ICMP ids (all echo traffic between two hosts shares one
 * entry), the kernel's per-boot random starting offset for port search (Linux ≥ 5.x starts from a
 * random offset even without --random-fully; svcsim uses the older sequential search).
 *
 * Hot path: lookups use an open-addressing hash table keyed by a 32-bit mix of the numeric tuple
 * (no strings, no per-lookup allocation); candidates are verified by comparing the full tuple.
 */
import { HashSlots } from "../net/hashslots.ts";
import { formatIPv4, type IPv4 } from "../net/ip.ts";
import type { Packet } from "../net/packet.ts";
import { PROTO_ICMP, PROTO_SCTP, PROTO_TCP, PROTO_UDP, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, protoName } from "../net/packet.ts";
import { CT_DNAT, CT_ESTABLISHED, CT_INVALID, CT_NEW, CT_RELATED, CT_SNAT } from "./types.ts";

// ---- constants ------------------------------------------------------------------------------

export const DIR_ORIGINAL = 0;
export const DIR_REPLY = 1;
export type CtDir = typeof DIR_ORIGINAL | typeof DIR_REPLY;

/** TCP conntrack states (the kernel's enum tcp_conntrack order). */
export const TCP_CT_NONE = 0;
export const TCP_CT_SYN_SENT = 1;
export const TCP_CT_SYN_RECV = 2;
export const TCP_CT_ESTABLISHED = 3;
export const TCP_CT_FIN_WAIT = 4;
export const TCP_CT_CLOSE_WAIT = 5;
export const TCP_CT_LAST_ACK = 6;
export const TCP_CT_TIME_WAIT = 7;
export const TCP_CT_CLOSE = 8;
export type TcpCtState = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;
export const TCP_CT_STATE_NAMES = ["NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE"] as const;
export type TcpCtStateName = (typeof TCP_CT_STATE_NAMES)[number];

/** Status bits (the kernel's IPS_* values). */
export const IPS_SEEN_REPLY = 1 << 1;
export const IPS_ASSURED = 1 << 2;
export const IPS_CONFIRMED = 1 << 3;
export const IPS_SRC_NAT = 1 << 4;
export const IPS_DST_NAT = 1 << 5;

/** Results of `update` (what nf_conntrack_in decided for a packet of an existing entry). */
export const CT_UPDATE_OK = 0;
/** The tracker refused the packet: ctstate INVALID; the entry is unchanged. */
export const CT_UPDATE_INVALID = 1;
/** The entry was destroyed by this packet (a RST that is the only reply); the packet passes. */
export const CT_UPDATE_KILLED = 2;
/** A SYN re-opened a TIME_WAIT/CLOSE entry: it was destroyed; treat the packet as a new connection. */
export const CT_UPDATE_REOPEN = 3;
export type CtUpdateResult = 0 | 1 | 2 | 3;

export type CtDestroyReason = "timeout" | "deleted" | "rst-unreplied" | "reopened";

const S = 1_000_000_000; // ns per second

/** Timeouts in ns. Defaults are the kernel's nf_conntrack_*_timeout* sysctl defaults. */
export interface ConntrackTimeouts {
  tcpSynSent: number;
  tcpSynRecv: number;
  tcpEstablished: number;
  tcpFinWait: number;
  tcpCloseWait: number;
  tcpLastAck: number;
  tcpTimeWait: number;
  tcpClose: number;
  udpUnreplied: number;
  udpStream: number;
  /** Replied UDP flows use udpStream only this long after creation (0 before Linux 6.0, 2 s after). */
  udpStreamAfter: number;
  icmp: number;
  generic: number;
}

export const DEFAULT_CONNTRACK_TIMEOUTS: Readonly<ConntrackTimeouts> = Object.freeze({
  tcpSynSent: 120 * S,
  tcpSynRecv: 60 * S,
  tcpEstablished: 432_000 * S, // 5 days
  tcpFinWait: 120 * S,
  tcpCloseWait: 60 * S,
  tcpLastAck: 30 * S,
  tcpTimeWait: 120 * S,
  tcpClose: 10 * S,
  udpUnreplied: 30 * S,
  udpStream: 120 * S,
  udpStreamAfter: 0,
  icmp: 30 * S,
  generic: 600 * S,
});

// ---- TCP state machine ----------------------------------------------------------------------

const IV = -1; // invalid
const IG = -2; // ignore: accepted, state and timer unchanged
const P_SYN = 0;
const P_SYNACK = 1;
const P_FIN = 2;
const P_ACK = 3;
const P_RST = 4;
const P_NONE = 5;

/** Which TCP transition a packet's flags select (RST wins, then SYN, then FIN, then ACK). */
function tcpPacketClass(flags: number): number {
  if (flags & TCP_RST) return P_RST;
  if (flags & TCP_SYN) return flags & TCP_ACK ? P_SYNACK : P_SYN;
  if (flags & TCP_FIN) return P_FIN;
  if (flags & TCP_ACK) return P_ACK;
  return P_NONE;
}

// Transition table [dir][packet class][old state] → new state, IV or IG.
// Columns: NONE SYN_SENT SYN_RECV ESTABLISHED FIN_WAIT CLOSE_WAIT LAST_ACK TIME_WAIT CLOSE.
// FIN_WAIT = a FIN was seen in one direction; CLOSE_WAIT = it was ACKed; LAST_ACK = FINs seen
// in both directions; TIME_WAIT = the last FIN was ACKed (the kernel's naming, which conntrack -L prints).
const SS = TCP_CT_SYN_SENT, SR = TCP_CT_SYN_RECV, ES = TCP_CT_ESTABLISHED, FW = TCP_CT_FIN_WAIT;
const CW = TCP_CT_CLOSE_WAIT, LA = TCP_CT_LAST_ACK, TW = TCP_CT_TIME_WAIT, CL = TCP_CT_CLOSE;
const TCP_TRANSITIONS: readonly (readonly (readonly number[])[])[] = [
  [
    /* orig SYN    */ [SS, SS, IG, IG, IG, IG, IG, SS, SS],
    /* orig SYNACK */ [IV, IV, IV, IV, IV, IV, IV, IV, IV],
    /* orig FIN    */ [IV, IV, FW, FW, LA, LA, LA, TW, CL],
    /* orig ACK    */ [ES, IV, ES, ES, CW, CW, TW, TW, CL],
    /* orig RST    */ [IV, CL, CL, CL, CL, CL, CL, CL, CL],
    /* orig none   */ [IV, IV, IV, IV, IV, IV, IV, IV, IV],
  ],
  [
    /* reply SYN    */ [IV, IV, IV, IV, IV, IV, IV, SS, IV],
    /* reply SYNACK */ [IV, SR, IG, IG, IG, IG, IG, IG, IG],
    /* reply FIN    */ [IV, IV, FW, FW, LA, LA, LA, TW, CL],
    /* reply ACK    */ [IV, IG, SR, ES, CW, CW, TW, TW, CL],
    /* reply RST    */ [IV, CL, CL, CL, CL, CL, CL, CL, CL],
    /* reply none   */ [IV, IV, IV, IV, IV, IV, IV, IV, IV],
  ],
];

function tcpTimeout(t: ConntrackTimeouts, state: number): number {
  switch (state) {
    case TCP_CT_SYN_SENT: return t.tcpSynSent;
    case TCP_CT_SYN_RECV: return t.tcpSynRecv;
    case TCP_CT_ESTABLISHED: return t.tcpEstablished;
    case TCP_CT_FIN_WAIT: return t.tcpFinWait;
    case TCP_CT_CLOSE_WAIT: return t.tcpCloseWait;
    case TCP_CT_LAST_ACK: return t.tcpLastAck;
    case TCP_CT_TIME_WAIT: return t.tcpTimeWait;
    default: return t.tcpClose;
  }
}

// ---- entries --------------------------------------------------------------------------------

/**
 * One connection (nf_conn): both tuples, state, NAT status, counters and expiry.
 *
 * Entries are plain objects made by newConntrackEntry()'s object literal, not instances of a
 * class: V8 tracks an allocation site per object literal and, seeing that the objects made there
 * outlive the young generation (an entry lives for the TCP timeouts, e.g. 120 s of TIME_WAIT),
 * allocates them in the old generation directly. Made with `new`, every entry was copied through
 * the young generation, and those copies were half of the run's scavenging (1,000-Service bench:
 * 96-122 ms of pauses per run, 50-56 ms with the literal).
 */
export interface ConntrackEntry {
  readonly id: number;
  readonly proto: number;
  readonly origSrc: number;
  readonly origDst: number;
  readonly origSport: number;
  readonly origDport: number;
  /** When the first packet was seen (ns). */
  readonly created: number;
  /** Status bits (IPS_*). */
  status: number;
  tcpState: TcpCtState;
  mark: number;
  /** Absolute expiry time (ns). */
  expires: number;
  origPackets: number;
  origBytes: number;
  replyPackets: number;
  replyBytes: number;
  replySrc: number;
  replyDst: number;
  replySport: number;
  replyDport: number;
  /** svcsim metadata, not kernel state: the traffic layer's flow id (−1 until the datapath sets it). */
  flow: number;
  /** @internal The two tuples' hashes (ConntrackTable.hashOf) while confirmed. */
  origKey: number;
  replyKey: number;
  /**
   * Opaque per-direction slots for the datapath's path cache (datapath/network.ts FlowPath):
   * what the hooks decided for the last packet of this connection in that direction. Not kernel
   * state; conntrack never reads them.
   */
  pathOrig: object | null;
  pathReply: object | null;
  /** @internal The table's list of confirmed entries, in confirmation order. */
  prevConfirmed: ConntrackEntry | null;
  nextConfirmed: ConntrackEntry | null;
  /** @internal In its table's hash and list (confirmed and not yet destroyed). */
  listed: boolean;
}

/** A new entry for a connection's first packet: reply tuple the inverted original, no state yet. */
export function newConntrackEntry(id: number, proto: number, origSrc: number, origDst: number, origSport: number, origDport: number, created: number): ConntrackEntry {
  // One literal, every field in one order: one hidden class, and one allocation site to pretenure.
  return {
    id, proto, origSrc, origDst, origSport, origDport, created,
    status: 0, tcpState: TCP_CT_NONE, mark: 0, expires: 0,
    origPackets: 0, origBytes: 0, replyPackets: 0, replyBytes: 0,
    replySrc: origDst, replyDst: origSrc, replySport: origDport, replyDport: origSport,
    flow: -1, origKey: 0, replyKey: 0, pathOrig: null, pathReply: null,
    prevConfirmed: null, nextConfirmed: null, listed: false,
  };
}

/** In the table (IPS_CONFIRMED): its first packet left the node. */
export function isConfirmed(e: ConntrackEntry): boolean {
  return (e.status & IPS_CONFIRMED) !== 0;
}
export function isSeenReply(e: ConntrackEntry): boolean {
  return (e.status & IPS_SEEN_REPLY) !== 0;
}
export function isAssured(e: ConntrackEntry): boolean {
  return (e.status & IPS_ASSURED) !== 0;
}
/** The TCP state as conntrack -L prints it. */
export function tcpStateName(e: ConntrackEntry): TcpCtStateName {
  return TCP_CT_STATE_NAMES[e.tcpState];
}

// ---- hashing --------------------------------------------------------------------------------

function mixWord(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0; // int32: a small integer, never a boxed number
}

/** 32-bit hash of a tuple (murmur3-style mixing of its four words), as an int32. */
export function tupleKey(src: number, dst: number, sport: number, dport: number, proto: number): number {
  const ports = ((sport & 0xffff) << 16) | (dport & 0xffff);
  return fmix(mixWord(mixWord(mixWord(mixWord(0x2545f491, src), dst), ports), proto) ^ 16);
}

// ---- filters and NAT ------------------------------------------------------------------------

/** `conntrack -D` selection, as kube-proxy uses it. All given fields must match. */
export interface ConntrackFilter {
  /** -p */
  proto?: number;
  /** --orig-src / -s */
  origSrc?: number;
  /** --orig-dst / -d */
  origDst?: number;
  /** --sport (original source port) */
  sport?: number;
  /** --dport (original destination port) */
  dport?: number;
  /** --reply-src */
  replySrc?: number;
  /** --reply-dst */
  replyDst?: number;
  /** --dst-nat <ip>: DNATed to that address (DST_NAT set and reply source = ip). */
  dstNat?: number;
  /** --src-nat <ip>: SNATed to that address (SRC_NAT set and reply destination = ip). */
  srcNat?: number;
  /** --mark */
  mark?: number;
}

export interface NatBinding {
  dnat?: { addr: number; port?: number };
  snat?: { addr: number; port?: number };
}

export interface SnatPortOptions {
  /** MASQUERADE/SNAT --random-fully: random start, no attempt to keep the original port. */
  randomFully?: boolean;
  /** Uniform uint32 source for --random-fully (a seeded stream's uint32). */
  randomU32?: () => number;
}

export interface ConntrackOptions {
  /** Node name recorded in each entry's metadata. */
  node: string;
  timeouts?: Partial<ConntrackTimeouts>;
  /** Called when a confirmed entry is destroyed (expiry, deletion, RST, reopen). */
  onDestroy?: (entry: ConntrackEntry, reason: CtDestroyReason, now: number) => void;
  /** Tuple → 32-bit hash; tests inject a weak one to exercise long probe runs. Default tupleKey. */
  keyFn?: typeof tupleKey;
  /**
   * Hash slots to start with (rounded up to a power of two; default 1,024). Each confirmed entry
   * takes two (one per tuple) and the table doubles at half load. The kernel allocates its table
   * once, at module load (nf_conntrack_buckets: total RAM / 16,384, 1,024 to 262,144 buckets since
   * Linux 5.15), and never rehashes it; a node expected to carry many connections starts near its
   * final size here, so that it does not rehash its way there while packets wait.
   */
  slots?: number;
}

/** A lookup hit; the table returns one reused object (valid until the next lookup). */
export interface CtHit {
  entry: ConntrackEntry;
  dir: CtDir;
}

// ---- the table ------------------------------------------------------------------------------

export class ConntrackTable {
  readonly node: string;
  readonly timeouts: Readonly<ConntrackTimeouts>;
  private readonly onDestroy: ConntrackOptions["onDestroy"];
  private readonly key: typeof tupleKey;
  // Both tuples of every confirmed entry, each under its hash (hashOf: never 0, HashSlots'
  // free-slot mark). Every hash passed below comes from hashOf.
  private readonly slots: HashSlots<ConntrackEntry>;
  /**
   * Confirmed entries in confirmation order (iteration order of entries()): an intrusive list
   * through the entries (no Map of every live entry to keep and rehash).
   */
  private head: ConntrackEntry | null = null;
  private tail: ConntrackEntry | null = null;
  private nConfirmed = 0;
  private nextId = 1;
  private readonly hit: CtHit = { entry: undefined as unknown as ConntrackEntry, dir: DIR_ORIGINAL };
  private lastDir: CtDir = DIR_ORIGINAL;

  /** After track(): the packet's entry (possibly unconfirmed, new) or null, and its direction. */
  cur: ConntrackEntry | null = null;
  curDir: CtDir = DIR_ORIGINAL;

  constructor(opts: ConntrackOptions) {
    this.node = opts.node;
    this.timeouts = Object.freeze({ ...DEFAULT_CONNTRACK_TIMEOUTS, ...opts.timeouts });
    this.onDestroy = opts.onDestroy;
    this.key = opts.keyFn ?? tupleKey;
    this.slots = new HashSlots<ConntrackEntry>(opts.slots ?? 1024);
  }

  /** Confirmed entries. */
  get size(): number {
    return this.nConfirmed;
  }

  /** Confirmed entries in confirmation order (destroying the entry just returned is safe). */
  *entries(): IterableIterator<ConntrackEntry> {
    for (let e = this.head; e !== null; ) {
      const next = e.nextConfirmed;
      yield e;
      e = next;
    }
  }

  /** The confirmed entry with this id (a linear scan: for tools and tests). */
  getById(id: number): ConntrackEntry | undefined {
    for (let e = this.head; e !== null; e = e.nextConfirmed) if (e.id === id) return e;
    return undefined;
  }

  // -- hash internals --

  /** A tuple's hash as the table keeps it: the key function's, as an int32, never 0 (the free-slot mark). */
  private hashOf(src: number, dst: number, sport: number, dport: number, proto: number): number {
    return this.key(src, dst, sport, dport, proto) | 0 || 1;
  }

  /** The confirmed entry (other than `ignore`) with this tuple in either direction (direction in lastDir), or null. */
  private find(h: number, src: number, dst: number, sport: number, dport: number, proto: number, ignore: ConntrackEntry | null = null): ConntrackEntry | null {
    const { hashes, vals, mask } = this.slots;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const x = hashes[i]!;
      if (x === 0) return null;
      if (x === h) {
        const e = vals[i]!;
        if (e !== ignore && this.matchDir(e, src, dst, sport, dport, proto)) return e;
      }
    }
  }

  /** Sets lastDir; true when the tuple is one of the entry's two tuples. */
  private matchDir(e: ConntrackEntry, src: number, dst: number, sport: number, dport: number, proto: number): boolean {
    if (e.proto !== proto) return false;
    if (e.origSrc === src && e.origDst === dst && e.origSport === sport && e.origDport === dport) {
      this.lastDir = DIR_ORIGINAL;
      return true;
    }
    if (e.replySrc === src && e.replyDst === dst && e.replySport === sport && e.replyDport === dport) {
      this.lastDir = DIR_REPLY;
      return true;
    }
    return false;
  }

  private unlink(e: ConntrackEntry): void {
    this.slots.remove(e.origKey, e);
    this.slots.remove(e.replyKey, e);
    if (e.prevConfirmed !== null) e.prevConfirmed.nextConfirmed = e.nextConfirmed;
    else this.head = e.nextConfirmed;
    if (e.nextConfirmed !== null) e.nextConfirmed.prevConfirmed = e.prevConfirmed;
    else this.tail = e.prevConfirmed;
    e.prevConfirmed = e.nextConfirmed = null;
    e.listed = false;
    this.nConfirmed--;
  }

  /** Removes a confirmed entry and reports it. */
  destroy(e: ConntrackEntry, reason: CtDestroyReason, now: number): void {
    if (!e.listed) return;
    this.unlink(e);
    this.onDestroy?.(e, reason, now);
  }

  // -- lookup --

  /**
   * Finds the confirmed entry a tuple belongs to, expiring it lazily when its timer ran out.
   * Direction in `lastHitDir`.
   */
  lookupTuple(src: number, dst: number, sport: number, dport: number, proto: number, now: number): ConntrackEntry | null {
    const e = this.find(this.hashOf(src, dst, sport, dport, proto), src, dst, sport, dport, proto);
    return e === null ? null : this.unexpired(e, now);
  }

  /** A found entry, or null when its timer ran out (it is destroyed now: lazy expiry). */
  private unexpired(e: ConntrackEntry, now: number): ConntrackEntry | null {
    if (e.expires <= now) {
      this.destroy(e, "timeout", now);
      return null;
    }
    return e;
  }

  /** Direction of the last successful lookupTuple. */
  get lastHitDir(): CtDir {
    return this.lastDir;
  }

  /** The packet's entry and direction, or null. Returns a reused object (no allocation). */
  lookup(pkt: Packet, now: number): CtHit | null {
    const e = this.lookupTuple(pkt.src, pkt.dst, pkt.sport, pkt.dport, pkt.proto, now);
    if (e === null) return null;
    this.hit.entry = e;
    this.hit.dir = this.lastDir;
    return this.hit;
  }

  /** For an ICMP error: the entry its embedded header belongs to (what makes it RELATED). */
  relatedEntry(pkt: Packet, now: number): ConntrackEntry | null {
    const inner = pkt.icmp?.inner;
    if (!inner) return null;
    // The embedded header is a packet that travelled towards the error's sender; the connection
    // is found by the inverse tuple (as the kernel's icmp_error_message does).
    return this.lookupTuple(inner.dst, inner.src, inner.dport, inner.sport, inner.proto, now);
  }

  /**
   * The ctstate bits (CT_*) the packet would have, without changing the table (apart from lazy
   * expiry). NEW / ESTABLISHED / RELATED / INVALID, plus CT_SNAT / CT_DNAT of its entry.
   */
  ctstateOf(pkt: Packet, now: number): number {
    if (pkt.icmp) {
      const rel = this.relatedEntry(pkt, now);
      return rel === null ? CT_INVALID : CT_RELATED | natBits(rel);
    }
    const e = this.lookupTuple(pkt.src, pkt.dst, pkt.sport, pkt.dport, pkt.proto, now);
    if (e === null) return this.canStart(pkt) ? CT_NEW : CT_INVALID;
    const dir = this.lastDir;
    if (e.proto === PROTO_TCP) {
      const next = TCP_TRANSITIONS[dir]![tcpPacketClass(pkt.flags)]![e.tcpState]!;
      if (next === IV) return CT_INVALID;
      if (dir === DIR_ORIGINAL && next === TCP_CT_SYN_SENT && e.tcpState >= TCP_CT_TIME_WAIT) return CT_NEW; // reopen
    }
    return stateBits(e, dir);
  }

  /** Whether a packet without an entry may create one (TCP: SYN or a loose-pickup ACK). */
  private canStart(pkt: Packet): boolean {
    if (pkt.icmp) return false;
    if (pkt.proto === PROTO_TCP) return TCP_TRANSITIONS[DIR_ORIGINAL]![tcpPacketClass(pkt.flags)]![TCP_CT_NONE]! >= 0;
    return true;
  }

  // -- creation, NAT, confirmation --

  /**
   * A new, unconfirmed entry for a connection's first packet (counted, state and timer set), or
   * null when the packet cannot start a connection (TCP without SYN or ACK, ICMP errors).
   */
  create(pkt: Packet, now: number): ConntrackEntry | null {
    if (!this.canStart(pkt)) return null;
    const e = newConntrackEntry(this.nextId++, pkt.proto, pkt.src, pkt.dst, pkt.sport, pkt.dport, now);
    e.origPackets = 1;
    e.origBytes = pkt.len;
    if (pkt.proto === PROTO_TCP) {
      const st = TCP_TRANSITIONS[DIR_ORIGINAL]![tcpPacketClass(pkt.flags)]![TCP_CT_NONE]! as TcpCtState;
      e.tcpState = st;
      e.expires = now + tcpTimeout(this.timeouts, st);
    } else if (pkt.proto === PROTO_UDP) {
      e.expires = now + this.timeouts.udpUnreplied;
    } else if (pkt.proto === PROTO_ICMP) {
      e.expires = now + this.timeouts.icmp;
    } else {
      e.expires = now + this.timeouts.generic;
    }
    return e;
  }

  /** Records a NAT binding: DNAT rewrites the reply source, SNAT the reply destination. */
  applyNat(e: ConntrackEntry, nat: NatBinding): void {
    const rehash = isConfirmed(e);
    if (rehash) this.slots.remove(e.replyKey, e);
    if (nat.dnat) {
      e.replySrc = nat.dnat.addr | 0;
      if (nat.dnat.port !== undefined) e.replySport = nat.dnat.port;
      e.status |= IPS_DST_NAT;
    }
    if (nat.snat) {
      e.replyDst = nat.snat.addr | 0;
      if (nat.snat.port !== undefined) e.replyDport = nat.snat.port;
      e.status |= IPS_SRC_NAT;
    }
    if (rehash) {
      e.replyKey = this.hashOf(e.replySrc, e.replyDst, e.replySport, e.replyDport, e.proto);
      this.slots.add(e.replyKey, e);
    }
  }

  /**
   * Whether a confirmed entry (other than `ignore`) already uses this tuple in either direction —
   * the kernel's nf_conntrack_tuple_taken, asked with the reply tuple a NAT choice would create.
   */
  isReplyTupleTaken(src: number, dst: number, sport: number, dport: number, proto: number, ignore?: ConntrackEntry): boolean {
    return this.takenHashed(this.hashOf(src, dst, sport, dport, proto), src, dst, sport, dport, proto, ignore);
  }

  /** isReplyTupleTaken with the tuple's hash already computed. */
  private takenHashed(h: number, src: number, dst: number, sport: number, dport: number, proto: number, ignore?: ConntrackEntry): boolean {
    return this.find(h, src, dst, sport, dport, proto, ignore ?? null) !== null;
  }

  /**
   * Source port for SNAT/MASQUERADE of an (unconfirmed) entry to `addr`: the port that keeps its
   * reply tuple unique (see the module comment). −1 when the port class is exhausted (the kernel
   * then fails the insertion and drops the packet). ICMP and port-less protocols return 0 when the
   * address alone keeps the tuple unique.
   */
  selectSnatPort(e: ConntrackEntry, addr: number, opts: SnatPortOptions = {}): number {
    const rs = e.replySrc, rsp = e.replySport, p = e.proto;
    addr = addr | 0;
    if (p !== PROTO_TCP && p !== PROTO_UDP && p !== PROTO_SCTP) {
      return this.isReplyTupleTaken(rs, addr, rsp, e.origSport, p, e) ? -1 : e.origSport;
    }
    const orig = e.origSport;
    if (!opts.randomFully && !this.isReplyTupleTaken(rs, addr, rsp, orig, p, e)) return orig;
    let min: number, size: number;
    if (orig < 512) { min = 1; size = 511; }
    else if (orig < 1024) { min = 600; size = 424; }
    else { min = 1024; size = 64512; }
    let off: number;
    if (opts.randomFully) {
      if (!opts.randomU32) throw new Error("selectSnatPort: --random-fully needs a random source");
      off = (opts.randomU32() % size) | 0; // int32: ports stay V8 small integers (see net/packet.ts)
    } else {
      off = (orig - min + 1 + size) % size; // the port after the original, within the class
    }
    for (let i = 0; i < size; i++) {
      const port = (min + ((off + i) % size)) | 0;
      if (!this.isReplyTupleTaken(rs, addr, rsp, port, p, e)) return port;
    }
    return -1;
  }

  /**
   * Inserts an entry into the hash (end of POSTROUTING / INPUT). False on a clash (one of its
   * tuples is already tracked): the kernel drops the packet and the entry vanishes.
   */
  confirm(e: ConntrackEntry): boolean {
    if (isConfirmed(e)) return true;
    const ok = this.hashOf(e.origSrc, e.origDst, e.origSport, e.origDport, e.proto);
    const rk = this.hashOf(e.replySrc, e.replyDst, e.replySport, e.replyDport, e.proto);
    if (this.takenHashed(ok, e.origSrc, e.origDst, e.origSport, e.origDport, e.proto)) return false;
    if (this.takenHashed(rk, e.replySrc, e.replyDst, e.replySport, e.replyDport, e.proto)) return false;
    e.origKey = ok;
    e.replyKey = rk;
    this.slots.add(e.origKey, e);
    this.slots.add(e.replyKey, e);
    e.status |= IPS_CONFIRMED;
    e.listed = true;
    e.prevConfirmed = this.tail;
    if (this.tail !== null) this.tail.nextConfirmed = e;
    else this.head = e;
    this.tail = e;
    this.nConfirmed++;
    return true;
  }

  // -- per-packet update --

  /**
   * Runs the protocol tracker for a packet of an existing entry: counters, TCP state, status bits,
   * timer. Returns CT_UPDATE_*; on KILLED/REOPEN the entry has been destroyed.
   */
  update(e: ConntrackEntry, pkt: Packet, dir: CtDir, now: number): CtUpdateResult {
    const t = this.timeouts;
    if (e.proto === PROTO_TCP) {
      const old = e.tcpState;
      const next = TCP_TRANSITIONS[dir]![tcpPacketClass(pkt.flags)]![old]!;
      if (next === IV) return CT_UPDATE_INVALID;
      if (dir === DIR_ORIGINAL && next === TCP_CT_SYN_SENT && old >= TCP_CT_TIME_WAIT) {
        // A new SYN on a closed connection's tuple: the old entry goes, the SYN starts over.
        this.destroy(e, "reopened", now);
        return CT_UPDATE_REOPEN;
      }
      if (next === IG) {
        // Ignored: accepted without refreshing the timer or counting (the kernel returns early),
        // but nf_conntrack_in still notes that a reply was seen.
        if (dir === DIR_REPLY) e.status |= IPS_SEEN_REPLY;
        return CT_UPDATE_OK;
      }
      this.count(e, pkt, dir);
      if (!(e.status & IPS_SEEN_REPLY) && (pkt.flags & TCP_RST)) {
        // A RST before any reply (typically the only reply: connection refused): the kernel
        // kills the entry at once instead of keeping it in CLOSE.
        this.destroy(e, "rst-unreplied", now);
        return CT_UPDATE_KILLED;
      }
      if (next === TCP_CT_ESTABLISHED && (old === TCP_CT_SYN_RECV || old === TCP_CT_ESTABLISHED)) e.status |= IPS_ASSURED;
      e.tcpState = next as TcpCtState;
      if (dir === DIR_REPLY) e.status |= IPS_SEEN_REPLY;
      e.expires = now + tcpTimeout(t, next);
      return CT_UPDATE_OK;
    }
    this.count(e, pkt, dir);
    if (dir === DIR_REPLY) e.status |= IPS_SEEN_REPLY;
    if (e.proto === PROTO_UDP) {
      if (e.status & IPS_SEEN_REPLY) {
        if (now - e.created >= t.udpStreamAfter) {
          e.status |= IPS_ASSURED;
          e.expires = now + t.udpStream;
        } else {
          e.expires = now + t.udpUnreplied;
        }
      } else {
        e.expires = now + t.udpUnreplied;
      }
    } else if (e.proto === PROTO_ICMP) {
      e.expires = now + t.icmp;
    } else {
      if (e.status & IPS_SEEN_REPLY) e.status |= IPS_ASSURED;
      e.expires = now + t.generic;
    }
    return CT_UPDATE_OK;
  }

  private count(e: ConntrackEntry, pkt: Packet, dir: CtDir): void {
    if (dir === DIR_ORIGINAL) {
      e.origPackets++;
      e.origBytes += pkt.len;
    } else {
      e.replyPackets++;
      e.replyBytes += pkt.len;
    }
  }

  /**
   * nf_conntrack_in for one packet: look up (lazy expiry), update or create. Returns the ctstate
   * bits; `cur`/`curDir` hold the entry (a new one is unconfirmed: confirm it at the end of
   * POSTROUTING/INPUT, or drop it) or null for INVALID packets and unrelated ICMP errors.
   * The nat table must run only for a fresh (unconfirmed) entry — not merely for ctstate NEW:
   * a retransmitted SYN is still NEW but follows the existing NAT binding.
   * Not modelled here: ICMP errors generated locally by REJECT (the kernel attaches them to the
   * rejected packet's conntrack with nf_ct_attach); the datapath delivers those directly.
   *
   * `hint`: an entry the caller expects the packet to belong to (the datapath remembers each
   * flow's entry per node). When it is still in the table and one of its tuples is the packet's,
   * it is the entry the hash lookup would find (a tuple belongs to one confirmed entry at most),
   * and the lookup is skipped; otherwise the hint changes nothing.
   */
  track(pkt: Packet, now: number, hint: ConntrackEntry | null = null): number {
    this.cur = null;
    this.curDir = DIR_ORIGINAL;
    if (pkt.icmp) {
      const rel = this.relatedEntry(pkt, now);
      if (rel === null) return CT_INVALID;
      this.cur = rel;
      this.curDir = this.lastDir; // the error travels the way the inverted embedded tuple does
      return CT_RELATED | natBits(rel);
    }
    let e = hint !== null && hint.listed && this.matchDir(hint, pkt.src, pkt.dst, pkt.sport, pkt.dport, pkt.proto)
      ? this.unexpired(hint, now)
      : this.lookupTuple(pkt.src, pkt.dst, pkt.sport, pkt.dport, pkt.proto, now);
    if (e !== null) {
      const dir = this.lastDir;
      const r = this.update(e, pkt, dir, now);
      if (r === CT_UPDATE_INVALID) return CT_INVALID;
      if (r !== CT_UPDATE_REOPEN) {
        this.cur = e;
        this.curDir = dir;
        return stateBits(e, dir);
      }
    }
    e = this.create(pkt, now);
    if (e === null) return CT_INVALID;
    this.cur = e;
    return CT_NEW;
  }

  // -- housekeeping --

  /** Removes every expired entry (reporting each through onDestroy). Returns how many. */
  sweep(now: number): number {
    const before = this.nConfirmed;
    this.sweepNext(now);
    return before - this.nConfirmed;
  }

  /**
   * sweep(now), and in the same pass the earliest expiry among the entries that remain (Infinity
   * when none): what the datapath's periodic sweep needs to schedule the next one.
   */
  sweepNext(now: number): number {
    let next = Infinity;
    for (let e = this.head; e !== null; ) {
      const after = e.nextConfirmed;
      if (e.expires <= now) this.destroy(e, "timeout", now);
      else if (e.expires < next) next = e.expires;
      e = after;
    }
    return next;
  }

  /** `conntrack -D` with a filter; returns the number of entries deleted. */
  delete(f: ConntrackFilter, now: number): number {
    let n = 0;
    for (let e = this.head; e !== null; ) {
      const next = e.nextConfirmed;
      if (e.expires > now && matchesFilter(e, f)) {
        // (an entry already past its expiry is dead: the next lookup or sweep reports it)
        this.destroy(e, "deleted", now);
        n++;
      }
      e = next;
    }
    return n;
  }
}

function natBits(e: ConntrackEntry): number {
  return (e.status & IPS_SRC_NAT ? CT_SNAT : 0) | (e.status & IPS_DST_NAT ? CT_DNAT : 0);
}

function stateBits(e: ConntrackEntry, dir: CtDir): number {
  const base = dir === DIR_REPLY || e.status & IPS_SEEN_REPLY ? CT_ESTABLISHED : CT_NEW;
  return base | natBits(e);
}

export function matchesFilter(e: ConntrackEntry, f: ConntrackFilter): boolean {
  if (f.proto !== undefined && e.proto !== f.proto) return false;
  if (f.origSrc !== undefined && e.origSrc !== (f.origSrc | 0)) return false;
  if (f.origDst !== undefined && e.origDst !== (f.origDst | 0)) return false;
  if (f.sport !== undefined && e.origSport !== f.sport) return false;
  if (f.dport !== undefined && e.origDport !== f.dport) return false;
  if (f.replySrc !== undefined && e.replySrc !== (f.replySrc | 0)) return false;
  if (f.replyDst !== undefined && e.replyDst !== (f.replyDst | 0)) return false;
  if (f.dstNat !== undefined && (!(e.status & IPS_DST_NAT) || e.replySrc !== (f.dstNat | 0))) return false;
  if (f.srcNat !== undefined && (!(e.status & IPS_SRC_NAT) || e.replyDst !== (f.srcNat | 0))) return false;
  if (f.mark !== undefined && e.mark !== f.mark) return false;
  return true;
}

// ---- NAT packet rewrites --------------------------------------------------------------------

/**
 * Destination rewrite at PREROUTING/OUTPUT (nf_nat_packet, NF_NAT_MANIP_DST): original packets of
 * a DNATed entry get the endpoint; replies of an SNATed entry get the original source back.
 * Returns the same packet when nothing changes, else a new value.
 */
export function manipDst(e: ConntrackEntry, dir: CtDir, pkt: Packet): Packet {
  if (dir === DIR_ORIGINAL) {
    if (!(e.status & IPS_DST_NAT)) return pkt;
    return withDstPort(pkt, e.replySrc, e.replySport);
  }
  if (!(e.status & IPS_SRC_NAT)) return pkt;
  return withDstPort(pkt, e.origSrc, e.origSport);
}

// Explicit literals rather than spreads (hot path); without `icmp` when the packet has none, so
// the copy has exactly the original's properties.
function withDstPort(p: Packet, dst: IPv4, dport: number): Packet {
  return p.icmp === undefined
    ? { src: p.src, dst, sport: p.sport, dport, proto: p.proto, flags: p.flags, len: p.len }
    : { ...p, dst, dport };
}
function withSrcPort(p: Packet, src: IPv4, sport: number): Packet {
  return p.icmp === undefined
    ? { src, dst: p.dst, sport, dport: p.dport, proto: p.proto, flags: p.flags, len: p.len }
    : { ...p, src, sport };
}

/**
 * Source rewrite at POSTROUTING/INPUT (NF_NAT_MANIP_SRC): original packets of an SNATed entry get
 * the masquerade address and port; replies of a DNATed entry get the service address back.
 */
export function manipSrc(e: ConntrackEntry, dir: CtDir, pkt: Packet): Packet {
  if (dir === DIR_ORIGINAL) {
    if (!(e.status & IPS_SRC_NAT)) return pkt;
    return withSrcPort(pkt, e.replyDst, e.replyDport);
  }
  if (!(e.status & IPS_DST_NAT)) return pkt;
  return withSrcPort(pkt, e.origDst, e.origDport);
}

/**
 * manipSrc(e, dir, manipDst(e, dir, pkt)) in one copy, for a packet whose hooks between the two
 * rewrites are replayed rather than run (the datapath's path cache): nothing reads the
 * half-translated packet.
 */
export function manipBoth(e: ConntrackEntry, dir: CtDir, pkt: Packet): Packet {
  const st = e.status;
  if ((st & (IPS_DST_NAT | IPS_SRC_NAT)) === 0) return pkt;
  let dst = pkt.dst, dport = pkt.dport, src = pkt.src, sport = pkt.sport;
  if (dir === DIR_ORIGINAL) {
    if (st & IPS_DST_NAT) { dst = e.replySrc; dport = e.replySport; }
    if (st & IPS_SRC_NAT) { src = e.replyDst; sport = e.replyDport; }
  } else {
    if (st & IPS_SRC_NAT) { dst = e.origSrc; dport = e.origSport; }
    if (st & IPS_DST_NAT) { src = e.origDst; sport = e.origDport; }
  }
  return pkt.icmp === undefined
    ? { src, dst, sport, dport, proto: pkt.proto, flags: pkt.flags, len: pkt.len }
    : { ...pkt, src, dst, sport, dport };
}

// ---- conntrack -L ---------------------------------------------------------------------------

/** The conntrack-tools release whose output svcsim reproduces. */
export const CONNTRACK_TOOLS_VERSION = "1.4.7";

function tupleText(proto: number, src: number, dst: number, sport: number, dport: number, reply: boolean): string {
  if (proto === PROTO_ICMP) {
    // ICMP echo entries: svcsim does not model ICMP ids (printed as id=0).
    return `src=${formatIPv4(src)} dst=${formatIPv4(dst)} type=${reply ? 0 : 8} code=0 id=${sport}`;
  }
  return `src=${formatIPv4(src)} dst=${formatIPv4(dst)} sport=${sport} dport=${dport}`;
}

/** One `conntrack -L` line (default output, accounting off, no zones or secctx). */
export function formatConntrackEntry(e: ConntrackEntry, now: number): string {
  const name = String(protoName(e.proto));
  const secs = Math.max(0, Math.floor((e.expires - now) / S));
  let line = `${name.padEnd(8)} ${e.proto} ${secs} `;
  if (e.proto === PROTO_TCP) line += `${TCP_CT_STATE_NAMES[e.tcpState]} `;
  line += tupleText(e.proto, e.origSrc, e.origDst, e.origSport, e.origDport, false) + " ";
  if (!(e.status & IPS_SEEN_REPLY)) line += "[UNREPLIED] ";
  line += tupleText(e.proto, e.replySrc, e.replyDst, e.replySport, e.replyDport, true) + " ";
  if (e.status & IPS_ASSURED) line += "[ASSURED] ";
  line += `mark=${e.mark} use=1`;
  return line;
}

/**
 * `conntrack -L` output for the given entries (in the given order; the kernel's hash order is not
 * reproduced, callers choose a canonical order). `summary` is the line conntrack prints to stderr.
 */
export function formatConntrackL(entries: Iterable<ConntrackEntry>, now: number): { lines: string[]; summary: string } {
  const lines: string[] = [];
  for (const e of entries) lines.push(formatConntrackEntry(e, now));
  return { lines, summary: `conntrack v${CONNTRACK_TOOLS_VERSION} (conntrack-tools): ${lines.length} flow entries have been shown.` };
}
