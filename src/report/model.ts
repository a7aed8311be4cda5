/**
 * The report's input and output types (the JSON contract users, classes and CI read).
 *
 * Input (`ReportInput`): the run's trace records (engine/trace.ts) plus a small metadata object
 * the caller assembles: which Services exist and the share each endpoint is expected to get
 * (computed by the caller from the installed rules' kernel-quantised `-m statistic` probabilities),
 * and optional verbatim extras (curl output, `iptables-save -c` excerpts, a conntrack listing, a
 * packet explanation, the scenario YAML). Reports are computed from these alone (DESIGN.md §8).
 *
 * Output (`Report`): a JSON-ready object. Key order is the order the builder writes the fields
 * (fixed), arrays are sorted canonically, and numbers are rounded (`round6`: 6 significant
 * digits; times in ms with µs resolution), so `toJson(report)` is byte-stable for a given input.
 * Non-finite values (a max/min ratio whose minimum is 0) are written as `null`.
 *
 * Units: shares are fractions in [0, 1]; times and latencies are milliseconds of simulated time.
 */
import type { TraceRecord } from "../engine/trace.ts";
import type { FaultReport } from "./faults.ts";

export type { FaultReport, FaultPodReport, FaultWindow, WindowCounts } from "./faults.ts";

export const REPORT_SCHEMA = "svcsim.report/v1";

// ---- input ----------------------------------------------------------------------------------

export interface ReportMeta {
  readonly scenario: string;
  readonly description?: string;
  readonly seed: number;
  /** kube-proxy version profile, e.g. "v1.16" or "current". */
  readonly profile: string;
  readonly generatedBy: "svcsim";
}

export interface ServiceEndpointInput {
  /** Pod name. */
  readonly pod: string;
  /** "ip:port" of the endpoint (the DNAT target). */
  readonly address: string;
  /** Node the pod runs on. */
  readonly node: string;
  /** Fraction of new connections the installed rules send here (kernel-quantised); sums to 1 per service port. */
  readonly expectedShare: number;
}

export interface ServiceInput {
  /** "namespace/name". */
  readonly service: string;
  /** The Service port's name as kube-proxy labels it ("default", "http", or "" when unnamed). */
  readonly port: string;
  /** The numeric Service port (e.g. 80); requests to clusterIP:portNumber are this service's. */
  readonly portNumber?: number;
  readonly clusterIP: string;
  /** Further "ip:port" targets that reach this service port (external IPs, node ports, load-balancer IPs). */
  readonly targets?: readonly string[];
  readonly endpoints: readonly ServiceEndpointInput[];
}

export interface RulesExcerpt {
  readonly node: string;
  /** `iptables-save -c` text (or an excerpt of it). */
  readonly text: string;
}

export interface PacketExplanation {
  /** The connection (flow id) explained, when known. */
  readonly flow?: number;
  readonly title: string;
  readonly text: string;
}

export interface ReportExtras {
  /** What the clients printed, curl-style, one entry per line. */
  readonly curl?: readonly string[];
  readonly rules?: readonly RulesExcerpt[];
  readonly conntrack?: string;
  readonly packetExplanation?: PacketExplanation;
  readonly scenarioYaml?: string;
}

export interface ReportOptions {
  /** Width of the outcome time-series buckets (ns). Default: a round value giving ≤ 60 buckets. */
  readonly intervalNs?: number;
  /** Curl output lines kept in the report (default 20). */
  readonly curlLines?: number;
  /** Significance level for "skewed" verdicts (default 0.05). */
  readonly alpha?: number;
}

export interface ReportInput {
  readonly meta: ReportMeta;
  readonly trace: readonly TraceRecord[];
  readonly services: readonly ServiceInput[];
  readonly extras?: ReportExtras;
  readonly options?: ReportOptions;
}

// ---- output ---------------------------------------------------------------------------------

export const OUTCOMES = ["ok", "refused", "reset", "timeout", "error"] as const;
export type OutcomeName = (typeof OUTCOMES)[number];

export interface FailedCounts {
  refused: number;
  reset: number;
  timeout: number;
  error: number;
  total: number;
}

export interface RequestCounts {
  sent: number;
  ok: number;
  failed: FailedCounts;
  /** failed.total / sent (0 when nothing was sent). */
  failedRatio: number;
}

export interface Interval {
  lower: number;
  upper: number;
}

export interface ChiSquareJson {
  statistic: number | null;
  df: number;
  p: number;
}

/** One fairness view (per request or per connection) of one set of endpoints. */
export interface FairnessView {
  /** Observations (requests or connections) that reached a listed endpoint. */
  n: number;
  chiSquare: ChiSquareJson;
  jain: number;
  /** Coefficient of variation of the counts divided by expected share (0 = perfectly proportional). */
  cv: number;
  /** max/min of the counts; null when some endpoint got none (infinite). */
  maxMin: number | null;
  /** Largest |share − expected share| over the endpoints. */
  maxDeviation: number;
  skewed: boolean;
  /** One plain-words line: "consistent with uniform random at n=1000 (p=0.42)" / "skewed: p=0.0002 at n=1000". */
  verdict: string;
}

export interface LatencySummary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface EndpointReport {
  pod: string;
  address: string;
  node: string;
  /** Requests routed to this endpoint (any outcome with this endpoint known). */
  requests: number;
  /** Distinct connections (flows) that carried those requests. */
  connections: number;
  /** requests / requests to all listed endpoints of the service. */
  share: number;
  /** From the installed rules; null for an endpoint seen in the trace but not in the final rule set. */
  expectedShare: number | null;
  /** 95 % Wilson interval of `share`; null when the service got no requests. */
  ci95: Interval | null;
  /** Where `share` falls 95 % of the time if balancing follows expectedShare (normal approximation). */
  expectedRange95: Interval | null;
  connectionShare: number;
  outcomes: Record<OutcomeName, number>;
  /** Latency of this endpoint's ok requests (ms); null when none. */
  latency: LatencySummary | null;
}

export interface ServiceReport {
  service: string;
  port: string;
  clusterIP: string;
  requests: RequestCounts;
  connections: number;
  endpoints: EndpointReport[];
  perRequest: FairnessView | null;
  perConnection: FairnessView | null;
  /** Requests to endpoints not in the listed set (excluded from the fit). */
  unlistedRequests: number;
}

export interface ClientReport {
  client: string;
  /** The service most of its requests addressed ("" when none). */
  service: string;
  requests: RequestCounts;
  connections: number;
  /** Mean requests per connection. */
  requestsPerConnection: number;
  /** Requests per endpoint address, in the service's endpoint order (listed endpoints only). */
  endpoints: { address: string; pod: string; requests: number; share: number }[];
  perRequest: FairnessView | null;
  latency: LatencySummary | null;
}

export interface OutcomeBucket {
  /** Bucket start (ms since t=0). */
  startMs: number;
  ok: number;
  refused: number;
  reset: number;
  timeout: number;
  error: number;
}

/** Requests that started in one interval and reached one endpoint (sent = ok + the failures). */
export interface EndpointBucket {
  startMs: number;
  sent: number;
  ok: number;
  refused: number;
  reset: number;
  timeout: number;
  error: number;
}

export interface EndpointTimeline {
  /** "ip:port" the connection was DNATed to; "" for requests that reached no endpoint (REJECT, no local port). */
  endpoint: string;
  pod: string;
  /** Only intervals in which requests started, in time order. */
  buckets: EndpointBucket[];
}

export interface TimelineMark {
  timeMs: number;
  action: string;
  detail: string;
}

export interface LatencyHistogram {
  /** Bin width (ms); bin i covers [i·binMs, (i+1)·binMs). */
  binMs: number;
  counts: number[];
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  meta: { scenario: string; description: string; seed: number; profile: string; generatedBy: "svcsim" };
  run: { startMs: number; endMs: number; intervalMs: number };
  requests: RequestCounts;
  /** The primary service's endpoints (the service that got the most requests). */
  endpoints: EndpointReport[];
  fairness: {
    service: string;
    chiSquare: ChiSquareJson;
    jain: number;
    cv: number;
    maxMin: number | null;
    maxDeviation: number;
    verdict: string;
    perConnection: FairnessView | null;
  } | null;
  services: ServiceReport[];
  clients: ClientReport[];
  outcomes: {
    /** Every (outcome, reason) pair seen, with counts, sorted. */
    byReason: { outcome: OutcomeName; reason: string; count: number }[];
    overTime: OutcomeBucket[];
    /** Per endpoint, requests by start interval and outcome (the run.intervalMs grid). */
    perEndpoint: EndpointTimeline[];
    events: TimelineMark[];
  };
  /** One entry per timeline fault: its stages' times and the requests of each window. */
  faults: FaultReport[];
  latency: { overall: LatencySummary | null; histogram: LatencyHistogram | null };
  /** Plain-words findings, most important first. */
  analysis: string[];
  context: {
    curl: string[];
    curlTotal: number;
    rules: { node: string; text: string }[];
    conntrack: string;
    packetExplanation: { flow: number | null; title: string; text: string } | null;
    scenarioYaml: string;
  };
}

// ---- numbers --------------------------------------------------------------------------------

/** 6 significant digits; non-finite → null; −0 → 0. */
export function round6(x: number): number | null {
  if (!Number.isFinite(x)) return null;
  const r = Number(x.toPrecision(6));
  return r === 0 ? 0 : r;
}

/** round6 for values known to be finite. */
export function r6(x: number): number {
  const r = round6(x);
  if (r === null) throw new Error(`report: expected a finite number, got ${x}`);
  return r;
}

/** Nanoseconds → milliseconds with microsecond resolution. */
export function nsToMs(ns: number): number {
  const r = Math.round(ns / 1000) / 1000;
  return r === 0 ? 0 : r;
}

/** The report as JSON text: 2-space indent, trailing newline. Byte-stable for a given report. */
export function toJson(report: unknown): string {
  return JSON.stringify(report, null, 2) + "\n";
}

// ---- chart ids (shared by the chart renderer and the HTML/Markdown writers) ----------------

const safeId = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "");

/** Id (and file stem) of a service's share chart: "share-default-hostnames-default". */
export function shareChartId(service: string, port: string): string {
  return `share-${safeId(`${service}-${port}`)}`;
}

/** Id of a sweep metric's chart: "sweep-fairness.p". */
export function sweepChartId(metric: string): string {
  return `sweep-${safeId(metric)}`;
}
