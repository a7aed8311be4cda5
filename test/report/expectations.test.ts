import { describe, expect, it } from "vitest";
import { buildReport } from "../../src/report/build.ts";
import { evaluateExpectations, formatResult, junitXml, xmlEscape, type ExpectationSpec } from "../../src/report/expectations.ts";
import { input, keepAliveRequests, requestRecords, splitRequests, type Req } from "./fixtures.ts";

// 300 requests split 100/100/100 by "curl" (latencies 0.01, 0.02, …, 3 ms), plus one refused request,
// plus a keep-alive client "ka" pinned to endpoint 0 for 60 requests.
const reqs: Req[] = [
  ...splitRequests([100, 100, 100]).map((r, i) => ({ ...r, latency: (i + 1) * 10_000 })),
  { ep: -1, flow: 5000, outcome: "refused", reason: "icmp-port-unreachable" },
  ...keepAliveRequests([0], 60).map((r) => ({ ...r, client: "ka", flow: 6000 })),
];
const report = buildReport(input(requestRecords(reqs)));

const exp = (e: Partial<ExpectationSpec> & Pick<ExpectationSpec, "metric" | "op" | "value">): ExpectationSpec => ({ tolerance: 0, ...e });

describe("evaluateExpectations", () => {
  const rows: { name: string; e: ExpectationSpec; pass: boolean; measured: number | null; detail?: RegExp }[] = [
    { name: "requests.total", e: exp({ metric: "requests.total", op: "==", value: 361 }), pass: true, measured: 361 },
    { name: "requests.succeeded", e: exp({ metric: "requests.succeeded", op: ">=", value: 361 }), pass: false, measured: 360 },
    { name: "requests.failed == 0 fails with the measured value", e: exp({ metric: "requests.failed", op: "==", value: 0 }), pass: false, measured: 1, detail: /^measured 1$/ },
    { name: "requests.failedRatio", e: exp({ metric: "requests.failedRatio", op: "<", value: 0.01 }), pass: true, measured: 1 / 361 },
    { name: "requests.failed for one client", e: exp({ metric: "requests.failed", op: "==", value: 0, client: "ka" }), pass: true, measured: 0 },
    { name: "fairness.p overall (skewed by the keep-alive client)", e: exp({ metric: "fairness.p", op: ">", value: 0.05 }), pass: false, measured: report.fairness!.chiSquare.p },
    { name: "fairness.p of the curl client alone", e: exp({ metric: "fairness.p", op: ">", value: 0.05, client: "curl" }), pass: true, measured: 1 },
    { name: "fairness.chi2 of the curl client", e: exp({ metric: "fairness.chi2", op: "<", value: 1, client: "curl" }), pass: true, measured: 0 },
    { name: "fairness.maxDeviation", e: exp({ metric: "fairness.maxDeviation", op: "<=", value: 0.2 }), pass: true, measured: report.fairness!.maxDeviation },
    { name: "endpoint.share by pod name within tolerance", e: exp({ metric: "endpoint.share", op: "==", value: 0.3, tolerance: 0.025, endpoint: "hostnames-85bc9c579-tx87g" }), pass: true, measured: 100 / 360 },
    { name: "endpoint.share by pod IP outside tolerance", e: exp({ metric: "endpoint.share", op: "==", value: 0.33, tolerance: 0.02, endpoint: "10.1.161.47" }), pass: false, measured: 160 / 360 },
    { name: "endpoint.requests for one client", e: exp({ metric: "endpoint.requests", op: "==", value: 60, endpoint: "10.1.161.47", client: "ka" }), pass: true, measured: 60 },
    { name: "endpoint.requests of an unknown endpoint is not measurable", e: exp({ metric: "endpoint.requests", op: ">", value: 0, endpoint: "nope" }), pass: false, measured: null, detail: /^not measurable: endpoint "nope"/ },
    { name: "latency.p50 (ms)", e: exp({ metric: "latency.p50", op: "<", value: 2, client: "curl" }), pass: true, measured: 1.5 },
    { name: "latency.max (ms)", e: exp({ metric: "latency.max", op: "<=", value: 3, client: "curl" }), pass: true, measured: 3 },
    { name: "latency.p99 of one endpoint", e: exp({ metric: "latency.p99", op: "<", value: 1, endpoint: "hostnames-85bc9c579-dsmh9" }), pass: false, measured: 2.95 },
    { name: "unknown client is not measurable", e: exp({ metric: "requests.total", op: ">", value: 0, client: "ghost" }), pass: false, measured: null, detail: /client "ghost" made no requests/ },
    { name: "unknown metric is reported", e: exp({ metric: "fairness.bogus", op: ">", value: 0 }), pass: false, measured: null, detail: /unknown metric "fairness.bogus"/ },
  ];
  it.each(rows)("$name", ({ e, pass, measured, detail }) => {
    const [r] = evaluateExpectations(report, [e]);
    expect(r!.pass).toBe(pass);
    if (measured === null) expect(r!.measured).toBeNull();
    else expect(r!.measured).toBeCloseTo(measured, 5);
    if (detail) expect(r!.detail).toMatch(detail);
  });

  it("describes the expectation and the measured value in one line", () => {
    const [r] = evaluateExpectations(report, [exp({ metric: "endpoint.share", op: "==", value: 0.33, tolerance: 0.02, endpoint: "10.1.161.47" })]);
    expect(formatResult(r!)).toBe("FAIL  endpoint.share[endpoint=10.1.161.47] == 0.33 ± 0.02  (measured 0.4444)");
  });

  it("keep-alive scenario: the keep-alive expectation pair holds", () => {
    const ka = buildReport(input(requestRecords(keepAliveRequests([0, 1, 2, 0], 100))));
    const res = evaluateExpectations(ka, [exp({ metric: "fairness.p", op: "<", value: 0.05 }), exp({ metric: "fairness.maxDeviation", op: ">", value: 0.1 })]);
    expect(res.map((r) => r.pass)).toEqual([true, true]);
  });
});

describe("junitXml", () => {
  const results = evaluateExpectations(report, [
    exp({ metric: "requests.total", op: ">", value: 0 }),
    exp({ metric: "requests.failed", op: "<", value: 1 }),
    exp({ metric: "endpoint.share", op: "==", value: 0.5, endpoint: "a&b<c>" }),
  ]);
  const xml = junitXml([{ name: "hostnames-clusterip seed=1", results }, { name: "hostnames-clusterip seed=2", results: results.slice(0, 1) }]);

  it("counts tests and failures per suite and overall", () => {
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="svcsim check" tests="4" failures="2" errors="0">')).toBe(true);
    expect(xml).toContain('<testsuite name="hostnames-clusterip seed=1" tests="3" failures="2" errors="0" skipped="0">');
    expect(xml).toContain('<testsuite name="hostnames-clusterip seed=2" tests="1" failures="0" errors="0" skipped="0">');
    expect(xml.match(/<testcase /g)!.length).toBe(4);
    expect(xml.match(/<failure /g)!.length).toBe(2);
  });
  it("names the measured value in the failure message", () => {
    expect(xml).toContain('<failure message="measured 1; expected requests.failed &lt; 1" type="expectation">');
  });
  it("escapes XML", () => {
    expect(xml).toContain("endpoint.share[endpoint=a&amp;b&lt;c&gt;] == 0.5");
    expect(xml).not.toMatch(/a&b/);
    expect(xmlEscape(`"'\u0001`)).toBe("&quot;&apos;\ufffd");
  });
  it("is balanced and byte-stable", () => {
    const opens = (xml.match(/<(testsuites|testsuite|testcase|failure|system-out)[ >]/g) ?? []).length;
    const closes = (xml.match(/<\/(testsuites|testsuite|testcase|failure|system-out)>/g) ?? []).length;
    expect(opens).toBe(closes);
    expect(junitXml([{ name: "hostnames-clusterip seed=1", results }, { name: "hostnames-clusterip seed=2", results: results.slice(0, 1) }])).toBe(xml);
  });
});
