/**
 * Records the traffic layer produces (one per request, one per client connection) and the
 * payload metadata that rides beside the headers of request/response segments.
 *
 * Payload metadata is simulation bookkeeping, not packet content: the server learns the request
 * id from it so a request record can name the pod that served it. The pod never sees anything a
 * real server would not (it learns the source address from the packet headers, as a server does).
 */
import type { SimTime } from "../engine/time.ts";

/**
 * What a request ended as, from the client's side (curl's view):
 * - ok: a complete response arrived;
 * - refused: connect failed with ECONNREFUSED (ICMP port unreachable from a REJECT, or a RST to the SYN);
 * - reset: the connection was reset after it was established (RST while waiting for the response);
 * - timeout-connect: no SYN-ACK before the connect timeout (or tcp_syn_retries ran out);
 * - timeout-request: curl --max-time expired before the response was complete;
 * - no-local-port: connect() found no free ephemeral port for the 4-tuple (EADDRNOTAVAIL).
 */
export type RequestOutcomeKind = "ok" | "refused" | "reset" | "timeout-connect" | "timeout-request" | "no-local-port";

export const REQUEST_OUTCOMES: readonly RequestOutcomeKind[] = ["ok", "refused", "reset", "timeout-connect", "timeout-request", "no-local-port"];

export interface RequestRecord {
  /** Run-wide request id (issue order). */
  readonly id: number;
  readonly client: string;
  /** Per-client sequence number, 0-based. */
  readonly seq: number;
  readonly start: SimTime;
  readonly end: SimTime;
  readonly outcome: RequestOutcomeKind;
  /** Connection (flow) id that carried it; -1 when no connection could be opened. */
  readonly connection: number;
  /** Whether it reused a keep-alive connection. */
  readonly reused: boolean;
  /** SYNs sent for the connection this request opened (0 when reused). */
  readonly attempts: number;
  /** Target as the client addressed it. */
  readonly targetAddr: number;
  readonly targetPort: number;
  /** The serving pod ("" when no response) and the endpoint address/port it answered on (0 when none). */
  readonly servedBy: string;
  readonly endpointAddr: number;
  readonly endpointPort: number;
  /** Source address and port the server saw (after any SNAT/MASQUERADE); 0 when none. */
  readonly seenSrc: number;
  readonly seenSport: number;
  /** The response body ("" when none). */
  readonly body: string;
}

export type ConnectionEnd = "closed" | "refused" | "reset" | "timeout-connect" | "aborted" | "open";

export interface ConnectionRecord {
  /** Flow id (also the flow id of every packet of this connection). */
  readonly id: number;
  readonly client: string;
  /** Client side address and ephemeral port as the client bound it. */
  readonly localAddr: number;
  readonly localPort: number;
  readonly targetAddr: number;
  readonly targetPort: number;
  readonly opened: SimTime;
  /** -1 when the handshake never completed. */
  established: SimTime;
  /** When the client socket left ESTABLISHED/SYN_SENT for good (-1 while open). */
  closed: SimTime;
  synsSent: number;
  requests: number;
  end: ConnectionEnd;
  servedBy: string;
  endpointAddr: number;
  endpointPort: number;
  seenSrc: number;
  seenSport: number;
}

/** Request metadata carried beside the request segment's headers. */
export interface RequestMeta {
  readonly kind: "request";
  readonly id: number;
  readonly method: string;
  readonly path: string;
  readonly host: string;
}

/** Response metadata carried beside the response segment's headers. */
export interface ResponseMeta {
  readonly kind: "response";
  readonly requestId: number;
  readonly status: number;
  readonly body: string;
  readonly servedBy: string;
  readonly endpointAddr: number;
  readonly endpointPort: number;
  readonly seenSrc: number;
  readonly seenSport: number;
  /** "Connection: close": the server closes the connection after this response (it is shutting down). */
  readonly close?: boolean;
}
