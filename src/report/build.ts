/**
 * buildReport: trace records + service metadata → Report (pure; same input, same bytes).
 *
 * Attribution of a request (a request.outcome record) to a Service port: by the address the
 * client targeted (clusterIP:portNumber, or one of the service's extra `targets`); failing that, by
 * the endpoint it reached. Within the service, the endpoint is the recorded endpointAddr:Port, or
 * (when only the reply told) the pod named in `servedBy`. An endpoint reached but not listed in
 * the caller's rule set (e.g. a pod deleted mid-run) is reported with expectedShare null and left
 * out of the goodness-of-fit test.
 *
 * Counting: an endpoint's `requests` are all requests routed to it whatever their outcome (the
 * balancing decision is what the fairness statistics test); `connections` are the distinct flow
 * ids among them (a flow id < 0 counts as a connection of its own). Latencies are those of "ok"
 * requests (time − start). Outcome time series bucket requests by completion time.
 *
 * Fairness of a view (requests or connections over the listed endpoints): Pearson chi-square
 * against the expected shares; Jain's index, CV and max/min are computed on count/expectedShare,
 * which equals the raw counts' figures when the expected split is even and stays meaningful when
 * it is not (e.g. the kernel's quantised 1/3 probabilities, or weighted endpoints).
 *
 * Not modelled: expected shares that change during the run (scaling, pod deletion) — the caller
 * passes one rule set's shares, and requests to endpoints outside it are counted apart.
 */
import type { RequestOutcomeRecord, TraceRecord } from "../engine/trace.ts";
import { endpointKey, endpointKeyAddr, endpointKeyPort, formatHostPort, formatIPv4, tryParseHostPort, tryParseIPv4 } from "../net/ip.ts";
import {
  binomialCI,
  chiSquareGoodnessOfFit,
  coefficientOfVariation,
  formatP,
  jainIndex,
  maxMinRatio,
  percentiles,
  plainVerdict,
} from "./stats.ts";
import { faultReports } from "./faults.ts";
import {
  OUTCOMES,
  REPORT_SCHEMA,
  nsToMs,
  r6,
  round6,
  type ClientReport,
  type EndpointBucket,
  type EndpointTimeline,
  type EndpointReport,
  type FailedCounts,
  type FairnessView,
  type LatencyHistogram,
  type LatencySummary,
  type OutcomeBucket,
  type OutcomeName,
  type Report,
  type ReportInput,
  type RequestCounts,
  type ServiceInput,
  type ServiceReport,
} from "./model.ts";

const DEFAULT_CURL_LINES = 20;
const DEFAULT_ALPHA = 0.05;
const MAX_BUCKETS = 2000;
const AUTO_BUCKETS = 60;
const Z95 = 1.959963984540054;

// ---- small helpers --------------------------------------------------------------------------

const key = endpointKey; // ≥ 0: −1 means "none"

/** Smallest 1·10^k, 2·10^k or 5·10^k that is ≥ x (x > 0). */
export function niceCeil(x: number): number {
  if (!(x > 0)) return 1;
  let p = 10 ** Math.floor(Math.log10(x));
  for (;;) {
    for (const m of [1, 2, 5]) if (m * p >= x * (1 - 1e-12)) return m * p;
    p *= 10;
  }
}

function emptyCounts(): RequestCounts {
  return { sent: 0, ok: 0, failed: { refused: 0, reset: 0, timeout: 0, error: 0, total: 0 }, failedRatio: 0 };
}

function addOutcome(c: RequestCounts, o: OutcomeName): void {
  c.sent++;
  if (o === "ok") c.ok++;
  else {
    c.failed[o as Exclude<OutcomeName, "ok">]++;
    c.failed.total++;
  }
}

function finishCounts(c: RequestCounts): RequestCounts {
  const f: FailedCounts = { refused: c.failed.refused, reset: c.failed.reset, timeout: c.failed.timeout, error: c.failed.error, total: c.failed.total };
  return { sent: c.sent, ok: c.ok, failed: f, failedRatio: c.sent === 0 ? 0 : r6(f.total / c.sent) };
}

function latencySummary(nsValues: readonly number[]): LatencySummary | null {
  if (nsValues.length === 0) return null;
  const [p50, p90, p99, max] = percentiles(nsValues, [50, 90, 99, 100]);
  let sum = 0;
  for (const v of nsValues) sum += v;
  return { n: nsValues.length, p50: nsToMs(p50!), p90: nsToMs(p90!), p99: nsToMs(p99!), max: nsToMs(max!), mean: nsToMs(sum / nsValues.length) };
}

function histogram(nsValues: readonly number[]): LatencyHistogram | null {
  if (nsValues.length === 0) return null;
  let max = 0;
  for (const v of nsValues) if (v > max) max = v;
  const maxMs = max / 1e6;
  const binMs = r6(niceCeil(Math.max(maxMs, 0.001) / 30));
  const counts = new Array<number>(Math.floor(maxMs / binMs + 1e-9) + 1).fill(0);
  for (const v of nsValues) counts[Math.min(counts.length - 1, Math.floor(v / 1e6 / binMs + 1e-9))]!++;
  return { binMs, counts };
}

function isUniform(shares: readonly number[]): boolean {
  if (shares.length === 0) return true;
  const m = shares.reduce((a, b) => a + b, 0) / shares.length;
  return shares.every((s) => Math.abs(s - m) <= 1e-6);
}

/**
 * One fairness view over listed endpoints: counts[i] observed where expected[i] is the share
 * (null = not listed, excluded). Null when fewer than two listed endpoints or nothing observed.
 */
export function fairnessView(counts: readonly number[], expected: readonly (number | null)[], alpha: number): FairnessView | null {
  const obs: number[] = [];
  const exp: number[] = [];
  for (let i = 0; i < counts.length; i++) {
    const e = expected[i];
    if (e === null || e === undefined) continue;
    obs.push(counts[i]!);
    exp.push(e);
  }
  const n = obs.reduce((a, b) => a + b, 0);
  const expSum = exp.reduce((a, b) => a + b, 0);
  if (obs.length < 2 || n === 0 || !(expSum > 0)) return null;
  const chi = chiSquareGoodnessOfFit(obs, exp);
  const norm: number[] = [];
  let maxDev = 0;
  for (let i = 0; i < obs.length; i++) {
    const e = exp[i]! / expSum;
    maxDev = Math.max(maxDev, Math.abs(obs[i]! / n - e));
    if (e > 0) norm.push(obs[i]! / e);
  }
  const p = r6(chi.p);
  const skewed = chi.p < alpha;
  const verdict = isUniform(exp)
    ? plainVerdict(chi.p, n, alpha)
    : skewed
      ? `skewed: p${formatP(chi.p)} at n=${n}`
      : `consistent with the expected shares at n=${n} (p${formatP(chi.p)})`;
  return {
    n,
    chiSquare: { statistic: round6(chi.statistic), df: chi.df, p },
    jain: r6(jainIndex(norm)),
    cv: r6(coefficientOfVariation(norm)),
    maxMin: round6(maxMinRatio(norm)),
    maxDeviation: r6(maxDev),
    skewed,
    verdict,
  };
}

const fmtS = (ns: number): string => `${(ns / 1e9).toFixed(3)}s`;
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

// ---- per-service accumulation ---------------------------------------------------------------

interface EpAcc {
  pod: string;
  address: string;
  node: string;
  expected: number | null;
  listed: boolean;
  requests: number;
  flows: Set<number>;
  ownConnections: number;
  outcomes: Record<OutcomeName, number>;
  latencies: number[];
}

interface SvcAcc {
  input: ServiceInput;
  eps: EpAcc[];
  byAddr: Map<number, number>;
  byPod: Map<string, number>;
  counts: RequestCounts;
  flows: Set<number>;
  ownConnections: number;
  unlisted: number;
}

interface ClientAcc {
  name: string;
  counts: RequestCounts;
  flows: Set<number>;
  ownConnections: number;
  perService: Map<number, Map<number, number>>; // svc → ep → requests
  latencies: number[];
}

function newEp(pod: string, address: string, node: string, expected: number | null, listed: boolean): EpAcc {
  return { pod, address, node, expected, listed, requests: 0, flows: new Set(), ownConnections: 0, outcomes: { ok: 0, refused: 0, reset: 0, timeout: 0, error: 0 }, latencies: [] };
}

function compareStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---- the builder ----------------------------------------------------------------------------

export function buildReport(input: ReportInput): Report {
  const alpha = input.options?.alpha ?? DEFAULT_ALPHA;
  const curlLines = input.options?.curlLines ?? DEFAULT_CURL_LINES;

  // Pod names by IP (from pod.change records), for endpoints reached but not listed.
  const podByIp = new Map<number, string>();
  let endNs = 0;
  for (const r of input.trace) {
    if (r.time > endNs) endNs = r.time;
    if (r.type === "pod.change" && r.ip !== 0 && r.change !== "deleted") podByIp.set(r.ip, r.pod);
  }

  // Services in canonical order; endpoints in the caller's (rule) order.
  const services = [...input.services].sort((a, b) => compareStr(a.service, b.service) || compareStr(a.port, b.port));
  const svcs: SvcAcc[] = [];
  const byTarget = new Map<number, number>();
  const byEndpoint = new Map<number, number>();
  services.forEach((s, si) => {
    const acc: SvcAcc = { input: s, eps: [], byAddr: new Map(), byPod: new Map(), counts: emptyCounts(), flows: new Set(), ownConnections: 0, unlisted: 0 };
    for (const e of s.endpoints) {
      const hp = tryParseHostPort(e.address);
      if (!hp) throw new Error(`report: endpoint address "${e.address}" of ${s.service} is not ip:port`);
      if (!(e.expectedShare >= 0 && e.expectedShare <= 1)) throw new Error(`report: expectedShare of ${e.address} must be in [0, 1], got ${e.expectedShare}`);
      const k = key(hp.addr, hp.port);
      acc.byAddr.set(k, acc.eps.length);
      acc.byPod.set(e.pod, acc.eps.length);
      if (!byEndpoint.has(k)) byEndpoint.set(k, si);
      acc.eps.push(newEp(e.pod, `${formatIPv4(hp.addr)}:${hp.port}`, e.node, e.expectedShare, true));
    }
    const ip = tryParseIPv4(s.clusterIP);
    if (ip !== null && s.portNumber !== undefined && !byTarget.has(key(ip, s.portNumber))) byTarget.set(key(ip, s.portNumber), si);
    for (const t of s.targets ?? []) {
      const hp = tryParseHostPort(t);
      if (!hp) throw new Error(`report: target "${t}" of ${s.service} is not ip:port`);
      if (!byTarget.has(key(hp.addr, hp.port))) byTarget.set(key(hp.addr, hp.port), si);
    }
    svcs.push(acc);
  });

  const total = emptyCounts();
  const clients = new Map<string, ClientAcc>();
  const allOkLatencies: number[] = [];
  const reasons = new Map<OutcomeName, Map<string, number>>();
  const unattributedTargets = new Map<string, number>();
  let unattributed = 0;
  let firstFail = -1;
  let lastFail = -1;

  // Outcome time series.
  let intervalNs = input.options?.intervalNs ?? niceCeil(Math.max(endNs, 1) / AUTO_BUCKETS);
  if (!(intervalNs > 0)) throw new Error(`report: intervalNs must be > 0, got ${intervalNs}`);
  if (endNs / intervalNs >= MAX_BUCKETS) intervalNs = niceCeil(endNs / (MAX_BUCKETS - 1));
  const nBuckets = Math.floor(endNs / intervalNs) + 1;
  const buckets: OutcomeBucket[] = [];
  for (let i = 0; i < nBuckets; i++) buckets.push({ startMs: nsToMs(i * intervalNs), ok: 0, refused: 0, reset: 0, timeout: 0, error: 0 });

  // Per endpoint: requests by start interval (sparse).
  const perEp = new Map<number, { pod: string; buckets: Map<number, EndpointBucket> }>();

  for (const rec of input.trace) {
    if (rec.type !== "request.outcome") continue;
    const r = rec as RequestOutcomeRecord;
    const o = r.outcome;
    addOutcome(total, o);
    buckets[Math.floor(r.time / intervalNs)]![o]++;
    {
      const k = r.endpointAddr !== undefined && r.endpointPort !== undefined ? key(r.endpointAddr, r.endpointPort) : -1;
      let pe = perEp.get(k);
      if (!pe) perEp.set(k, (pe = { pod: "", buckets: new Map() }));
      if (pe.pod === "" && k >= 0) pe.pod = r.servedBy ?? podByIp.get(r.endpointAddr!) ?? "";
      const bi = Math.floor(r.start / intervalNs);
      let b = pe.buckets.get(bi);
      if (!b) pe.buckets.set(bi, (b = { startMs: nsToMs(bi * intervalNs), sent: 0, ok: 0, refused: 0, reset: 0, timeout: 0, error: 0 }));
      b.sent++;
      b[o]++;
    }
    let byR = reasons.get(o);
    if (!byR) reasons.set(o, (byR = new Map()));
    byR.set(r.reason, (byR.get(r.reason) ?? 0) + 1);
    const lat = r.time - r.start;
    if (o === "ok") allOkLatencies.push(lat);
    else {
      if (firstFail < 0) firstFail = r.time;
      lastFail = r.time;
    }

    let c = clients.get(r.client);
    if (!c) {
      c = { name: r.client, counts: emptyCounts(), flows: new Set(), ownConnections: 0, perService: new Map(), latencies: [] };
      clients.set(r.client, c);
    }
    addOutcome(c.counts, o);
    if (r.flow >= 0) c.flows.add(r.flow);
    else c.ownConnections++;
    if (o === "ok") c.latencies.push(lat);

    // Attribute to a service and an endpoint.
    const epKey = r.endpointAddr !== undefined && r.endpointPort !== undefined ? key(r.endpointAddr, r.endpointPort) : -1;
    let si = byTarget.get(key(r.targetAddr, r.targetPort));
    if (si === undefined && epKey >= 0) si = byEndpoint.get(epKey);
    if (si === undefined && r.servedBy !== undefined) si = svcs.findIndex((s) => s.byPod.has(r.servedBy!));
    if (si === undefined || si < 0) {
      unattributed++;
      const t = `${formatIPv4(r.targetAddr)}:${r.targetPort}`;
      unattributedTargets.set(t, (unattributedTargets.get(t) ?? 0) + 1);
      continue;
    }
    const svc = svcs[si]!;
    addOutcome(svc.counts, o);
    if (r.flow >= 0) svc.flows.add(r.flow);
    else svc.ownConnections++;

    let ei: number | undefined;
    if (epKey >= 0) {
      ei = svc.byAddr.get(epKey);
      if (ei === undefined) {
        const addr = `${formatIPv4(r.endpointAddr!)}:${r.endpointPort}`;
        ei = svc.eps.length;
        svc.byAddr.set(epKey, ei);
        svc.eps.push(newEp(r.servedBy ?? podByIp.get(r.endpointAddr!) ?? "", addr, "", null, false));
      }
    } else if (r.servedBy !== undefined) {
      ei = svc.byPod.get(r.servedBy);
    }
    if (ei === undefined) continue; // failed before an endpoint was chosen / known
    const ep = svc.eps[ei]!;
    ep.requests++;
    if (!ep.listed) svc.unlisted++;
    ep.outcomes[o]++;
    if (r.flow >= 0) ep.flows.add(r.flow);
    else ep.ownConnections++;
    if (o === "ok") ep.latencies.push(lat);
    let cs = c.perService.get(si);
    if (!cs) c.perService.set(si, (cs = new Map()));
    cs.set(ei, (cs.get(ei) ?? 0) + 1);
  }

  // Unlisted endpoints go after the listed ones, sorted by address.
  for (const svc of svcs) {
    const firstUnlisted = svc.input.endpoints.length;
    const tail = svc.eps.slice(firstUnlisted);
    if (tail.length > 1) {
      const order = tail.map((_, i) => firstUnlisted + i).sort((a, b) => compareStr(svc.eps[a]!.address, svc.eps[b]!.address));
      const remap = new Map(order.map((old, i) => [old, firstUnlisted + i]));
      svc.eps = [...svc.eps.slice(0, firstUnlisted), ...order.map((i) => svc.eps[i]!)];
      for (const c of clients.values()) {
        const m = c.perService.get(svcs.indexOf(svc));
        if (!m) continue;
        const nm = new Map<number, number>();
        for (const [ei, v] of m) nm.set(remap.get(ei) ?? ei, v);
        c.perService.set(svcs.indexOf(svc), nm);
      }
    }
  }

  // ---- services ----
  const serviceReports: ServiceReport[] = svcs.map((svc) => {
    const listedN = svc.eps.reduce((a, e) => a + (e.listed ? e.requests : 0), 0);
    const conns = svc.eps.map((e) => e.flows.size + e.ownConnections);
    const listedConns = svc.eps.reduce((a, e, i) => a + (e.listed ? conns[i]! : 0), 0);
    const expected = svc.eps.map((e) => e.expected);
    const expSum = svc.eps.reduce((a, e) => a + (e.expected ?? 0), 0);
    const endpoints: EndpointReport[] = svc.eps.map((e, i) => {
      const share = listedN === 0 || !e.listed ? 0 : e.requests / listedN;
      const ci = listedN > 0 && e.listed ? binomialCI(e.requests, listedN) : null;
      const ex = e.expected === null || !(expSum > 0) ? null : e.expected / expSum;
      const half = ex === null || listedN === 0 ? 0 : Z95 * Math.sqrt((ex * (1 - ex)) / listedN);
      return {
        pod: e.pod,
        address: e.address,
        node: e.node,
        requests: e.requests,
        connections: conns[i]!,
        share: r6(share),
        expectedShare: e.expected === null ? null : r6(e.expected),
        ci95: ci ? { lower: r6(ci.lower), upper: r6(ci.upper) } : null,
        expectedRange95: ex === null || listedN === 0 ? null : { lower: r6(Math.max(0, ex - half)), upper: r6(Math.min(1, ex + half)) },
        connectionShare: listedConns === 0 || !e.listed ? 0 : r6(conns[i]! / listedConns),
        outcomes: { ok: e.outcomes.ok, refused: e.outcomes.refused, reset: e.outcomes.reset, timeout: e.outcomes.timeout, error: e.outcomes.error },
        latency: latencySummary(e.latencies),
      };
    });
    return {
      service: svc.input.service,
      port: svc.input.port,
      clusterIP: svc.input.clusterIP,
      requests: finishCounts(svc.counts),
      connections: svc.flows.size + svc.ownConnections,
      endpoints,
      perRequest: fairnessView(svc.eps.map((e) => e.requests), expected, alpha),
      perConnection: fairnessView(conns, expected, alpha),
      unlistedRequests: svc.unlisted,
    };
  });

  let primary = -1;
  serviceReports.forEach((s, i) => {
    if (primary < 0 || s.requests.sent > serviceReports[primary]!.requests.sent) primary = i;
  });
  const prim = primary >= 0 ? serviceReports[primary]! : null;

  // ---- clients ----
  const clientReports: ClientReport[] = [...clients.values()]
    .sort((a, b) => compareStr(a.name, b.name))
    .map((c) => {
      let si = -1;
      let best = -1;
      for (const [s, m] of [...c.perService.entries()].sort((a, b) => a[0] - b[0])) {
        let n = 0;
        for (const v of m.values()) n += v;
        if (n > best) {
          best = n;
          si = s;
        }
      }
      const conns = c.flows.size + c.ownConnections;
      const svc = si >= 0 ? svcs[si]! : null;
      const m = si >= 0 ? c.perService.get(si)! : new Map<number, number>();
      const listed = svc ? svc.eps.filter((e) => e.listed) : [];
      const counts = listed.map((_, i) => m.get(i) ?? 0);
      const n = counts.reduce((a, b) => a + b, 0);
      return {
        client: c.name,
        service: svc ? svc.input.service : "",
        requests: finishCounts(c.counts),
        connections: conns,
        requestsPerConnection: conns === 0 ? 0 : r6(c.counts.sent / conns),
        endpoints: listed.map((e, i) => ({ address: e.address, pod: e.pod, requests: counts[i]!, share: n === 0 ? 0 : r6(counts[i]! / n) })),
        perRequest: fairnessView(counts, listed.map((e) => e.expected), alpha),
        latency: latencySummary(c.latencies),
      };
    });

  // ---- outcomes ----
  const byReason = OUTCOMES.flatMap((outcome) =>
    [...(reasons.get(outcome) ?? new Map<string, number>()).entries()].sort((a, b) => compareStr(a[0], b[0])).map(([reason, count]) => ({ outcome, reason, count })),
  );
  const events = input.trace
    .filter((r): r is Extract<TraceRecord, { type: "scenario.event" }> => r.type === "scenario.event")
    .map((r) => ({ timeMs: nsToMs(r.time), action: r.action, detail: r.detail }));
  const perEndpoint: EndpointTimeline[] = [...perEp.entries()]
    .map(([k, v]) => ({ k, endpoint: k < 0 ? "" : formatHostPort(endpointKeyAddr(k), endpointKeyPort(k)), pod: v.pod, buckets: [...v.buckets.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]) }))
    .sort((a, b) => (a.k < 0 ? 1 : b.k < 0 ? -1 : a.k - b.k))
    .map(({ endpoint, pod, buckets: bs }) => ({ endpoint, pod, buckets: bs }));
  const faults = faultReports(input.trace, endNs);

  // ---- findings ----
  const analysis: string[] = [];
  if (total.sent === 0) analysis.push("no requests were recorded");
  const svcOrder = prim ? [primary, ...serviceReports.map((_, i) => i).filter((i) => i !== primary)] : [];
  for (const i of svcOrder) {
    const s = serviceReports[i]!;
    if (s.requests.sent === 0) continue;
    analysis.push(...serviceFindings(s, clientReports, serviceReports.length > 1));
  }
  if (total.failed.total > 0) {
    const parts = byReason.filter((b) => b.outcome !== "ok").map((b) => `${b.count} ${b.outcome} (${b.reason})`);
    let line = `${total.failed.total} of ${total.sent} requests failed: ${parts.join(", ")}; first at t=${fmtS(firstFail)}, last at t=${fmtS(lastFail)}`;
    const before = input.trace.filter((r) => r.type === "scenario.event" && r.time <= firstFail);
    const ev = before[before.length - 1];
    if (ev && ev.type === "scenario.event") line += `, after "${ev.action} ${ev.detail}" at t=${fmtS(ev.time)}`;
    analysis.push(line);
  }
  if (unattributed > 0) {
    const ts = [...unattributedTargets.keys()].sort(compareStr);
    analysis.push(`${plural(unattributed, "request")} addressed no listed Service (${ts.slice(0, 3).join(", ")}${ts.length > 3 ? ", …" : ""})`);
  }

  const ex = input.extras ?? {};
  const curl = [...(ex.curl ?? [])];
  return {
    schema: REPORT_SCHEMA,
    meta: { scenario: input.meta.scenario, description: input.meta.description ?? "", seed: input.meta.seed, profile: input.meta.profile, generatedBy: "svcsim" },
    run: { startMs: 0, endMs: nsToMs(endNs), intervalMs: nsToMs(intervalNs) },
    requests: finishCounts(total),
    endpoints: prim ? prim.endpoints : [],
    fairness:
      prim && prim.perRequest
        ? {
            service: prim.service,
            chiSquare: prim.perRequest.chiSquare,
            jain: prim.perRequest.jain,
            cv: prim.perRequest.cv,
            maxMin: prim.perRequest.maxMin,
            maxDeviation: prim.perRequest.maxDeviation,
            verdict: prim.perRequest.verdict,
            perConnection: prim.perConnection,
          }
        : null,
    services: serviceReports,
    clients: clientReports,
    outcomes: { byReason, overTime: buckets, perEndpoint, events },
    faults,
    latency: { overall: latencySummary(allOkLatencies), histogram: histogram(allOkLatencies) },
    analysis,
    context: {
      curl: curl.slice(0, curlLines),
      curlTotal: curl.length,
      rules: [...(ex.rules ?? [])].sort((a, b) => compareStr(a.node, b.node)).map((r) => ({ node: r.node, text: r.text })),
      conntrack: ex.conntrack ?? "",
      packetExplanation: ex.packetExplanation ? { flow: ex.packetExplanation.flow ?? null, title: ex.packetExplanation.title, text: ex.packetExplanation.text } : null,
      scenarioYaml: ex.scenarioYaml ?? "",
    },
  };
}

/** Plain-words findings about one service's distribution. */
function serviceFindings(s: ServiceReport, clients: readonly ClientReport[], named: boolean): string[] {
  const out: string[] = [];
  const who = named ? `${s.service}: ` : "";
  const req = s.perRequest;
  const con = s.perConnection;
  const listed = s.endpoints.filter((e) => e.expectedShare !== null);
  const mm = (v: number | null) => (v === null ? "∞" : v.toFixed(1));
  if (!req) {
    if (listed.length < 2) out.push(`${who}${plural(listed.length, "endpoint")} listed: no balancing to test`);
    return out;
  }
  // Most over-represented endpoint relative to its expected share.
  let worst: EndpointReport | undefined;
  for (const e of listed) if (!worst || e.share - (e.expectedShare ?? 0) > worst.share - (worst.expectedShare ?? 0)) worst = e;
  const worstText = worst ? `${worst.pod || worst.address} got ${pct(worst.share)} of requests (expected ${pct(worst.expectedShare ?? 0)})` : "";

  const reusing = clients.filter((c) => c.service === s.service && c.requestsPerConnection > 1);
  if (req.skewed && s.unlistedRequests > 0) {
    // The endpoint set changed during the run (a pod went away): the expected shares are those of
    // the rules at the end, so the test is not a fairness verdict for the whole run.
    out.push(
      `${who}the endpoints changed during the run, so the fit against the final rules (${req.verdict}) is not a fairness verdict: ` +
        `requests before the change went to endpoints no longer listed; check the fault windows above`,
    );
  } else if (req.skewed && con && !con.skewed && reusing.length > 0) {
    const rq = reusing.reduce((a, c) => a + c.requests.sent, 0);
    const cn = reusing.reduce((a, c) => a + c.connections, 0);
    out.push(
      `${who}per-request shares are skewed (max/min ${mm(req.maxMin)}, p${formatP(req.chiSquare.p)}) while connections are even (p${formatP(con.chiSquare.p)}): ` +
        `${plural(reusing.length, "keep-alive client")} sent ${rq} requests over ${plural(cn, "connection")}, each pinned to the endpoint its first packet was DNATed to — kube-proxy balances connections, not requests`,
    );
  } else if (req.skewed && con && con.skewed) {
    out.push(`${who}requests and connections are both skewed (requests ${req.verdict}; connections p${formatP(con.chiSquare.p)}): ${worstText}`);
  } else if (req.skewed) {
    out.push(`${who}per-request shares are ${req.verdict}: ${worstText}`);
  } else if (con && con.skewed) {
    out.push(`${who}connections are skewed (p${formatP(con.chiSquare.p)}) while requests are ${req.verdict}`);
  } else {
    out.push(`${who}requests spread as the rules predict: ${req.verdict}, Jain ${req.jain.toFixed(3)}, max/min ${mm(req.maxMin)}`);
  }
  const minExpected = Math.min(...listed.map((e) => (e.expectedShare ?? 0) * req.n).filter((x) => x > 0));
  if (minExpected < 5) out.push(`${who}n=${req.n} is small: expected counts below 5 per endpoint make the chi-square verdict indicative only`);
  const idle = listed.filter((e) => e.requests === 0 && (e.expectedShare ?? 0) * req.n >= 5);
  for (const e of idle) out.push(`${who}${e.pod || e.address} (${e.address}) received no requests although ${((e.expectedShare ?? 0) * req.n).toFixed(0)} were expected`);
  if (s.unlistedRequests > 0) {
    const names = s.endpoints.filter((e) => e.expectedShare === null).map((e) => e.pod || e.address);
    out.push(`${who}${plural(s.unlistedRequests, "request")} reached endpoints outside the rule set (${names.join(", ")}) and are left out of the fit`);
  }
  return out;
}
