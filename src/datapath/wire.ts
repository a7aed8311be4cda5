/**
 * The seam between a host's socket layer (traffic/) and the network that carries its packets
 * (datapath/network.ts, or a test's fake wire).
 *
 * A host hands a packet to the wire with `send`; the wire later hands packets addressed to the
 * host to its `SocketReceiver`. Simulation metadata (flow id, request/response payload) travels
 * beside the headers as `flow` and `meta`; the network never looks inside `meta`.
 *
 * Fates: the wire decides every packet's single fate. A packet that reaches a host ends with the
 * code the receiver returns (RECV_*), which the wire turns into a trace fate.
 */
import type { Packet } from "../net/packet.ts";

/** Handed to the socket layer and consumed there (a listening or connected socket took it). */
export const RECV_SOCKET = 0;
/** An ICMP error matched the socket whose packet caused it. */
export const RECV_ICMP = 1;
/** No socket wanted it (stale segment, RST or ICMP for a connection already gone): discarded. */
export const RECV_CLOSED = 2;
/** TCP segment for a port/connection nobody holds: answered with RST, the segment ends here. */
export const RECV_RST = 3;
export type RecvCode = typeof RECV_SOCKET | typeof RECV_ICMP | typeof RECV_CLOSED | typeof RECV_RST;

export interface SocketReceiver {
  /** A packet arrived at this host (at sim.now). Must not throw for any packet content. */
  receive(pkt: Packet, flow: number, meta: unknown): RecvCode;
}

export interface Wire {
  /**
   * Sends a packet from host `host` (the id the wire gave it) now. `flow` is the connection id
   * (-1 when none); `meta` is carried unchanged to the receiver.
   */
  send(host: number, pkt: Packet, flow: number, meta: unknown): void;
}
