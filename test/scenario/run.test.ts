import { describe, expect, it } from "vitest";
import { parseIPv4 } from "../../src/net/ip.ts";
import { runCurl, runCurlDetailed, runScenario, resolveCurlTarget, initialState } from "../../src/scenario/run.ts";
import { RngRoot } from "../../src/engine/rng.ts";
import { SECOND, s } from "../../src/engine/time.ts";
import { seedScenario, scenarioWith } from "./runfixtures.ts";
import { tcpStateName } from "../../src/netfilter/conntrack.ts";

const SEED_PODS = ["hostnames-85bc9c579-dsmh9", "hostnames-85bc9c579-tx87g", "hostnames-85bc9c579-zndz2"];
const NODE1 = parseIPv4("192.168.0.11");

function shares(names: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const n of names) m.set(n, (m.get(n) ?? 0) + 1);
  for (const [k, v] of m) m.set(k, v / names.length);
  return m;
}

describe("runScenario on the seed scenario", () => {
  it("4 curls from the first node return seed pod names, each its own connection", () => {
    // The walkthrough's four curls (the scenario's "load" client comes after them).
    const sc = seedScenario();
    const r = runScenario({ ...sc, clients: sc.clients.filter((c) => c.name === "curl") });
    expect(r.requests).toHaveLength(4);
    for (const q of r.requests) {
      expect(q.outcome).toBe("ok");
      expect(SEED_PODS).toContain(q.body);
      expect(q.reused).toBe(false);
    }
    expect(new Set(r.requests.map((q) => q.connection)).size).toBe(4);
    // node → cluster IP is masqueraded (! -s 10.1.0.0/16 → KUBE-MARK-MASQ): the pod sees the node's address
    expect(r.requests.every((q) => q.seenSrc === NODE1)).toBe(true);
    expect(r.packets).toEqual({ sent: 32, fated: 32, inFlight: 0 });
    // conntrack -L on node-1 lists the four connections in TIME_WAIT, DNATed to the pods
    const ct = r.nodes.find((n) => n.name === "node-1")!.conntrackList();
    expect(ct.lines).toHaveLength(4);
    expect(ct.lines.every((l) => /^tcp +6 \d+ TIME_WAIT src=192\.168\.0\.11 dst=10\.0\.91\.192 sport=\d+ dport=80 src=10\.1\.\d+\.\d+ dst=192\.168\.0\.11 sport=9376 .*\[ASSURED\] mark=0 use=1$/.test(l))).toBe(true);
    // per-rule counters: the service's KUBE-SERVICES jump saw 4 first packets
    const save = r.nodes[0]!.iptablesSave(true);
    expect(save).toMatch(/\[4:240\] -A KUBE-SERVICES -d 10\.0\.91\.192\/32 -p tcp -m comment --comment "default\/hostnames:default cluster IP" -m tcp --dport 80 -j KUBE-SVC-ODX2UBAZM7RQWOIU/);
  });

  it("30,000 requests spread 1/3 ± 0.02 over the three pods", () => {
    const clients = [1, 2, 3].map((i) => `- {name: c${i}, from: node/node-${i}, target: "10.0.91.192", requests: 10000, concurrency: 4}`).join("\n");
    const r = runScenario(scenarioWith(clients), { traceLevel: "summary" });
    expect(r.requests).toHaveLength(30000);
    expect(r.requests.every((q) => q.outcome === "ok")).toBe(true);
    const sh = shares(r.requests.map((q) => q.servedBy));
    expect([...sh.keys()].sort()).toEqual(SEED_PODS);
    for (const v of sh.values()) expect(Math.abs(v - 1 / 3)).toBeLessThan(0.02);
  });

  it("same seed → identical request records; another seed → a different sequence", () => {
    const sc = seedScenario();
    const a = runScenario(sc, { seed: 7 });
    const b = runScenario(sc, { seed: 7 });
    expect(b.requests).toEqual(a.requests);
    expect(b.connections).toEqual(a.connections);
    expect(b.trace.records()).toEqual(a.trace.records());
    const seqs = new Set([7, 8, 9, 10].map((seed) => runScenario(sc, { seed }).requests.map((q) => q.servedBy).join(",")));
    expect(seqs.size).toBeGreaterThan(1);
  });

  it("runCurl prints one body per request, like the seed's curl session", () => {
    const lines = runCurl(seedScenario(), "10.0.91.192", { count: 4 });
    expect(lines).toHaveLength(4);
    for (const l of lines) expect(SEED_PODS).toContain(l);
    expect(runCurl(seedScenario(), "hostnames.default.svc.cluster.local", { count: 4, seed: 3 })).toEqual(runCurl(seedScenario(), "10.0.91.192", { count: 4, seed: 3 }));
  });

  it("a long run of connects that fail at once (no free local port) is a loop, not a recursion", () => {
    // 40,000 back-to-back connections from one host to one ip:port: the first 28,232 take every
    // ephemeral port (their sockets sit in TIME_WAIT for 60 s), the next 11,768 fail in connect()
    // one after the other, each starting the next from its own failure.
    const { lines, result } = runCurlDetailed(seedScenario(), "10.0.91.192", { count: 40_000 });
    const failed = lines.filter((l) => l.startsWith("curl: (7)"));
    expect(failed.length).toBeGreaterThan(11_000);
    expect(lines.slice(-failed.length)).toEqual(failed); // the failures are the last ones, in a row
    expect(result.requests.map((r) => r.id)).toEqual(Array.from({ length: 40_000 }, (_, i) => i + 1));
    expect(result.requests.filter((r) => r.outcome === "no-local-port")).toHaveLength(failed.length);
  }, 60_000);

  it.each([
    { name: "name", text: "hostnames" },
    { name: "name.ns", text: "hostnames.default" },
    { name: "name.ns.svc", text: "hostnames.default.svc" },
    { name: "FQDN with port and path", text: "http://hostnames.default.svc.cluster.local:80/x" },
    { name: "IP", text: "10.0.91.192" },
  ])("curl target resolves like cluster DNS: $name", ({ text }) => {
    const st = initialState(seedScenario(), new RngRoot(1));
    expect(resolveCurlTarget(text, st, "default").addr).toBe(parseIPv4("10.0.91.192"));
  });
});

describe("runScenario behaviours", () => {
  it("hairpin: a pod reaching itself through its Service is masqueraded to the node address", () => {
    const r = runScenario(scenarioWith(`- {name: c, from: pod/hostnames-85bc9c579-dsmh9, target: "hostnames:80", requests: 60}`));
    const self = r.requests.filter((q) => q.servedBy === "hostnames-85bc9c579-dsmh9");
    const other = r.requests.filter((q) => q.servedBy !== "hostnames-85bc9c579-dsmh9");
    expect(self.length).toBeGreaterThan(5);
    expect(other.length).toBeGreaterThan(5);
    expect(self.every((q) => q.outcome === "ok" && q.seenSrc === NODE1)).toBe(true);
    expect(other.every((q) => q.outcome === "ok" && q.seenSrc === parseIPv4("10.1.161.47"))).toBe(true);
  });

  it("refused: a Service without endpoints is REJECTed, ICMP port unreachable, refused at once", () => {
    const r = runScenario(scenarioWith(`- {name: c, from: node/node-1, target: "empty:80", requests: 3}`));
    expect(r.requests.map((q) => q.outcome)).toEqual(["refused", "refused", "refused"]);
    expect(r.requests.every((q) => q.end - q.start < 1_000_000 && q.attempts === 1)).toBe(true);
    expect(r.trace.countBy("packet.fate", "rejected", "iptables-reject")).toBe(3);
    expect(r.trace.countBy("packet.fate", "delivered", "icmp-to-sender")).toBe(3);
    expect(r.trace.countBy("request.outcome", "refused", "icmp-port-unreachable")).toBe(3);
  });

  it("refused from a pod on another node: REJECT in FORWARD, the ICMP goes back over the veth", () => {
    const r = runScenario(scenarioWith(`- {name: c, from: pod/hostnames-85bc9c579-tx87g, target: "empty:80", requests: 1}`));
    expect(r.requests[0]).toMatchObject({ outcome: "refused", attempts: 1 });
    expect(r.requests[0]!.end - r.requests[0]!.start).toBeLessThan(100_000);
  });

  it("blackhole: SYNs retransmitted at 0, 1, 3 s, timeout-connect at the configured 5 s", () => {
    const r = runScenario(scenarioWith(`- {name: c, from: node/node-1, target: "ghost:80", requests: 1, connectTimeout: 5s}`));
    expect(r.requests[0]).toMatchObject({ outcome: "timeout-connect", attempts: 3 });
    expect(r.requests[0]!.end - r.requests[0]!.start).toBe(s(5));
    const drops = r.trace.filter("packet.fate", (f) => f.reason === "no-endpoint-pod");
    expect(drops.map((d) => d.node)).toEqual(["node-3", "node-3", "node-3"]);
    expect(drops.map((d) => Math.floor(d.time / SECOND))).toEqual([0, 1, 3]);
    // the retransmitted SYNs follow the first SYN's conntrack entry (same DNAT)
    expect(new Set(drops.map((d) => `${d.dst}:${d.dport}`)).size).toBe(1);
  });

  it("keep-alive with few clients skews per-request shares, while connections spread evenly", () => {
    const clients = [1, 2, 3, 4].map((i) => `- {name: k${i}, from: node/node-${((i - 1) % 3) + 1}, target: "10.0.91.192", requests: 50, keepAlive: true}`).join("\n");
    const skewed = runScenario(scenarioWith(clients, { seed: 1 }));
    const counts = SEED_PODS.map((p) => skewed.requests.filter((q) => q.servedBy === p).length);
    expect(skewed.connections).toHaveLength(4);
    expect(Math.max(...counts) / Math.max(1, Math.min(...counts))).toBeGreaterThanOrEqual(1.5);
    // over many runs the connections themselves are spread evenly
    const conns: string[] = [];
    for (let seed = 1; seed <= 30; seed++) for (const c of runScenario(scenarioWith(clients, { seed })).connections) conns.push(c.servedBy);
    expect(conns).toHaveLength(120);
    for (const v of shares(conns).values()) expect(Math.abs(v - 1 / 3)).toBeLessThan(0.12);
  });

  it("invariants: one fate per packet, ok + failed = sent, conntrack empties after TIME_WAIT expiry", () => {
    const clients = `
- {name: a, from: node/node-1, target: "10.0.91.192", requests: 40, concurrency: 3}
- {name: b, from: pod/hostnames-85bc9c579-tx87g, target: "hostnames:80", requests: 30, keepAlive: true, requestsPerConnection: 4}
- {name: c, from: node/node-2, target: "empty:80", requests: 5}
- {name: d, from: node/node-3, target: "ghost:80", requests: 2, connectTimeout: 2s}
- {name: e, from: external/203.0.113.7, target: "10.0.91.192", requests: 10}`;
    const sc = scenarioWith(clients);
    const r = runScenario(sc, { drain: true });
    const fates = new Map<number, number>();
    for (const f of r.trace.ofType("packet.fate")) fates.set(f.packetId, (fates.get(f.packetId) ?? 0) + 1);
    expect([...fates.values()].every((n) => n === 1)).toBe(true);
    expect(fates.size).toBe(r.packets.sent);
    expect(r.packets.inFlight).toBe(0);
    const perClient = new Map<string, number>();
    for (const q of r.requests) perClient.set(q.client, (perClient.get(q.client) ?? 0) + 1);
    expect(Object.fromEntries(perClient)).toEqual({ a: 40, b: 30, c: 5, d: 2, e: 10 });
    expect(new Set(r.requests.map((q) => q.id)).size).toBe(r.requests.length);
    const ok = r.requests.filter((q) => q.outcome === "ok").length;
    expect(ok).toBe(80);
    expect(r.trace.count("request.outcome")).toBe(87);
    // drained: every conntrack entry created was destroyed (TIME_WAIT expiry) and the tables are empty
    for (const n of r.nodes) expect(n.conntrackEntries()).toHaveLength(0);
    expect(r.trace.count("conntrack.destroy")).toBe(r.trace.count("conntrack.new"));
    expect(r.trace.count("conntrack.new")).toBeGreaterThan(0);
    // without draining, the run stops when the last connection is closed, with entries still in TIME_WAIT
    const live = runScenario(sc);
    expect(live.endTime).toBeLessThan(r.endTime);
    expect(live.nodes.some((n) => n.conntrackEntries().some((e) => tcpStateName(e) === "TIME_WAIT"))).toBe(true);
  });

  it("until: stops at T exactly, with packets possibly in flight", () => {
    const sc = scenarioWith(`- {name: a, from: node/node-1, target: "10.0.91.192", requests: 100}`);
    const r = runScenario(sc, { until: 20_050_000 });
    expect(r.endTime).toBe(20_050_000);
    expect(r.packets.sent).toBe(r.packets.fated + r.packets.inFlight);
    expect(r.requests.length).toBeLessThan(100);
  });

  it("external client: enters at the first node, masqueraded there", () => {
    const r = runScenario(scenarioWith(`- {name: e, from: external/203.0.113.7, target: "10.0.91.192", requests: 20}`));
    expect(r.requests.every((q) => q.outcome === "ok")).toBe(true);
    expect(r.requests.every((q) => q.seenSrc === NODE1)).toBe(true);
    expect(r.requests[0]!.end - r.requests[0]!.start).toBeGreaterThan(4_000_000); // two 1 ms round trips + 1 ms service
  });
});

describe("runScenario progress marks", () => {
  it.each([
    { interval: 1_000_000, what: "every simulated millisecond" },
    { interval: 250_000_000, what: "every 250 ms" },
  ])("progressIntervalNs ($what) calls onProgress more often and changes nothing else", ({ interval }) => {
    const sc = seedScenario();
    const plain = runScenario(sc);
    const marks: number[] = [];
    const marked = runScenario(sc, { progressIntervalNs: interval, onProgress: (p) => { if (!p.done) marks.push(p.now); } });
    expect(marks.length).toBeGreaterThan(0);
    expect(marks.every((t, i) => t === (i + 1) * interval)).toBe(true);
    expect(JSON.stringify(marked.trace.records())).toBe(JSON.stringify(plain.trace.records()));
    expect(marked.requests).toEqual(plain.requests);
    expect(marked.eventsProcessed).toBe(plain.eventsProcessed + marks.length); // one event per mark
  });
  it.each([0, -5, Number.NaN])("progressIntervalNs %s is refused", (v) => {
    expect(() => runScenario(seedScenario(), { progressIntervalNs: v, onProgress: () => {} })).toThrow(/progressIntervalNs must be > 0/);
  });
});
