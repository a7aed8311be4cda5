/**
 * Timed runs of the breadth fixture cluster (test/fixtures/breadth/timed.yaml): outside clients
 * reach Services by externalIP (routed to node-1), LB IP (the cloud LB's per-connection choice
 * among health-checked nodes) and nodeIP:nodePort; a UDP client queries the DNS-like Service.
 * Each row says what every request of one client must have ended as.
 */
import { resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadScenario } from "../../src/scenario/load.ts";
import { runScenario, type RunResult } from "../../src/scenario/run.ts";
import { formatIPv4 } from "../../src/net/ip.ts";
import { BREADTH } from "./breadth-helpers.ts";

let r: RunResult;
beforeAll(() => {
  r = runScenario(loadScenario(resolve(BREADTH, "timed.yaml")).scenario);
});

interface Row {
  name: string;
  client: string;
  outcome: "ok" | "refused" | "timeout-connect";
  /** Pods that may answer (all of them must appear when `all` is set). */
  pods?: string[];
  all?: boolean;
  /** Source addresses the pods saw. */
  seen?: string[];
  /** Exactly this many ms from start to end (timeouts). */
  ms?: number;
}

const rows: Row[] = [
  { name: "externalIP (eTP Cluster), routed to node-1: every pod, masqueraded to node-1", client: "ext-ip", outcome: "ok", pods: ["web-a", "web-b", "web-c"], all: true, seen: ["192.168.0.11"] },
  { name: "externalIP of an eTP Local Service at node-1: node-1's pod, client address kept", client: "ext-ip-local", outcome: "ok", pods: ["web-a"], seen: ["198.51.100.7"] },
  { name: "LB IP, client inside loadBalancerSourceRanges: the LB spreads over all nodes, each masquerades", client: "lb-in-range", outcome: "ok", pods: ["web-a", "web-b", "web-c"], all: true, seen: ["192.168.0.11", "192.168.0.12", "192.168.0.13"] },
  { name: "LB IP, client outside the ranges: KUBE-PROXY-FIREWALL drops, connect timeout", client: "lb-out-of-range", outcome: "timeout-connect", ms: 2000 },
  { name: "LB IP, eTP Local: only node-1 and node-2 pass the health check; client address kept", client: "lb-local", outcome: "ok", pods: ["web-a", "web-b", "web-c"], all: true, seen: ["198.51.100.9"] },
  { name: "nodePort of an eTP Local Service on node-3 (no local endpoint): dropped", client: "np-local-node3", outcome: "timeout-connect", ms: 2000 },
  { name: "nodePort (eTP Cluster) on node-3: forwarded to other nodes, masqueraded to node-3", client: "np-cluster-node3", outcome: "ok", pods: ["web-a", "web-b", "web-c"], all: true, seen: ["192.168.0.13"] },
  { name: "ClusterIP with ClientIP affinity from outside (via node-1): one pod for all 30 connections", client: "sticky-outside", outcome: "ok", seen: ["192.168.0.11"] },
  { name: "LB IP of a Service without endpoints: refused", client: "empty-lb", outcome: "refused" },
  { name: "UDP query to the DNS-like Service: answered by udp-a, source kept (pod → ClusterIP)", client: "dns", outcome: "ok", pods: ["udp-a"], seen: ["10.1.3.100"] },
  { name: "UDP datagram to a port nobody listens on: ICMP port unreachable → refused", client: "dns-refused", outcome: "refused" },
];

describe("timed run: outside clients, LB, externalIP, nodePort, affinity, UDP", () => {
  it.each(rows)("$name", (row) => {
    const qs = r.requests.filter((q) => q.client === row.client);
    expect(qs.length).toBeGreaterThan(0);
    for (const q of qs) expect(q.outcome).toBe(row.outcome);
    if (row.ms !== undefined) for (const q of qs) expect(q.end - q.start).toBe(row.ms * 1e6);
    const served = new Set(qs.map((q) => q.servedBy).filter((p) => p !== ""));
    if (row.pods) for (const p of served) expect(row.pods).toContain(p);
    if (row.all) expect([...served].sort()).toEqual(row.pods);
    if (row.seen) expect([...new Set(qs.map((q) => formatIPv4(q.seenSrc)))].sort()).toEqual(row.seen);
  });

  it("affinity from outside: a single pod answered sticky-outside", () => {
    expect(new Set(r.requests.filter((q) => q.client === "sticky-outside").map((q) => q.servedBy)).size).toBe(1);
  });

  it("eTP Local behind the LB: node-1's single pod gets about half (the LB balances nodes, not pods)", () => {
    const qs = r.requests.filter((q) => q.client === "lb-local");
    const a = qs.filter((q) => q.servedBy === "web-a").length / qs.length;
    expect(a).toBeGreaterThan(0.3);
    expect(a).toBeLessThan(0.7);
  });

  it("UDP: every query used its own socket, and the reply came back from the Service address", () => {
    const qs = r.requests.filter((q) => q.client === "dns");
    expect(new Set(qs.map((q) => q.connection)).size).toBe(qs.length);
    for (const q of qs) expect(q.body).toMatch(/^dns\n10\.1\.3\.100:\d+$/);
  });
});
