/**
 * The breadth labs (scenarios/labs/*.yaml) run end to end, checking what each one teaches:
 * - session-affinity: every client address reaches exactly one endpoint for the whole run (and the
 *   JSON report of `./sim run` shows it per client), while the Service without affinity spreads;
 * - nodeport-traffic-policy: eTP Local keeps the client's address, Cluster shows the node's; a node
 *   without a local endpoint drops (timeout); the LB spreads Local traffic per node (imbalance);
 * - no-endpoints-vs-itp-local: no endpoints → refused at once; iTP Local with no local endpoint →
 *   connect timeout;
 * - udp-source-port: one source port → one endpoint; fresh ports → spread.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadScenario } from "../../src/scenario/load.ts";
import { runScenario, type RunResult } from "../../src/scenario/run.ts";
import { requestsByClientAndEndpoint } from "../../src/traffic/affinity.ts";
import { formatIPv4 } from "../../src/net/ip.ts";
import type { RequestRecord } from "../../src/traffic/types.ts";
import { ROOT } from "./run-cli.ts";
import { simAsync } from "./breadth-helpers.ts";

const lab = (name: string) => resolve(ROOT, "scenarios/labs", `${name}.yaml`);
const run = (name: string): RunResult => runScenario(loadScenario(lab(name)).scenario);
const of = (r: RunResult, client: string): RequestRecord[] => r.requests.filter((q) => q.client === client);
const pods = (qs: readonly RequestRecord[]) => new Set(qs.filter((q) => q.outcome === "ok").map((q) => q.servedBy));

describe("session-affinity lab", () => {
  let r: RunResult;
  beforeAll(() => { r = run("session-affinity"); });

  it.each(["pod-a", "pod-b", "node-3"])("client %s: all 60 requests answered by one pod", (c) => {
    const qs = of(r, c);
    expect(qs.length).toBe(60);
    expect(qs.every((q) => q.outcome === "ok")).toBe(true);
    expect(pods(qs).size).toBe(1);
  });

  it("the same address later (pod-a-later, 5 s on) reaches pod-a's endpoint", () => {
    expect([...pods(of(r, "pod-a-later"))]).toEqual([...pods(of(r, "pod-a"))]);
  });

  it("without affinity the same pod's 60 curls reach all three pods", () => {
    expect(pods(of(r, "plain")).size).toBe(3);
  });

  it("requests per (client address, endpoint): one row per address for the sticky Service", () => {
    const stickyIds = new Set(r.requests.filter((q) => q.client !== "plain").map((q) => q.connection));
    const rows = requestsByClientAndEndpoint(r.requests.filter((q) => stickyIds.has(q.connection)), r.connections);
    const byAddr = new Map<string, number>();
    for (const row of rows) byAddr.set(row.clientAddr, (byAddr.get(row.clientAddr) ?? 0) + 1);
    expect([...byAddr.values()]).toEqual([1, 1, 1]);
    expect(rows.reduce((s, x) => s + x.requests, 0)).toBe(200);
  });

  it("./sim run --json: the report's per-client endpoint table shows the stickiness", async () => {
    const out = mkdtempSync(join(tmpdir(), "svcsim-breadth-"));
    const res = await simAsync(["run", lab("session-affinity"), "--json", "--no-charts", "--out", out]);
    expect(res.code, res.stderr).toBe(0);
    const report = JSON.parse(res.stdout) as { clients: { client: string; endpoints: { requests: number }[] }[] };
    for (const name of ["pod-a", "pod-b", "node-3"]) {
      const c = report.clients.find((x) => x.client === name)!;
      expect(c.endpoints.filter((e) => e.requests > 0).length).toBe(1);
    }
    const plain = report.clients.find((x) => x.client === "plain")!;
    expect(plain.endpoints.filter((e) => e.requests > 0).length).toBe(3);
  }, 60_000);
});

describe("nodeport-traffic-policy lab", () => {
  let r: RunResult;
  beforeAll(() => { r = run("nodeport-traffic-policy"); });
  const seen = (c: string) => new Set(of(r, c).filter((q) => q.outcome === "ok").map((q) => formatIPv4(q.seenSrc)));

  it("eTP Cluster through node-1's nodePort: the pod sees node-1's address, all three pods serve", () => {
    expect(of(r, "echo-cluster").every((q) => q.outcome === "ok")).toBe(true);
    expect([...seen("echo-cluster")]).toEqual(["192.168.0.11"]);
    expect(pods(of(r, "echo-cluster")).size).toBe(3);
  });

  it("eTP Local through node-1's nodePort: the pod sees the client's own address, node-1's pods only", () => {
    expect(of(r, "echo-local").every((q) => q.outcome === "ok")).toBe(true);
    expect([...seen("echo-local")]).toEqual(["198.51.100.10"]);
    expect([...pods(of(r, "echo-local"))].sort()).toEqual(["echo-6d4b75cb6d-m7nq4", "echo-6d4b75cb6d-x2kl5"]);
  });

  it("eTP Local on node-3 (no local endpoint): SYNs dropped, connect timeout after 2 s", () => {
    for (const q of of(r, "echo-local-node3")) {
      expect(q.outcome).toBe("timeout-connect");
      expect(q.end - q.start).toBe(2e9);
    }
  });

  it("LB, eTP Local: the LB spreads over the two healthy nodes, so node-2's single pod gets about half", () => {
    const qs = of(r, "lb-local");
    expect(qs.every((q) => q.outcome === "ok")).toBe(true);
    expect([...seen("lb-local")]).toEqual(["198.51.100.30"]);
    const share = qs.filter((q) => q.servedBy === "echo-6d4b75cb6d-t9vbz").length / qs.length;
    expect(share).toBeGreaterThan(0.42);
    expect(share).toBeLessThan(0.58);
  });

  it("LB, eTP Cluster: about a third per pod, each masqueraded to the address of the node the LB chose", () => {
    const qs = of(r, "lb-cluster");
    expect(qs.every((q) => q.outcome === "ok")).toBe(true);
    for (const p of pods(qs)) {
      const share = qs.filter((q) => q.servedBy === p).length / qs.length;
      expect(share).toBeGreaterThan(0.27);
      expect(share).toBeLessThan(0.4);
    }
    expect([...seen("lb-cluster")].sort()).toEqual(["192.168.0.11", "192.168.0.12", "192.168.0.13"]);
  });
});

describe("no-endpoints-vs-itp-local lab", () => {
  let r: RunResult;
  beforeAll(() => { r = run("no-endpoints-vs-itp-local"); });

  it("no endpoints: refused at once (REJECT)", () => {
    for (const q of of(r, "to-empty")) {
      expect(q.outcome).toBe("refused");
      expect(q.end - q.start).toBeLessThan(1e6);
    }
  });

  it("iTP Local, no local endpoint: the client waits for its connect timeout (DROP)", () => {
    const [q] = of(r, "to-local-only");
    expect(q!.outcome).toBe("timeout-connect");
    expect(q!.end - q!.start).toBe(3e9);
    expect(q!.attempts).toBeGreaterThan(1); // SYN retransmitted
  });

  it("iTP Local from the node that runs the pod: answered", () => {
    expect(of(r, "to-local-only-node2").every((q) => q.outcome === "ok")).toBe(true);
  });
});

describe("udp-source-port lab", () => {
  let r: RunResult;
  beforeAll(() => { r = run("udp-source-port"); });

  it("one source port: every answer until the pod deletion comes from one pod", () => {
    const qs = of(r, "same-port");
    expect(qs.length).toBeGreaterThan(40);
    const ports = new Set(qs.map((q) => q.connection));
    expect(ports.size).toBe(1);
    const early = qs.filter((q) => q.start < 20e9);
    expect(early.every((q) => q.outcome === "ok")).toBe(true);
    expect(pods(early).size).toBe(1);
  });

  it("the pod it sticks to is deleted at 20 s: kube-proxy's conntrack -D clears the entry, answers move on", () => {
    const qs = of(r, "same-port");
    const before = [...pods(qs.filter((q) => q.start < 20e9))][0];
    expect(before).toBe("dns-787c6cbd59-ckbmr");
    const after = qs.filter((q) => q.start > 21e9);
    expect(after.length).toBeGreaterThan(10);
    expect(after.every((q) => q.outcome === "ok")).toBe(true);
    expect(pods(after).size).toBe(1);
    expect(pods(after).has(before!)).toBe(false);
  });

  it("a new source port per query: spread over all three pods", () => {
    const qs = of(r, "new-port");
    expect(qs.every((q) => q.outcome === "ok")).toBe(true);
    expect(new Set(qs.map((q) => q.connection)).size).toBe(60);
    expect(pods(qs).size).toBe(3);
  });
});

describe("affinity window (session-affinity lab's Service, 30 outside client addresses)", () => {
  /** Each address connects at 0 s and again at 20 s; returns the share that changed endpoint. */
  function changedShare(timeoutSeconds: number): number {
    const base = loadScenario(lab("session-affinity")).scenario;
    const tmpl = base.clients.find((c) => c.name === "pod-a")!;
    const clients = [];
    for (let i = 0; i < 30; i++) {
      const from = { kind: "external" as const, ip: `198.51.100.${i + 1}` };
      clients.push({ ...tmpl, name: `first-${i}`, from, requests: 1, startNs: 0 });
      clients.push({ ...tmpl, name: `again-${i}`, from, requests: 1, startNs: 20e9 });
    }
    const objects = base.objects.map((o) =>
      o.kind === "Service" && o.input.name === "sticky" ? { ...o, input: { ...o.input, spec: { ...o.input.spec, sessionAffinityTimeoutSeconds: timeoutSeconds } } } : o,
    );
    const res = runScenario({ ...base, objects, clients });
    let changed = 0;
    for (let i = 0; i < 30; i++) {
      const a = res.requests.find((q) => q.client === `first-${i}`)!;
      const b = res.requests.find((q) => q.client === `again-${i}`)!;
      expect(a.outcome).toBe("ok");
      expect(b.outcome).toBe("ok");
      if (a.servedBy !== b.servedBy) changed++;
    }
    return changed / 30;
  }

  it("within the window (600 s) every address returns to its endpoint", () => {
    expect(changedShare(600)).toBe(0);
  });

  it("after the window (10 s, next connection at 20 s) the choice is random again: about 2/3 change", () => {
    const s = changedShare(10);
    expect(s).toBeGreaterThan(0.4);
    expect(s).toBeLessThan(0.95);
  });
});
