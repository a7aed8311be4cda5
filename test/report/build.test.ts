import { describe, expect, it } from "vitest";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import seedrandom from "seedrandom";
import type { TraceRecord } from "../../src/engine/trace.ts";
import { parseIPv4 } from "../../src/net/ip.ts";
import { buildReport } from "../../src/report/build.ts";
import { toJson, type Report } from "../../src/report/model.ts";
import { renderText } from "../../src/report/text.ts";
import { renderMarkdown } from "../../src/report/markdown.ts";
import { hostnamesService, input, keepAliveRequests, requestRecords, splitRequests, type Req } from "./fixtures.ts";

const GOLDEN = resolve(__dirname, "../fixtures/report");

/** n requests, each to an endpoint drawn with the given shares from a seeded stream, one connection each. */
function randomRequests(n: number, shares: readonly number[], seed: string): Req[] {
  const rng = seedrandom.alea(seed);
  const out: Req[] = [];
  for (let i = 0; i < n; i++) {
    const u = rng();
    let k = 0;
    let acc = shares[0]!;
    while (u >= acc && k < shares.length - 1) acc += shares[++k]!;
    out.push({ ep: k, flow: i + 1, latency: 500_000 + Math.floor(rng() * 2_000_000) });
  }
  return out;
}

describe("distribution verdicts", () => {
  const rows = [
    { name: "even 3-way split (334/333/333)", reqs: splitRequests([334, 333, 333]), shares: undefined, verdict: /^consistent with uniform random at n=1000/, skewed: false },
    { name: "seeded uniform random, n=1000", reqs: randomRequests(1000, [1 / 3, 1 / 3, 1 / 3], "uniform-1"), shares: undefined, verdict: /^consistent with uniform random at n=1000/, skewed: false },
    { name: "skewed split (500/300/200)", reqs: splitRequests([500, 300, 200]), shares: undefined, verdict: /^skewed: p<0\.0001 at n=1000$/, skewed: true },
    { name: "uneven expected shares met (500/250/250 vs 1/2,1/4,1/4)", reqs: splitRequests([500, 250, 250]), shares: [0.5, 0.25, 0.25], verdict: /^consistent with the expected shares at n=1000/, skewed: false },
    { name: "uneven expected shares missed (334/333/333 vs 1/2,1/4,1/4)", reqs: splitRequests([334, 333, 333]), shares: [0.5, 0.25, 0.25], verdict: /^skewed: /, skewed: true },
  ];
  it.each(rows)("$name", ({ reqs, shares, verdict, skewed }) => {
    const r = buildReport(input(requestRecords(reqs), shares ? { services: [hostnamesService(shares)] } : {}));
    expect(r.fairness).not.toBeNull();
    expect(r.fairness!.verdict).toMatch(verdict);
    expect(r.services[0]!.perRequest!.skewed).toBe(skewed);
    expect(r.fairness!.chiSquare.df).toBe(2);
  });

  it("computes Pearson's statistic, Jain, CV and max/min of the skewed split", () => {
    const r = buildReport(input(requestRecords(splitRequests([500, 300, 200]))));
    // E = 1000/3 each: X² = ((500−E)² + (300−E)² + (200−E)²)/E = 140
    expect(r.fairness!.chiSquare.statistic).toBeCloseTo(140, 3);
    expect(r.fairness!.maxMin).toBeCloseTo(2.5, 5);
    expect(r.fairness!.jain).toBeCloseTo(1e6 / (3 * (500 ** 2 + 300 ** 2 + 200 ** 2)), 5);
    expect(r.fairness!.maxDeviation).toBeCloseTo(0.5 - 1 / 3, 5);
    expect(r.endpoints.map((e) => e.share)).toEqual([0.5, 0.3, 0.2]);
    for (const e of r.endpoints) {
      expect(e.ci95!.lower).toBeLessThan(e.share);
      expect(e.ci95!.upper).toBeGreaterThan(e.share);
    }
    expect(r.analysis[0]).toMatch(/hostnames-85bc9c579-dsmh9 got 50\.0% of requests \(expected 33\.3%\)/);
  });
});

describe("keep-alive: connections even, requests skewed", () => {
  // 4 clients, each one connection pinned to one endpoint: endpoint 0 gets two of them.
  const r = buildReport(input(requestRecords(keepAliveRequests([0, 1, 2, 0], 250))));
  it("the request view is skewed with max/min >= 1.5", () => {
    expect(r.fairness!.chiSquare.p).toBeLessThan(0.05);
    expect(r.fairness!.maxMin).toBeGreaterThanOrEqual(1.5);
  });
  it("the connection view is even", () => {
    expect(r.fairness!.perConnection!.skewed).toBe(false);
    expect(r.endpoints.map((e) => e.connections)).toEqual([2, 1, 1]);
  });
  it("the report says which view is skewed and why", () => {
    expect(r.analysis[0]).toMatch(/^per-request shares are skewed \(max\/min 2\.0, p<0\.0001\) while connections are even \(p=0\.78\): 4 keep-alive clients sent 1000 requests over 4 connections/);
    expect(r.analysis[0]).toContain("kube-proxy balances connections, not requests");
    expect(r.clients.map((c) => c.requestsPerConnection)).toEqual([250, 250, 250, 250]);
  });
  it("one connection per request gives identical views (no keep-alive finding)", () => {
    const one = buildReport(input(requestRecords(splitRequests([500, 250, 250]))));
    expect(one.fairness!.perConnection!.chiSquare).toEqual(one.fairness!.chiSquare);
    expect(one.analysis[0]).toMatch(/^requests and connections are both skewed/);
  });
});

describe("outcomes", () => {
  const reqs: Req[] = [
    ...splitRequests([40, 40, 40]),
    { ep: -1, flow: 1001, outcome: "refused", reason: "icmp-port-unreachable", time: 2_000_000_000 },
    { ep: 1, flow: 1002, outcome: "timeout", reason: "connect-timeout", time: 2_100_000_000 },
    { ep: 2, flow: 1003, outcome: "reset", reason: "tcp-rst", time: 2_200_000_000 },
    { ep: 2, flow: 1003, outcome: "error", reason: "http-error", time: 2_300_000_000 },
  ];
  const event: TraceRecord = { type: "scenario.event", time: 1_900_000_000, action: "deletePod", detail: "default/hostnames-85bc9c579-tx87g" };
  const trace = [...requestRecords(reqs), event].sort((a, b) => a.time - b.time);
  const r = buildReport(input(trace, { options: { intervalNs: 500_000_000 } }));

  it("ok + failed = sent, at every level", () => {
    const check = (q: Report["requests"]) => {
      expect(q.ok + q.failed.total).toBe(q.sent);
      expect(q.failed.refused + q.failed.reset + q.failed.timeout + q.failed.error).toBe(q.failed.total);
    };
    check(r.requests);
    for (const s of r.services) check(s.requests);
    for (const c of r.clients) check(c.requests);
    expect(r.requests).toEqual({ sent: 124, ok: 120, failed: { refused: 1, reset: 1, timeout: 1, error: 1, total: 4 }, failedRatio: 0.0322581 });
  });
  it("per-endpoint outcomes sum to the endpoint's requests; the refused one reached no endpoint", () => {
    for (const e of r.endpoints) expect(Object.values(e.outcomes).reduce((a, b) => a + b, 0)).toBe(e.requests);
    expect(r.endpoints.reduce((a, e) => a + e.requests, 0)).toBe(123);
  });
  it("buckets the series by completion time and sums to sent", () => {
    expect(r.run.intervalMs).toBe(500);
    const sum = r.outcomes.overTime.reduce((a, b) => a + b.ok + b.refused + b.reset + b.timeout + b.error, 0);
    expect(sum).toBe(124);
    const b4 = r.outcomes.overTime[4]!; // [2.0 s, 2.5 s)
    expect([b4.refused, b4.timeout, b4.reset, b4.error]).toEqual([1, 1, 1, 1]);
    expect(r.outcomes.events).toEqual([{ timeMs: 1900, action: "deletePod", detail: "default/hostnames-85bc9c579-tx87g" }]);
  });
  it("explains the failures and the event before them", () => {
    expect(r.analysis).toContain(
      '4 of 124 requests failed: 1 refused (icmp-port-unreachable), 1 reset (tcp-rst), 1 timeout (connect-timeout), 1 error (http-error); first at t=2.000s, last at t=2.300s, after "deletePod default/hostnames-85bc9c579-tx87g" at t=1.900s',
    );
  });
});

describe("latency percentiles (nearest rank, ms)", () => {
  const reqs: Req[] = Array.from({ length: 100 }, (_, i) => ({ ep: i % 3, flow: i + 1, latency: (i + 1) * 1_000_000, time: 200_000_000 + i * 1_000_000 }));
  const r = buildReport(input(requestRecords(reqs)));
  it("overall", () => {
    expect(r.latency.overall).toEqual({ n: 100, p50: 50, p90: 90, p99: 99, max: 100, mean: 50.5 });
  });
  it("per endpoint: endpoint 0 has 1, 4, …, 100 ms", () => {
    const l = r.endpoints[0]!.latency!;
    expect(l.n).toBe(34);
    expect(l.max).toBe(100);
    expect(l.p50).toBe(49); // rank 17 of 1,4,…,100 → 1 + 16·3
  });
  it("failed requests are not in the latency sample", () => {
    const f = buildReport(input(requestRecords([...reqs, { ep: 0, flow: 999, outcome: "timeout", latency: 10_000_000_000, time: 20_000_000_000 }])));
    expect(f.latency.overall!.max).toBe(100);
  });
  it("histogram covers every ok request", () => {
    expect(r.latency.histogram!.counts.reduce((a, b) => a + b, 0)).toBe(100);
    expect(r.latency.histogram!.binMs).toBe(5);
  });
});

describe("attribution", () => {
  it("a request to an endpoint outside the rule set is reported apart and left out of the fit", () => {
    const recs = requestRecords(splitRequests([10, 10, 10]));
    const extra: TraceRecord = { ...(recs[0] as Extract<TraceRecord, { type: "request.outcome" }>), time: 400_000_000, requestId: 99, flow: 99, endpointAddr: parseIPv4("10.1.170.9"), servedBy: "hostnames-85bc9c579-q2w4x" };
    const r = buildReport(input([...recs, extra]));
    const un = r.endpoints.find((e) => e.expectedShare === null)!;
    expect(un).toMatchObject({ pod: "hostnames-85bc9c579-q2w4x", address: "10.1.170.9:9376", requests: 1, share: 0 });
    expect(r.fairness!.chiSquare.statistic).toBe(0);
    expect(r.services[0]!.unlistedRequests).toBe(1);
    expect(r.analysis.some((a) => a.includes("1 request reached endpoints outside the rule set (hostnames-85bc9c579-q2w4x)"))).toBe(true);
  });
  it("a request to an address of no listed service is unattributed but still counted", () => {
    const recs = requestRecords([{ ep: -1, flow: 1, outcome: "timeout" }]).map((r) => ({ ...r, targetAddr: parseIPv4("10.0.0.99") }));
    const r = buildReport(input(recs));
    expect(r.requests.sent).toBe(1);
    expect(r.services[0]!.requests.sent).toBe(0);
    expect(r.analysis).toContain("1 request addressed no listed Service (10.0.0.99:80)");
  });
  it("an empty trace gives an empty, valid report", () => {
    const r = buildReport(input([]));
    expect(r.requests.sent).toBe(0);
    expect(r.fairness).toBeNull();
    expect(r.analysis).toEqual(["no requests were recorded"]);
    expect(renderText(r).split("\n").every((l) => [...l].length <= 80)).toBe(true);
  });
});

describe("determinism and layout", () => {
  const long = "x".repeat(150);
  const extras = {
    curl: ["hostnames-85bc9c579-dsmh9", `curl: (7) Failed to connect to 10.0.91.192 port 80: Connection refused ${long}`],
    rules: [{ node: "node-1", text: `[12:720] -A KUBE-SVC-ODX2UBAZM7RQWOIU -m comment --comment "default/hostnames:default" -m statistic --mode random --probability 0.33332999982 -j KUBE-SEP-WNBA2IHDGP2BOBGZ\n` }],
    conntrack: `tcp      6 117 TIME_WAIT src=192.168.0.11 dst=10.0.91.192 sport=41234 dport=80 src=10.1.161.47 dst=192.168.0.11 sport=9376 dport=41234 [ASSURED] mark=0 use=1\n`,
    packetExplanation: { flow: 3, title: "curl 10.0.91.192 (flow 3)", text: `node-1 OUTPUT nat KUBE-SERVICES rule 3 → KUBE-SVC-ODX2UBAZM7RQWOIU → ${long}` },
    scenarioYaml: "apiVersion: svcsim/v1\nkind: Scenario\n",
  };
  const mk = () => buildReport(input(requestRecords(keepAliveRequests([0, 1, 2, 0], 50)), { extras }));

  it("same input, same JSON bytes", () => {
    expect(toJson(mk())).toBe(toJson(mk()));
  });
  it("service input order does not change the JSON", () => {
    const other = { ...hostnamesService(), service: "default/aaa-first", clusterIP: "10.0.0.10", endpoints: [] };
    const a = buildReport(input(requestRecords(splitRequests([5, 5, 5])), { services: [hostnamesService(), other] }));
    const b = buildReport(input(requestRecords(splitRequests([5, 5, 5])), { services: [other, hostnamesService()] }));
    expect(toJson(a)).toBe(toJson(b));
    expect(a.services.map((s) => s.service)).toEqual(["default/aaa-first", "default/hostnames"]);
    expect(a.fairness!.service).toBe("default/hostnames");
  });
  it("keeps the JSON contract fields", () => {
    const r = mk();
    expect(Object.keys(r.requests)).toEqual(["sent", "ok", "failed", "failedRatio"]);
    expect(Object.keys(r.requests.failed)).toEqual(["refused", "reset", "timeout", "error", "total"]);
    expect(Object.keys(r.endpoints[0]!).slice(0, 6)).toEqual(["pod", "address", "node", "requests", "connections", "share"]);
    expect(Object.keys(r.fairness!.chiSquare)).toEqual(["statistic", "df", "p"]);
    expect(typeof r.fairness!.jain).toBe("number");
  });
  it("every text line fits 80 columns", () => {
    const text = renderText(mk());
    const wide = text.split("\n").filter((l) => [...l].length > 80);
    expect(wide).toEqual([]);
    expect(text).toContain("Rules with counters: node-1");
    expect(text).toContain("Packet trace: curl 10.0.91.192 (flow 3)");
  });
  it("long pod names are shortened in the middle, keeping the unique suffix", () => {
    const svc = hostnamesService();
    const longSvc = { ...svc, endpoints: svc.endpoints.map((e) => ({ ...e, pod: `a-very-long-deployment-name-for-a-classroom-demo-${e.pod}` })) };
    const text = renderText(buildReport(input(requestRecords(splitRequests([3, 3, 3])), { services: [longSvc] })));
    expect(text.split("\n").every((l) => [...l].length <= 80)).toBe(true);
    expect(text).toMatch(/a-very-long-d.*….*dsmh9/);
  });
  it("matches the golden text and Markdown reports", () => {
    const r = mk();
    const files: [string, string][] = [
      ["keepalive.txt", renderText(r)],
      ["keepalive.md", renderMarkdown(r)],
    ];
    for (const [name, text] of files) {
      const path = resolve(GOLDEN, name);
      if (process.env.UPDATE_GOLDEN) {
        mkdirSync(GOLDEN, { recursive: true });
        writeFileSync(path, text);
      }
      expect(text).toBe(readFileSync(path, "utf8"));
    }
  });
});
