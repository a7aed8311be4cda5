/**
 * Expectations (the scenario file's `expectations:` list) evaluated against a Report, and a JUnit
 * XML writer for CI (`./sim check … --junit FILE`).
 *
 * report/ may not import scenario/, so `ExpectationSpec` is a local type structurally identical
 * to scenario/types.ts `Expectation` (a scenario Expectation can be passed as is).
 *
 * Metrics and units (names as in scenario/schema.ts EXPECTATION_METRICS):
 * - fairness.p, fairness.chi2, fairness.maxDeviation: the per-request goodness-of-fit of the
 *   primary service (or of one client's requests with `client`); maxDeviation is the largest
 *   |share − expected share| as a fraction (0.05 = 5 points).
 * - requests.total, requests.succeeded, requests.failed, requests.failedRatio (fraction), for all
 *   requests or one client's.
 * - endpoint.share (fraction of the service's requests), endpoint.requests: `endpoint` names a
 *   pod or a pod IP; searched in the primary service first, then the others (or in the client's
 *   view with `client`).
 * - latency.p50/p90/p99/max: milliseconds, nearest-rank, of ok requests: all, one client's, or one
 *   endpoint's.
 * A metric that cannot be measured (no requests, unknown endpoint) fails with a reason.
 */
import type { LatencySummary, Report } from "./model.ts";

export type ExpectationOp = ">" | ">=" | "<" | "<=" | "==";

export interface ExpectationSpec {
  readonly metric: string;
  readonly op: ExpectationOp;
  readonly value: number;
  readonly endpoint?: string;
  readonly client?: string;
  /** Allowed absolute deviation for "==". */
  readonly tolerance: number;
  readonly loc?: { readonly file?: string; readonly line?: number; readonly column?: number; readonly field?: string };
}

export interface ExpectationResult {
  /** The expectation as text: "fairness.p > 0.01", "endpoint.share[pod-a] == 0.33 ± 0.05". */
  readonly expectation: string;
  readonly metric: string;
  /** Null when it could not be measured. */
  readonly measured: number | null;
  readonly pass: boolean;
  /** "measured 0.42" or why it could not be measured. */
  readonly detail: string;
}

type Measure = { value: number } | { missing: string };

/** Every metric an expectation can name (the scenario schema takes its enum from here). */
export const EXPECTATION_METRICS = [
  "fairness.p",
  "fairness.chi2",
  "fairness.maxDeviation",
  "requests.total",
  "requests.succeeded",
  "requests.failed",
  "requests.failedRatio",
  "endpoint.share",
  "endpoint.requests",
  "latency.p50",
  "latency.p90",
  "latency.p99",
  "latency.max",
] as const;
export const SUPPORTED_METRICS: readonly string[] = EXPECTATION_METRICS;

/** Number for people: integers as is, others with 4 significant digits; ∞ as "inf". */
export function formatMeasured(x: number): string {
  if (x === Infinity) return "inf";
  if (Number.isInteger(x)) return String(x);
  return String(Number(x.toPrecision(4)));
}

export function expectationText(e: ExpectationSpec): string {
  const scope = [e.endpoint !== undefined ? `endpoint=${e.endpoint}` : "", e.client !== undefined ? `client=${e.client}` : ""].filter((s) => s).join(",");
  const tol = e.op === "==" && e.tolerance > 0 ? ` ± ${e.tolerance}` : "";
  return `${e.metric}${scope ? `[${scope}]` : ""} ${e.op} ${e.value}${tol}`;
}

function compare(op: ExpectationOp, x: number, v: number, tol: number): boolean {
  switch (op) {
    case ">":
      return x > v;
    case ">=":
      return x >= v;
    case "<":
      return x < v;
    case "<=":
      return x <= v;
    case "==":
      return Math.abs(x - v) <= tol + 1e-12 * Math.max(1, Math.abs(v));
  }
}

const matchesEndpoint = (name: string, pod: string, address: string): boolean => pod === name || address.split(":")[0] === name || address === name;

function measure(report: Report, e: ExpectationSpec): Measure {
  const client = e.client !== undefined ? report.clients.find((c) => c.client === e.client) : undefined;
  if (e.client !== undefined && !client) return { missing: `client "${e.client}" made no requests` };
  const [group, name] = e.metric.split(".") as [string, string];
  switch (group) {
    case "fairness": {
      const f = client ? client.perRequest : report.fairness;
      if (!f) return { missing: "no fairness test: fewer than two endpoints or no requests" };
      if (name === "p") return { value: f.chiSquare.p };
      if (name === "chi2") return { value: f.chiSquare.statistic ?? Infinity };
      if (name === "maxDeviation") return { value: f.maxDeviation };
      break;
    }
    case "requests": {
      const r = client ? client.requests : report.requests;
      if (name === "total") return { value: r.sent };
      if (name === "succeeded") return { value: r.ok };
      if (name === "failed") return { value: r.failed.total };
      if (name === "failedRatio") return r.sent === 0 ? { missing: "no requests" } : { value: r.failed.total / r.sent };
      break;
    }
    case "endpoint": {
      if (e.endpoint === undefined) return { missing: `${e.metric} needs an endpoint` };
      if (client) {
        const ep = client.endpoints.find((x) => matchesEndpoint(e.endpoint!, x.pod, x.address));
        if (!ep) return { missing: `endpoint "${e.endpoint}" is not among the endpoints of ${client.service || "the client's service"}` };
        if (name === "share") return { value: ep.share };
        if (name === "requests") return { value: ep.requests };
        break;
      }
      const primary = report.fairness?.service;
      const services = [...report.services].sort((a, b) => Number(b.service === primary) - Number(a.service === primary));
      for (const s of services) {
        const ep = s.endpoints.find((x) => matchesEndpoint(e.endpoint!, x.pod, x.address));
        if (!ep) continue;
        if (name === "share") return { value: ep.share };
        if (name === "requests") return { value: ep.requests };
      }
      if (name === "share" || name === "requests") return { missing: `endpoint "${e.endpoint}" received no requests and is not a listed endpoint` };
      break;
    }
    case "latency": {
      let l: LatencySummary | null = null;
      let where = "";
      if (e.endpoint !== undefined) {
        for (const s of report.services) {
          const ep = s.endpoints.find((x) => matchesEndpoint(e.endpoint!, x.pod, x.address));
          if (ep) {
            l = ep.latency;
            break;
          }
        }
        where = ` at endpoint "${e.endpoint}"`;
      } else l = client ? client.latency : report.latency.overall;
      if (!l) return { missing: `no successful requests${where}` };
      if (name === "p50") return { value: l.p50 };
      if (name === "p90") return { value: l.p90 };
      if (name === "p99") return { value: l.p99 };
      if (name === "max") return { value: l.max };
      break;
    }
  }
  return { missing: `unknown metric "${e.metric}" (supported: ${EXPECTATION_METRICS.join(", ")})` };
}

/** Evaluates each expectation against the report, in the given order. */
export function evaluateExpectations(report: Report, expectations: readonly ExpectationSpec[]): ExpectationResult[] {
  return expectations.map((e) => {
    const text = expectationText(e);
    const m = measure(report, e);
    if ("missing" in m) return { expectation: text, metric: e.metric, measured: null, pass: false, detail: `not measurable: ${m.missing}` };
    const pass = compare(e.op, m.value, e.value, e.tolerance);
    return { expectation: text, metric: e.metric, measured: m.value, pass, detail: `measured ${formatMeasured(m.value)}` };
  });
}

/** One line per result: "PASS  fairness.p > 0.01  (measured 0.4213)". */
export function formatResult(r: ExpectationResult): string {
  return `${r.pass ? "PASS" : "FAIL"}  ${r.expectation}  (${r.detail})`;
}

// ---- JUnit XML ------------------------------------------------------------------------------

export interface JUnitSuite {
  /** e.g. "hostnames-clusterip seed=1". */
  readonly name: string;
  /** testcase classname (default: the suite name). */
  readonly classname?: string;
  readonly results: readonly ExpectationResult[];
}

/** XML 1.0 text escape; characters XML cannot carry (most C0 controls) become U+FFFD. */
export function xmlEscape(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "\ufffd")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/**
 * JUnit XML (the testsuites/testsuite/testcase/failure shape Jenkins, GitLab and GitHub
 * reporters read). A failure's message names the measured value. No timestamps or durations,
 * so the file is byte-stable.
 */
export function junitXml(suites: readonly JUnitSuite[], name = "svcsim check"): string {
  const tests = suites.reduce((a, s) => a + s.results.length, 0);
  const failures = suites.reduce((a, s) => a + s.results.filter((r) => !r.pass).length, 0);
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="${xmlEscape(name)}" tests="${tests}" failures="${failures}" errors="0">`];
  for (const s of suites) {
    const f = s.results.filter((r) => !r.pass).length;
    out.push(`  <testsuite name="${xmlEscape(s.name)}" tests="${s.results.length}" failures="${f}" errors="0" skipped="0">`);
    for (const r of s.results) {
      const tc = `    <testcase classname="${xmlEscape(s.classname ?? s.name)}" name="${xmlEscape(r.expectation)}"`;
      if (r.pass) {
        out.push(`${tc}>`, `      <system-out>${xmlEscape(r.detail)}</system-out>`, "    </testcase>");
      } else {
        const msg = `${r.detail}; expected ${r.expectation}`;
        out.push(`${tc}>`, `      <failure message="${xmlEscape(msg)}" type="expectation">${xmlEscape(msg)}</failure>`, "    </testcase>");
      }
    }
    out.push("  </testsuite>");
  }
  out.push("</testsuites>");
  return out.join("\n") + "\n";
}
