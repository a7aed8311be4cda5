/**
 * Requests per (client address, endpoint): the view that shows ClientIP session affinity (every
 * request from one source address reaching one endpoint for the affinity window) and what the
 * server saw as the source (client address kept under externalTrafficPolicy Local, a node's
 * address after MASQUERADE under Cluster).
 *
 * Computed from the run's request and connection records alone: a request's client address is
 * the local address of the connection (TCP) or socket (UDP) that carried it.
 */
import { compareIPv4, endpointKey, formatHostPort, formatIPv4 } from "../net/ip.ts";
import type { ConnectionRecord, RequestRecord } from "./types.ts";

export interface ClientEndpointRow {
  /** Source address the client sent from (before any SNAT). */
  readonly clientAddr: string;
  /** Endpoint ip:port that answered. */
  readonly endpoint: string;
  /** The pod that answered. */
  readonly pod: string;
  /** Source addresses the server saw, sorted. */
  readonly seenSources: readonly string[];
  readonly requests: number;
}

/** Answered requests grouped by (client address, endpoint), sorted by client address then endpoint. */
export function requestsByClientAndEndpoint(requests: readonly RequestRecord[], connections: readonly ConnectionRecord[]): ClientEndpointRow[] {
  const local = new Map<number, number>();
  for (const c of connections) local.set(c.id, c.localAddr);
  const acc = new Map<string, { clientAddr: number; endpoint: string; pod: string; seen: Set<number>; requests: number; epKey: number }>();
  for (const r of requests) {
    if (r.outcome !== "ok") continue;
    const addr = local.get(r.connection);
    if (addr === undefined) continue;
    const k = `${addr}|${r.endpointAddr}:${r.endpointPort}`;
    let a = acc.get(k);
    if (a === undefined) {
      a = { clientAddr: addr, endpoint: formatHostPort(r.endpointAddr, r.endpointPort), pod: r.servedBy, seen: new Set(), requests: 0, epKey: endpointKey(r.endpointAddr, r.endpointPort) };
      acc.set(k, a);
    }
    a.requests++;
    a.seen.add(r.seenSrc);
  }
  return [...acc.values()]
    .sort((x, y) => compareIPv4(x.clientAddr, y.clientAddr) || x.epKey - y.epKey)
    .map((a) => ({
      clientAddr: formatIPv4(a.clientAddr),
      endpoint: a.endpoint,
      pod: a.pod,
      seenSources: [...a.seen].sort(compareIPv4).map(formatIPv4),
      requests: a.requests,
    }));
}
