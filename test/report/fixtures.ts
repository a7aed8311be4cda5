/**
 * Synthetic traces for report tests: request.outcome records (plus optional scenario events),
 * built from a compact description, and the matching ReportInput.
 */
import type { RequestOutcome, RequestOutcomeReason, TraceRecord } from "../../src/engine/trace.ts";
import { parseIPv4 } from "../../src/net/ip.ts";
import type { ReportInput, ServiceInput } from "../../src/report/model.ts";

export const CLUSTER_IP = "10.0.91.192";
export const PODS = [
  { pod: "hostnames-85bc9c579-dsmh9", ip: "10.1.161.47", node: "node-1" },
  { pod: "hostnames-85bc9c579-tx87g", ip: "10.1.166.146", node: "node-2" },
  { pod: "hostnames-85bc9c579-zndz2", ip: "10.1.166.166", node: "node-2" },
] as const;
export const PORT = 9376;

export function hostnamesService(shares: readonly number[] = [1 / 3, 1 / 3, 1 / 3]): ServiceInput {
  return {
    service: "default/hostnames",
    port: "default",
    portNumber: 80,
    clusterIP: CLUSTER_IP,
    endpoints: PODS.map((p, i) => ({ pod: p.pod, address: `${p.ip}:${PORT}`, node: p.node, expectedShare: shares[i]! })),
  };
}

export interface Req {
  client?: string;
  /** Endpoint index into PODS, or -1 for none reached. */
  ep: number;
  flow: number;
  outcome?: RequestOutcome;
  reason?: RequestOutcomeReason;
  /** Latency (ns); default 1 ms. */
  latency?: number;
  /** Completion time (ns); default: sequential, 10 ms apart. */
  time?: number;
}

/** request.outcome records for the requests, in completion-time order. */
export function requestRecords(reqs: readonly Req[]): TraceRecord[] {
  const recs = reqs.map((r, i) => {
    const time = r.time ?? (i + 1) * 10_000_000;
    const latency = r.latency ?? 1_000_000;
    const outcome = r.outcome ?? "ok";
    const p = r.ep >= 0 ? PODS[r.ep]! : undefined;
    return {
      type: "request.outcome" as const,
      time,
      client: r.client ?? "curl",
      requestId: i + 1,
      flow: r.flow,
      outcome,
      reason: r.reason ?? (outcome === "ok" ? "response" : "connect-timeout"),
      start: time - latency,
      ...(p && outcome === "ok" ? { servedBy: p.pod } : {}),
      ...(p ? { endpointAddr: parseIPv4(p.ip), endpointPort: PORT } : {}),
      targetAddr: parseIPv4(CLUSTER_IP),
      targetPort: 80,
      attempts: 1,
    };
  });
  return recs.sort((a, b) => a.time - b.time);
}

/** `counts[i]` requests to endpoint i, interleaved round-robin-ish, one connection each. */
export function splitRequests(counts: readonly number[]): Req[] {
  const out: Req[] = [];
  const left = [...counts];
  let flow = 1;
  while (left.some((n) => n > 0)) {
    for (let i = 0; i < left.length; i++) {
      if (left[i]! > 0) {
        left[i]!--;
        out.push({ ep: i, flow: flow++, latency: 1_000_000 + ((flow * 7919) % 1000) * 1000 });
      }
    }
  }
  return out;
}

/** Keep-alive clients: client k sends `perClient` requests over one connection pinned to endpoint eps[k]. */
export function keepAliveRequests(eps: readonly number[], perClient: number): Req[] {
  const out: Req[] = [];
  for (let j = 0; j < perClient; j++) for (let k = 0; k < eps.length; k++) out.push({ client: `client-${k + 1}`, ep: eps[k]!, flow: k + 1 });
  return out;
}

export function input(trace: TraceRecord[], extra: Partial<ReportInput> = {}): ReportInput {
  return {
    meta: { scenario: "hostnames-clusterip", description: "Three serve_hostname pods behind a ClusterIP Service.", seed: 1, profile: "v1.16", generatedBy: "svcsim" },
    trace,
    services: [hostnamesService()],
    ...extra,
  };
}
