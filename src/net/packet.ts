/**
 * Protocol numbers, TCP flags, 5-tuples and the packet value.
 *
 * A packet is an immutable value: headers only. NAT produces a new packet value.
 * Simulation metadata (request id, flow id, which client sent it) lives beside the headers
 * in the datapath, never inside them.
 */
import type { IPv4 } from "./ip.ts";
import { formatIPv4 } from "./ip.ts";

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_SCTP = 132;
export type ProtoNum = typeof PROTO_ICMP | typeof PROTO_TCP | typeof PROTO_UDP | typeof PROTO_SCTP;

export type ProtoName = "tcp" | "udp" | "sctp" | "icmp";
export const PROTO_BY_NAME: Readonly<Record<ProtoName, ProtoNum>> = { tcp: PROTO_TCP, udp: PROTO_UDP, sctp: PROTO_SCTP, icmp: PROTO_ICMP };
export function protoName(p: number): ProtoName | string {
  switch (p) {
    case PROTO_TCP: return "tcp";
    case PROTO_UDP: return "udp";
    case PROTO_SCTP: return "sctp";
    case PROTO_ICMP: return "icmp";
    default: return String(p);
  }
}
/** Kubernetes spells protocols upper-case ("TCP"); iptables lower-case. */
export type K8sProtocol = "TCP" | "UDP" | "SCTP";
export function k8sProtoToNum(p: K8sProtocol): ProtoNum {
  return p === "TCP" ? PROTO_TCP : p === "UDP" ? PROTO_UDP : PROTO_SCTP;
}

// TCP flags, as in the TCP header.
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

/** ICMP types/codes svcsim produces (REJECT --reject-with icmp-port-unreachable). */
export const ICMP_DEST_UNREACH = 3;
export const ICMP_PORT_UNREACH = 3;

/**
 * A packet header. Every numeric field is an int32 (addresses as signed 32-bit words, ports and
 * flags as small integers), and whatever computes one returns it as such (`| 0` after arithmetic
 * on doubles, as Stream.int and the MASQUERADE port choice do): V8 then keeps the fields as small
 * integers in the object. A single double stored into a port (41083.0 from `Math.floor(…)` is
 * one) turns the field into a boxed number in every packet after it: one more allocation per
 * field and packet, and slower reads, all run long.
 */
export interface Packet {
  readonly src: IPv4;
  readonly dst: IPv4;
  readonly sport: number; // 0 for ICMP
  readonly dport: number; // 0 for ICMP
  readonly proto: ProtoNum;
  /** TCP flags bitmask (TCP_*); 0 for other protocols. */
  readonly flags: number;
  /** Total IP length in bytes (counted by iptables byte counters). */
  readonly len: number;
  /**
   * For ICMP errors: the 5-tuple of the packet that caused it (the embedded header),
   * so conntrack can relate it (ctstate RELATED) and the sender can map it to a socket.
   */
  readonly icmp?: { readonly type: number; readonly code: number; readonly inner: FiveTuple };
}

export interface FiveTuple {
  readonly src: IPv4;
  readonly dst: IPv4;
  readonly sport: number;
  readonly dport: number;
  readonly proto: ProtoNum;
}

export function tupleOf(p: Packet): FiveTuple {
  return { src: p.src, dst: p.dst, sport: p.sport, dport: p.dport, proto: p.proto };
}

export function reverseTuple(t: FiveTuple): FiveTuple {
  return { src: t.dst, dst: t.src, sport: t.dport, dport: t.sport, proto: t.proto };
}

/** Human-readable tuple, for output only (never on the per-packet path). */
export function formatTuple(t: FiveTuple): string {
  return `${protoName(t.proto)} ${formatIPv4(t.src)}:${t.sport} -> ${formatIPv4(t.dst)}:${t.dport}`;
}

export function makePacket(p: Packet): Packet {
  return p; // readonly by type; no freeze on the per-packet path
}
